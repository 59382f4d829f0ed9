//! An order cancelled in commercetools while its export was in flight: open when the export read
//! it, cancelled by the time it is marked. Peoplevox has it now, so its cancellation goes there at
//! once, through the push the status flow uses (an order the warehouse has started on is left to
//! a person). The status flow's own handling of that cancellation waits for the mark
//! (`order_status/cancellations.rs`), then finds it cancelled already.

use super::OrderExport;
use crate::commercetools::types::Order;
use crate::flows::order_status::cancel::{self, Pushed};

/// Whether commercetools has the order cancelled.
pub(super) fn is_cancelled(order: &Order) -> bool {
    order.order_state.as_deref() == Some("Cancelled")
}

impl OrderExport {
    /// Cancels in Peoplevox the sales orders of `order` (marked exported, and cancelled). `Ok`
    /// says what became of it, for the audit entry; `Err` is a reason to retry: the order's link
    /// still says `Sending`, so the retry finds it marked and cancelled and comes back here.
    pub(super) async fn push_cancellation(&self, order: &Order) -> Result<String, String> {
        let numbers: Vec<String> = order
            .peoplevox_numbers(&self.export_channel_id)
            .into_iter()
            .map(str::to_string)
            .collect();
        let during = "cancelled in commercetools while it was being exported";
        if !self.status.cancel.push_to_peoplevox {
            return Ok(format!(
                "{during}; status.cancel.push_to_peoplevox is off: cancel it in Peoplevox by hand"
            ));
        }
        let note = match cancel::push(&self.pvx, &self.status, &numbers).await {
            Ok(Pushed::Cancelled) => format!("{during}: cancelled in Peoplevox"),
            Ok(Pushed::AlreadyCancelled) => format!("{during}: Peoplevox had it cancelled"),
            Ok(Pushed::Exception(reason)) => format!("{during}, not in Peoplevox: {reason}"),
            Ok(Pushed::NotInPeoplevox) => format!(
                "{during}: Peoplevox has no sales order `{}` to cancel",
                numbers.join("`, `")
            ),
            Err(e) if e.is_retryable() || e.is_outcome_unknown() => {
                return Err(format!(
                    "cancelling in Peoplevox an order cancelled during its export: {e}"
                ));
            }
            Err(e) => format!("{during}; cancelling it in Peoplevox failed: {e}"),
        };
        tracing::warn!(order_id = %order.id, outcome = %note, "order cancelled during its export");
        Ok(note)
    }
}
