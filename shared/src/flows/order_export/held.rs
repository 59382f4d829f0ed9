//! Orders held for items Peoplevox did not know, or for an order number commercetools has not
//! set yet: an index of them, and the sweep that sends them back to the orders queue (run on a
//! schedule): an order waiting for items once they exist, an order waiting for its number on
//! every run, so that the export re-reads it by id.

use std::collections::{BTreeMap, BTreeSet};

use super::OrderExport;
use crate::store::{Condition, Queue, StateStore};

/// Partition of the held-order index.
const PK: &str = "held-orders";

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Held orders looked at.
    pub checked: usize,
    /// Orders sent back to the orders queue: their items now exist, or they wait for a number.
    pub requeued: usize,
}

/// The index entry of an order waiting for its number.
const AWAITING_NUMBER: &str = "orderNumber";

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

/// Adds an order waiting for its `orderNumber` to the index.
pub(super) async fn remember_awaiting_number(state: &dyn StateStore, order_id: &str) {
    let data = serde_json::json!({ "skus": [], "awaiting": AWAITING_NUMBER }).to_string();
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
    serde_json::json!({
        "notificationType": "Message",
        "id": format!("ctpvx-requeue-{}", uuid::Uuid::new_v4()),
        "type": "OrderCreated",
        "resource": { "typeId": "order", "id": order_id },
        "payloadNotIncluded": { "reason": "re-queued by ctpvx", "payloadType": "OrderCreated" }
    })
    .to_string()
}

impl OrderExport {
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
        let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (order_id, item) in &held {
            let entry = serde_json::from_str::<serde_json::Value>(&item.data).unwrap_or_default();
            let skus: Vec<String> =
                serde_json::from_value(entry["skus"].clone()).unwrap_or_default();
            wanted.insert(order_id.clone(), skus);
        }
        let codes: BTreeSet<String> = wanted.values().flatten().cloned().collect();
        let unknown = self
            .items
            .unknown_among(&self.pvx, &codes, true)
            .await
            .map_err(|e| e.to_string())?;
        let mut report = SweepReport {
            checked: wanted.len(),
            requeued: 0,
        };
        for (order_id, skus) in wanted {
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
                    remember_awaiting_number(self.state.as_ref(), &order_id).await;
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
