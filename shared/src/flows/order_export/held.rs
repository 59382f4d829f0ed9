//! Held orders: an index of every order held for a reason a retry can change, and the sweep
//! that sends some of them back to the orders queue (run on a schedule): an order waiting for
//! items once they exist, an order waiting for its number on every run, so that the export
//! re-reads it by id. Orders that wait for a person (an invalid order, one Peoplevox refused)
//! are in the index too, for operators ([`held_orders`]); the sweep leaves them alone. The
//! export forgets an order here when it exports it.

use std::collections::{BTreeMap, BTreeSet};

use super::OrderExport;
use super::link::{OrderLink, load_many};
use crate::commercetools::message::pointer_message;
use crate::domain::HoldReason;
use crate::store::{AuditEntry, Condition, Queue, StateStore, StoreError, now_epoch_ms};

/// Partition of the held-order index.
const PK: &str = "held-orders";

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Held orders looked at.
    pub checked: usize,
    /// Orders sent back to the orders queue: their items now exist, or they wait for a number.
    pub requeued: usize,
    /// Orders that waited for their number longer than `orders.numbering.wait_days`: no longer
    /// re-read, left to a person (audited).
    pub given_up: usize,
}

/// Whether an order placed at `created_at` (RFC 3339) is more than `days` old; an order whose
/// time cannot be read is not.
fn placed_before(created_at: Option<&str>, days: u32) -> bool {
    let Some(at) = created_at.and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }) else {
        return false;
    };
    time::OffsetDateTime::now_utc() - at > time::Duration::days(i64::from(days))
}

/// The index entry of an order waiting for its number.
const AWAITING_NUMBER: &str = "orderNumber";
/// The index entry of an order waiting for a person.
const AWAITING_PERSON: &str = "person";

/// Adds an order that waits for a person to the index (for operators; never swept).
pub(super) async fn remember_for_person(state: &dyn StateStore, order_id: &str) {
    let data = serde_json::json!({ "skus": [], "awaiting": AWAITING_PERSON }).to_string();
    if let Err(e) = state
        .put(PK, order_id, &data, Condition::Always, None)
        .await
    {
        tracing::error!(order_id, error = %e, "held-order index not updated");
    }
}

/// Adds an order to the index with its missing item codes.
pub(super) async fn remember(state: &dyn StateStore, order_id: &str, skus: &[String]) {
    let data = serde_json::json!({ "skus": skus }).to_string();
    if let Err(e) = state
        .put(PK, order_id, &data, Condition::Always, None)
        .await
    {
        tracing::error!(order_id, error = %e, "held-order index not updated; the nightly sweep will find it");
    }
}

/// Adds an order waiting for its `orderNumber` to the index, with when it was placed
/// (`createdAt`), which bounds how long the sweep waits.
pub(super) async fn remember_awaiting_number(
    state: &dyn StateStore,
    order_id: &str,
    created_at: Option<&str>,
) {
    let data =
        serde_json::json!({ "skus": [], "awaiting": AWAITING_NUMBER, "createdAt": created_at })
            .to_string();
    if let Err(e) = state
        .put(PK, order_id, &data, Condition::Always, None)
        .await
    {
        tracing::error!(order_id, error = %e, "held-order index not updated; the nightly sweep will find it");
    }
}

/// Removes an order from the index.
pub(super) async fn forget(state: &dyn StateStore, order_id: &str) {
    if let Err(e) = state.delete(PK, order_id).await {
        tracing::warn!(order_id, error = %e, "held-order index entry not removed");
    }
}

/// The message that re-queues an order: a minimal OrderCreated Message without the order, so
/// the worker fetches the order as it is now.
pub fn requeue_message(order_id: &str) -> String {
    let id = format!("ctpvx-requeue-{}", uuid::Uuid::new_v4());
    pointer_message(
        order_id,
        "OrderCreated",
        Some(&id),
        None,
        "re-queued by ctpvx",
    )
}

/// A held order as an operator lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOrder {
    /// The commercetools order id.
    pub order_id: String,
    /// Its number, if known.
    pub number: Option<String>,
    /// Why it is held.
    pub reason: HoldReason,
    /// Since when, epoch ms.
    pub since_ms: i64,
}

