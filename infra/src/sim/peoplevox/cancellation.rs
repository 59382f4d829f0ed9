//! Cancelling a sales order the warehouse already holds. A warehouse can only call back an
//! order it has not started working on: once it is being picked (or anything left), the
//! goods are off the shelf and a cancellation must be refused, which is the race the
//! connector has to survive. A cancelled order gives its allocated units back.

use super::order_status::STATUS_FIELD;
use super::state::Data;

/// `Cancelled` (a status a Zynk import may set).
pub const STATUS_CANCELLED: &str = "Cancelled";

/// Statuses (compared case-insensitively) from which an order can still be cancelled; the
/// empty status is a freshly imported order. UNCONFIRMED: the real list is the tenant's
/// workflow; these are the ones before picking starts.
const CANCELLABLE: &[&str] = &["", "New", "Allocated", "Awaiting allocation", "Backorder"];

impl Data {
    /// Why `order_number` cannot be cancelled, or `Ok` when it can: it must exist, have no
    /// despatch, and be in one of the statuses before picking.
    pub fn check_cancellable(&self, order_number: &str) -> Result<(), String> {
        let Some(order) = self.orders.get(order_number) else {
            return Err(format!("Sales order '{order_number}' does not exist"));
        };
        let status = order
            .fields
            .get(STATUS_FIELD)
            .map(|s| s.trim())
            .unwrap_or_default();
        if !CANCELLABLE.iter().any(|c| c.eq_ignore_ascii_case(status)) {
            return Err(format!(
                "Sales order '{order_number}' cannot be cancelled: its status is '{status}'"
            ));
        }
        if let Some(despatch) = self
            .despatches
            .values()
            .find(|d| d.order_number == order_number)
        {
            return Err(format!(
                "Sales order '{order_number}' cannot be cancelled: it has despatch '{}'",
                despatch.number
            ));
        }
        Ok(())
    }

    /// Cancels an order that [`Data::check_cancellable`] passed: its status becomes
    /// `Cancelled` (a `SalesOrderStatusChanges` event) and its lines give back what they
    /// hold (availability events). Returns whether the status changed.
    pub fn cancel_order(&mut self, order_number: &str) -> bool {
        let changed = self.set_order_status(order_number, STATUS_CANCELLED);
        self.release_order(order_number);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::despatch::{DespatchPlan, PackagePlan};
    use crate::sim::peoplevox::state::{SimOrderItem, SimSalesOrder, SimStock};
    use std::collections::BTreeMap;

    fn data(status: &str) -> Data {
        let mut data = Data::default();
        data.set_stock("S", "A", 5, 5);
        data.orders.insert(
            "SO-1".into(),
            SimSalesOrder {
                number: "SO-1".into(),
                site: "S".into(),
                fields: BTreeMap::from([(STATUS_FIELD.to_string(), status.to_string())]),
                items: vec![SimOrderItem {
                    line: "1".into(),
                    item_code: "A".into(),
                    quantity: "2".into(),
                    fields: BTreeMap::new(),
                }],
            },
        );
        data.allocate_line("SO-1", "1", "S", "A", "2");
        data.take_events();
        data
    }

    #[test]
    fn only_orders_before_picking_can_be_cancelled() {
        for status in ["", "new", "Allocated", "AWAITING ALLOCATION", "Backorder"] {
            assert_eq!(data(status).check_cancellable("SO-1"), Ok(()), "{status}");
        }
        let err = data("Picking").check_cancellable("SO-1").unwrap_err();
        assert_eq!(
            err,
            "Sales order 'SO-1' cannot be cancelled: its status is 'Picking'"
        );
        assert!(data("New").check_cancellable("SO-9").is_err());
    }

    #[test]
    fn a_despatched_order_cannot_be_cancelled_whatever_its_status_says() {
        let mut data = data("New");
        let plan = DespatchPlan {
            lines: vec![("A".into(), 1)],
            ..DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()])
        };
        data.despatch("SO-1", plan).unwrap();
        data.set_order_status("SO-1", "New");
        let err = data.check_cancellable("SO-1").unwrap_err();
        assert!(err.contains("it has despatch 'DSP-000001'"), "{err}");
    }

    #[test]
    fn cancelling_announces_the_status_and_frees_the_stock() {
        let mut data = data("New");
        assert!(data.cancel_order("SO-1"));
        assert_eq!(data.orders["SO-1"].fields[STATUS_FIELD], STATUS_CANCELLED);
        assert_eq!(data.position("S", "A"), SimStock::new(5, 0));
        assert_eq!(data.allocated_for("SO-1"), 0);
        let types = data.take_event_types();
        assert_eq!(
            types,
            vec!["SalesOrderStatusChanges", "AvailabilityChanges"]
        );
    }
}
