//! An order's story, as `ctpvx audit order` tells it, as a timeline: export, holds, deliveries,
//! statuses, exceptions, cancellations, returns, operators' retries and redrives. Looked up by
//! the order number people see (commercetools' and Peoplevox's) or the commercetools id.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use ctpvx_shared::flows::order_export::{OrderLink, load_link};

use super::Console;
use super::page::{Chrome, at, failure, render};
use crate::operator::order_story::order_story;

/// Outcomes a person may need to look at.
const PROBLEMS: [&str; 9] = [
    "held",
    "refused",
    "conflict",
    "exception",
    "dead-lettered",
    "short-pick",
    "backorder",
    "gave-up-waiting",
    "failed",
];

#[derive(serde::Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub struct Event {
    pub at: String,
    pub flow: String,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub problem: bool,
}

pub struct Story {
    pub order_id: String,
    pub state: String,
    pub merchant_center: Option<String>,
    pub events: Vec<Event>,
}

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    chrome: Chrome,
    q: String,
    story: Option<Story>,
}

/// `GET /orders?q=NUMBER-OR-ID`.
pub async fn page(State(console): State<Arc<Console>>, Query(search): Query<Search>) -> Response {
    let q = search.q.trim().to_string();
    let story = if q.is_empty() {
        None
    } else {
        match story(&console, &q).await {
            Ok(story) => Some(story),
            Err(e) => return failure(e),
        }
    };
    render(OrdersPage {
        chrome: Chrome::new(&console, "Orders"),
        q,
        story,
    })
}

async fn story(console: &Console, q: &str) -> Result<Story, String> {
    let (order_id, entries) = order_story(&console.stores, q)
        .await
        .map_err(|e| format!("reading the story of order {q}: {e}"))?;
    let link = load_link(console.stores.state.as_ref(), &order_id)
        .await
        .map_err(|e| format!("reading order {order_id}: {e}"))?;
    // A link only to an order ctpvx knows: its id is then commercetools' own.
    let merchant_center = link.as_ref().and(console.merchant_center.as_ref());
    let merchant_center = merchant_center.map(|url| url.replace("{id}", &order_id));
    let state = match link {
        None => "ctpvx has no record of this order".to_string(),
        Some(OrderLink::Exported {
            number,
            site,
            at_ms,
            ..
        }) => format!("in Peoplevox as {number} at {site} since {}", at(at_ms)),
        Some(OrderLink::Sending { number, .. }) => {
            format!("being sent to Peoplevox as {number} (or an attempt died while sending)")
        }
        Some(OrderLink::Held {
            reason, since_ms, ..
        }) => {
            format!("held since {}: {reason}", at(since_ms))
        }
    };
    let events = entries
        .into_iter()
        .map(|e| Event {
            at: at(e.at_ms),
            problem: PROBLEMS.iter().any(|p| e.outcome.contains(p)),
            flow: e.flow,
            outcome: e.outcome,
            reason: e.reason.unwrap_or_default(),
            // Flow-specific facts: ids, numbers, states and quantities, never personal data.
            detail: match &e.detail {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect();
    Ok(Story {
        merchant_center,
        order_id,
        state,
        events,
    })
}
