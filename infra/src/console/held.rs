//! Held orders: each with its reason and how long it has waited, and "retry now" once its
//! cause is fixed: the order goes back to the orders queue as the held-order sweep sends it (a
//! message naming the order only), so the export reads it afresh from commercetools.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ctpvx_shared::flows::order_export::{
    HeldOrder, OrderLink, held_orders, load_link, requeue_message,
};
use ctpvx_shared::queues::ORDERS_QUEUE;
use ctpvx_shared::store::{AuditEntry, now_epoch_ms};

use super::Console;
use super::guard::{field, form};
use super::page::{Chrome, age, at, failure, render};
use crate::operator::dlq::AUDIT_FLOW;

/// Index entries read at most.
const HELD_LIMIT: usize = 5_000;

/// A held order as the pages show it.
pub struct HeldRow {
    pub order_id: String,
    pub number: String,
    pub reason: String,
    pub since: String,
    pub age: String,
    /// Whether the held-order sweep retries it by itself.
    pub automatic: bool,
}

impl HeldRow {
    fn of(h: &HeldOrder, now_ms: i64) -> Self {
        Self {
            order_id: h.order_id.clone(),
            number: h.number.clone().unwrap_or_else(|| "(no number yet)".into()),
            reason: h.reason.to_string(),
            since: at(h.since_ms),
            age: age(h.since_ms, now_ms),
            automatic: h.reason.retries_automatically(),
        }
    }
}

/// The held orders now, oldest first, and whether more are held than were read.
pub async fn rows(console: &Console) -> Result<(Vec<HeldRow>, bool), String> {
    let now = now_epoch_ms();
    let (held, more) = held_orders(console.stores.state.as_ref(), HELD_LIMIT)
        .await
        .map_err(|e| format!("reading the held orders: {e}"))?;
    Ok((held.iter().map(|h| HeldRow::of(h, now)).collect(), more))
}

#[derive(Template)]
#[template(path = "console/held.html")]
struct HeldPage {
    chrome: Chrome,
    rows: Vec<HeldRow>,
    more: bool,
}

/// `GET /held`.
pub async fn page(State(console): State<Arc<Console>>) -> Response {
    show(&console, None).await
}

async fn show(console: &Console, notice: Option<String>) -> Response {
    match rows(console).await {
        Ok((rows, more)) => {
            let mut chrome = Chrome::new(console, "Held orders");
            chrome.notice = notice;
            render(HeldPage { chrome, rows, more })
        }
        Err(e) => failure(e),
    }
}

/// `POST /held/retry` (`order`): sends the order back to the export, if it is still held.
pub async fn retry(State(console): State<Arc<Console>>, body: String) -> Response {
    let fields = match form(&console.csrf, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let Some(order_id) = field(&fields, "order").filter(|o| !o.is_empty()) else {
        return show(&console, Some("no order named".into())).await;
    };
    let notice = match retry_order(&console, order_id).await {
        Ok(notice) | Err(notice) => notice,
    };
    show(&console, Some(notice)).await
}

/// Re-queues a held order and audits who did; the order's link is read first, so an order
/// exported since (or one a retry cannot help) is not sent again.
async fn retry_order(console: &Console, order_id: &str) -> Result<String, String> {
    let link = load_link(console.stores.state.as_ref(), order_id)
        .await
        .map_err(|e| format!("reading order {order_id}: {e}"))?;
    let reason = match link {
        Some(OrderLink::Held { reason, .. }) => reason,
        Some(_) => return Err(format!("order {order_id} is no longer held: nothing sent")),
        None => return Err(format!("no order {order_id} is known here: nothing sent")),
    };
    if !reason.retry_can_help() {
        return Err(format!(
            "order {order_id} is held for a reason a retry does not change ({reason}): nothing sent"
        ));
    }
    let message_id = console
        .queue
        .send(ORDERS_QUEUE, &requeue_message(order_id), &BTreeMap::new())
        .await
        .map_err(|e| format!("sending order {order_id} to the orders queue: {e}"))?;
    let entry = AuditEntry {
        entity: format!("order#{order_id}"),
        at_ms: now_epoch_ms(),
        flow: AUDIT_FLOW.into(),
        outcome: "retried".into(),
        reason: Some("an operator asked to retry it from the console".into()),
        detail: serde_json::json!({ "queue": ORDERS_QUEUE, "message": message_id }),
    };
    if let Err(e) = console.stores.audit.append(&entry).await {
        tracing::warn!(order_id, error = %e, "console retry not audited");
    }
    Ok(format!(
        "order {order_id} sent back to the export (message {message_id}): its story shows the outcome"
    ))
}
