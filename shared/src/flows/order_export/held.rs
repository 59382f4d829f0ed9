//! Orders held for items Peoplevox did not know: an index of them, and the sweep that sends
//! them back to the orders queue once the items exist (run on a schedule).

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
    /// Orders whose items now exist, sent back to the orders queue.
    pub requeued: usize,
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
    /// 100 distinct codes).
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
            let skus: Vec<String> = serde_json::from_str::<serde_json::Value>(&item.data)
                .ok()
                .and_then(|v| serde_json::from_value(v["skus"].clone()).ok())
                .unwrap_or_default();
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
            queue
                .send(orders_queue, &requeue_message(&order_id), &BTreeMap::new())
                .await
                .map_err(|e| e.to_string())?;
            forget(self.state.as_ref(), &order_id).await;
            report.requeued += 1;
        }
        Ok(report)
    }
}
