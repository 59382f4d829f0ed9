//! From events to HTTP requests: every subscription of the event's type whose filter passes
//! the event's site gets one request, with the placeholders the tenant substitutes filled in.
//! The dialect decides: a sites-filter subscription is bound to its site; a plain `filter` is
//! applied only where the tenant honours it (else every site's events call back); values are
//! percent-encoded only for a subscription made with `encodeParameterData` true, else put in
//! raw (the HTTP client then escapes what a URL cannot carry, and a `#` ends the URL).

use std::collections::BTreeMap;

use super::dialect::Dialect;
use super::event::SimEvent;
use super::filter::SiteFilter;
use super::placeholder::{form_value, raw, substitute, substitutes, url_component};
use super::state::SimSubscription;

/// Body type of a POST callback. What Peoplevox really sends is UNCONFIRMED: `postParams`
/// reads like a form body (`a={X}&b={Y}`), so the simulator sends it as one.
pub const POST_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// How a value goes into a URL or a body.
type Encoder = fn(&str) -> String;

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

/// Matches events against subscriptions, as a tenant of `dialect` does.
pub fn route(
    events: &[SimEvent],
    subscriptions: &BTreeMap<i64, SimSubscription>,
    dialect: &Dialect,
) -> Routed {
    let mut routed = Routed::default();
    for event in events {
        let event_type = event.event_type();
        let values: Vec<(&'static str, String)> = event
            .placeholders()
            .into_iter()
            .filter(|(name, _)| substitutes(dialect.placeholders, event_type, name))
            .collect();
        for sub in subscriptions
            .values()
            .filter(|s| s.event_type == event_type)
        {
            if let Some(site) = &sub.sites {
                if site != event.site() {
                    continue;
                }
            } else if dialect.honours_filter {
                let Some(filter) = SiteFilter::parse(&sub.filter) else {
                    routed.unparsed_filters += 1;
                    continue;
                };
                if !filter.matches(event.site()) {
                    continue;
                }
            }
            let (in_url, in_body): (Encoder, Encoder) = if sub.encode {
                (url_component, form_value)
            } else {
                (raw, raw)
            };
            let url = substitute(&sub.url, &values, in_url);
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
                    .map(|p| substitute(p, &values, in_body)),
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
                sites: None,
                encode: true,
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
        let routed = route(
            &[event("S1"), event("S2")],
            &subs,
            &crate::sim::peoplevox::dialect::WSDL_2017,
        );
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

#[cfg(test)]
mod dialect_tests {
    use super::*;
    use crate::sim::peoplevox::dialect::{BARE, STRICT, WSDL_2017};
    use crate::sim::peoplevox::event::StockEvent;
    use crate::sim::peoplevox::order_status::StatusEvent;

    fn subscription(filter: &str, sites: Option<&str>, encode: bool) -> SimSubscription {
        SimSubscription {
            id: 1,
            event_type: "AvailabilityChanges".into(),
            filter: filter.into(),
            url: "http://h/cb?item={ItemCode}&n={Available}&x={Nope}".into(),
            post_params: None,
            sites: sites.map(str::to_string),
            encode,
        }
    }

    fn at(site: &str) -> SimEvent {
        SimEvent::from(StockEvent::Availability {
            site: site.into(),
            item: "A+B&C/D E%".into(),
            available: 4,
        })
    }

    fn urls(sub: SimSubscription, dialect: &Dialect) -> Vec<String> {
        let subs = BTreeMap::from([(1, sub)]);
        route(&[at("S1"), at("S2")], &subs, dialect)
            .requests
            .into_iter()
            .map(|r| r.url)
            .collect()
    }

    #[test]
    fn a_sites_filter_binds_and_an_ignored_filter_calls_back_for_every_site() {
        assert_eq!(urls(subscription("", Some("S2"), true), &STRICT).len(), 1);
        let filtered = subscription(r#"site == "S1""#, None, false);
        assert_eq!(urls(filtered.clone(), &WSDL_2017).len(), 1);
        // bare (and strict) ignore `filter`: both sites call back.
        assert_eq!(urls(filtered.clone(), &BARE).len(), 2);
        assert_eq!(urls(filtered, &STRICT).len(), 2);
    }

    #[test]
    fn values_are_encoded_only_when_asked_and_unknown_placeholders_stay() {
        let encoded = urls(subscription("", Some("S1"), true), &STRICT);
        assert_eq!(
            encoded,
            ["http://h/cb?item=A%2BB%26C%2FD%20E%25&n=4&x={Nope}"]
        );
        let raw = urls(subscription("", None, false), &WSDL_2017);
        assert_eq!(raw[0], "http://h/cb?item=A+B&C/D E%&n=4&x={Nope}");
        // Keys only: the figure stays a placeholder.
        let keys = urls(subscription("", None, false), &BARE);
        assert_eq!(
            keys[0],
            "http://h/cb?item=A+B&C/D E%&n={Available}&x={Nope}"
        );
    }

    #[test]
    fn a_strict_tenant_substitutes_only_the_evidence_backed_status_names() {
        let status = SimEvent::Status(StatusEvent {
            site: "S".into(),
            order_number: "SO-1".into(),
            status: "Picking".into(),
            on_hold: true,
            at: "t".into(),
        });
        let sub = SimSubscription {
            id: 1,
            event_type: "SalesOrderStatusChanges".into(),
            filter: String::new(),
            url: "http://h/s?o={SalesOrderNumber}&a={SalesOrderStatu.Name}&b={SalesOrderStatus.Name}&h={OnHold}".into(),
            post_params: None,
            sites: None,
            encode: false,
        };
        let subs = BTreeMap::from([(1, sub)]);
        let url = |d: &Dialect| {
            route(std::slice::from_ref(&status), &subs, d).requests[0]
                .url
                .clone()
        };
        assert_eq!(
            url(&STRICT),
            "http://h/s?o=SO-1&a=Picking&b={SalesOrderStatus.Name}&h={OnHold}"
        );
        assert_eq!(
            url(&WSDL_2017),
            "http://h/s?o=SO-1&a=Picking&b=Picking&h=True"
        );
        assert_eq!(
            url(&BARE),
            "http://h/s?o=SO-1&a={SalesOrderStatu.Name}&b={SalesOrderStatus.Name}&h={OnHold}"
        );
    }
}
