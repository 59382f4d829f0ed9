//! Audit entries of the status flow, on the order's trail (`order#<id>`), so that
//! `ctpvx audit order NUMBER` shows statuses, exceptions, cancellations and returns beside the
//! export and the deliveries. No personal data: states, statuses, SKUs and codes only.

use super::{FLOW, OrderStatus};
use crate::store::{AuditEntry, now_epoch_ms};

impl OrderStatus {
    /// Appends one entry; a failure is logged, never turned into a retry.
    pub(super) async fn audit(
        &self,
        order_id: &str,
        outcome: &str,
        reason: Option<String>,
        detail: serde_json::Value,
    ) {
        let entry = AuditEntry {
            entity: format!("order#{order_id}"),
            at_ms: now_epoch_ms(),
            flow: FLOW.into(),
            outcome: outcome.into(),
            reason,
            detail,
        };
        if let Err(e) = self.parts.audit.append(&entry).await {
            tracing::error!(%order_id, error = %e, "audit append failed");
        }
        tracing::info!(%order_id, outcome, "order status event finished");
    }
}