/// The orders held now for a reason a retry can change (not imports left alone by
/// configuration, nor orders cancelled while being sent), oldest hold first, and whether the
/// index held more than `limit` entries (those read are the first by order id, not the oldest).
/// Each entry is checked against the order's link, which is the truth.
pub async fn held_orders(
    state: &dyn StateStore,
    limit: usize,
) -> Result<(Vec<HeldOrder>, bool), StoreError> {
    let ids: Vec<String> = state
        .query(PK, limit.saturating_add(1))
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let more = ids.len() > limit;
    let ids = &ids[..ids.len().min(limit)];
    let mut held: Vec<HeldOrder> = ids
        .iter()
        .zip(load_many(state, ids).await?)
        .filter_map(|(id, link)| match link {
            Some(OrderLink::Held {
                number,
                reason,
                since_ms,
                ..
            }) if reason.retry_can_help() => Some(HeldOrder {
                order_id: id.clone(),
                number,
                reason,
                since_ms,
            }),
            _ => None,
        })
        .collect();
    held.sort_by_key(|h| h.since_ms);
    Ok((held, more))
}

impl OrderExport {
    async fn audit_gave_up(&self, order_id: &str, days: u32) {
        let entry = AuditEntry {
            entity: format!("order#{order_id}"),
            at_ms: now_epoch_ms(),
            flow: super::FLOW.into(),
            outcome: "gave-up-waiting".into(),
            reason: Some(format!(
                "no orderNumber {days} days after the order was placed: no longer re-read; give \
                 it a number in commercetools and announce it again (its OrderCreated), or set \
                 orders.numbering.missing = \"derive\""
            )),
            detail: serde_json::json!({}),
        };
        if let Err(e) = self.audit.append(&entry).await {
            tracing::error!(order_id, error = %e, "audit append failed");
        }
    }

    /// Re-queues held orders whose missing items now exist in Peoplevox (one item query per
    /// 100 distinct codes), and every order waiting for its number.
    pub async fn retry_held(
        &self,
        queue: &dyn Queue,
        orders_queue: &str,
    ) -> Result<SweepReport, String> {
        let held = self
            .state
            .query(PK, 10_000)
            .await
            .map_err(|e| e.to_string())?;
        let mut wanted: BTreeMap<String, (Vec<String>, Option<String>)> = BTreeMap::new();
        let waited_out = self.rules.numbering.wait_days;
        let mut given_up = 0;
        for (order_id, item) in &held {
            let entry = serde_json::from_str::<serde_json::Value>(&item.data).unwrap_or_default();
            if entry["awaiting"] == AWAITING_PERSON {
                continue;
            }
            let skus: Vec<String> =
                serde_json::from_value(entry["skus"].clone()).unwrap_or_default();
            let created_at = entry["createdAt"].as_str().map(str::to_string);
            if entry["awaiting"] == AWAITING_NUMBER
                && placed_before(created_at.as_deref(), waited_out)
            {
                // Still no number after `wait_days`: left to a person, said once.
                forget(self.state.as_ref(), order_id).await;
                self.audit_gave_up(order_id, waited_out).await;
                given_up += 1;
                continue;
            }
            wanted.insert(order_id.clone(), (skus, created_at));
        }
        let codes: BTreeSet<String> = wanted
            .values()
            .flat_map(|(skus, _)| skus)
            .cloned()
            .collect();
        let unknown = self
            .items
            .unknown_among(&self.pvx, &codes, true)
            .await
            .map_err(|e| e.to_string())?;
        let mut report = SweepReport {
            checked: wanted.len() + given_up,
            requeued: 0,
            given_up,
        };
        for (order_id, (skus, created_at)) in wanted {
            if skus.iter().any(|s| unknown.contains(s)) {
                continue;
            }
            // Forgotten first: the re-queued export may hold it again (and remember it) before
            // this sweep would otherwise get to forget it.
            forget(self.state.as_ref(), &order_id).await;
            let sent = queue
                .send(orders_queue, &requeue_message(&order_id), &BTreeMap::new())
                .await;
            if let Err(e) = sent {
                if skus.is_empty() {
                    remember_awaiting_number(self.state.as_ref(), &order_id, created_at.as_deref())
                        .await;
                } else {
                    remember(self.state.as_ref(), &order_id, &skus).await;
                }
                return Err(e.to_string());
            }
            report.requeued += 1;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::placed_before;

    #[test]
    fn the_wait_for_a_number_counts_from_when_the_order_was_placed() {
        let ago = |days: i64| {
            (time::OffsetDateTime::now_utc() - time::Duration::days(days))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        assert!(placed_before(Some(&ago(8)), 7));
        assert!(!placed_before(Some(&ago(6)), 7));
        // A time that cannot be read never gives up on an order.
        assert!(!placed_before(None, 7));
        assert!(!placed_before(Some("yesterday"), 7));
    }
}
