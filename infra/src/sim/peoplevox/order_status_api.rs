//! The test handle's side of the order workflow: a scenario moves orders through the
//! warehouse's statuses ("Picking", "Packed", "Backorder", ...) and holds, the way warehouse
//! staff would, and each change fires the SalesOrderStatusChanges callbacks before the call
//! returns, so the connector sees them like the real ones.

use super::PvxSim;

impl PvxSim {
    /// Sets a sales order's `Status` (any text: the simulator does not police the
    /// tenant's workflow). Fires SalesOrderStatusChanges when it changed; returns whether it
    /// changed (`false` for an unknown order or the status it already has).
    pub fn set_order_status(&self, order_number: &str, status: &str) -> bool {
        self.moving(|d| d.set_order_status(order_number, status))
    }

    /// A sales order's `Status` ("" when it has none; `None` for an unknown order).
    pub fn order_status(&self, order_number: &str) -> Option<String> {
        let data = self.data();
        let order = data.orders.get(order_number)?;
        Some(
            order
                .fields
                .get(super::order_status::STATUS_FIELD)
                .cloned()
                .unwrap_or_default(),
        )
    }

    /// Holds (`true`) or releases a sales order. The hold is a flag beside the status
    /// (header field `OnHold`, `True`/`False`), not a status; a change fires
    /// SalesOrderStatusChanges with the unchanged status and the new `{OnHold}`. Returns
    /// whether it changed (`false` for an unknown order or the flag it already has).
    pub fn set_on_hold(&self, order_number: &str, on_hold: bool) -> bool {
        self.moving(|d| d.set_on_hold(order_number, on_hold))
    }

    /// SaveData cancellations (`Status` = `Cancelled`) refused because the warehouse had
    /// started on the order or despatched part of it; a demo check that the race happened.
    pub fn cancellations_refused(&self) -> u64 {
        self.data().cancellations_refused
    }
}
