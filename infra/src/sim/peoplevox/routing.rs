//! From events to HTTP requests: every subscription of the event's type whose filter
//! passes the event's site gets one request, with the placeholders filled in.

use std::collections::BTreeMap;

use super::event::SimEvent;
use super::filter::SiteFilter;
use super::placeholder::{form_value, substitute, url_component};
use super::state::SimSubscription;

/// Body type of a POST callback. What Peoplevox really sends is UNCONFIRMED: `postParams`
/// reads like a form body (`a={X}&b={Y}`), so the simulator sends it as one.
pub const POST_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// One callback to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// e.g. `AvailabilityChanges`.
    pub event_type: String,
    /// `GET` (SubscribeEvent) or `POST` (SubscribePostEvent).
    pub method: &'static str,
    /// The URL with placeholders substituted (values percent-encoded).
    pub url: String,
    /// The POST body (postParams, values form-encoded); `None` for GET.
    pub body: Option<String>,
}

/// What the events produce, in event order then subscription id order.
#[derive(Debug, Default)]
pub struct Routed {
    /// Requests to deliver.
    pub requests: Vec<CallbackRequest>,
    /// Subscriptions of the right type skipped because their filter was not understood.
    pub unparsed_filters: u64,
}

/// Matches events against subscriptions.
pub fn route(events: &[SimEvent], subscriptions: &BTreeMap<i64, SimSubscription>) -> Routed {
    let mut routed = Routed::default();
    for event in events {
        let values = event.placeholders();
        for sub in subscriptions
            .values()
            .filter(|s| s.event_type == event.event_type())
        {
            let Some(filter) = SiteFilter::parse(&sub.filter) else {
                routed.unparsed_filters += 1;
                continue;
            };
            if !filter.matches(event.site()) {
                continue;
            }
            let url = substitute(&sub.url, &values, url_component);
            routed.requests.push(CallbackRequest {
                event_type: sub.event_type.clone(),
                method: if sub.post_params.is_some() {
                    "POST"
                } else {
                    "GET"
                },
                url,
                body: sub
                    .post_params
                    .as_deref()
                    .map(|p| substitute(p, &values, form_value)),
            });
        }
    }
    routed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::event::StockEvent;

    fn sub(id: i64, event_type: &str, filter: &str, post: Option<&str>) -> (i64, SimSubscription) {
        (
            id,
            SimSubscription {
                id,
                event_type: event_type.into(),
                filter: filter.into(),
                url: "http://h/{ItemCode}?a={Available}".into(),
                post_params: post.map(str::to_string),
            },
        )
    }

    #[test]
    fn routes_by_type_and_site() {
        let subs = BTreeMap::from([
            sub(1, "AvailabilityChanges", r#"site == "S1""#, None),
            sub(
                2,
                "AvailabilityChanges",
                "",
                Some("item={ItemCode}&n={Available}"),
            ),
            sub(3, "AvailabilityChanges", "ItemCode == \"A\"", None),
            sub(4, "IncrementalChanges", "", None),
        ]);
        let event = |site: &str| {
            SimEvent::from(StockEvent::Availability {
                site: site.into(),
                item: "A B".into(),
                available: 4,
            })
        };
        let routed = route(&[event("S1"), event("S2")], &subs);
        assert_eq!(routed.unparsed_filters, 2);
        let got: Vec<_> = routed
            .requests
            .iter()
            .map(|r| (r.method, r.url.as_str(), r.body.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("GET", "http://h/A%20B?a=4", None),
                ("POST", "http://h/A%20B?a=4", Some("item=A+B&n=4")),
                ("POST", "http://h/A%20B?a=4", Some("item=A+B&n=4")),
            ]
        );
    }
}
