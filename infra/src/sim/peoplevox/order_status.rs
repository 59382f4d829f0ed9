//! Sales order status: where the simulator keeps it (`Status`, the field the "Sales orders"
//! template imports and exports) and the `SalesOrderStatusChanges` event a change fires.

use super::event::{SimEvent, timestamp};
use super::state::Data;

/// `SalesOrderStatusChanges`.
pub const SALES_ORDER_STATUS_CHANGES: &str = "SalesOrderStatusChanges";
/// The header field holding the status.
pub const STATUS_FIELD: &str = "Status";
/// Every unit of the order has left (a confirmed Peoplevox status).
pub const STATUS_DESPATCHED: &str = "Despatched";
/// Some units have left, some not. UNCONFIRMED name: only "Sales order is partial
/// despatched" shows up in a report mock; the real status may differ per tenant.
pub const STATUS_PARTIALLY_DESPATCHED: &str = "Partially despatched";

/// An order's status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The order's site (what subscription filters test).
    pub site: String,
    /// `{SalesOrderNumber}`.
    pub order_number: String,
    /// `{SalesOrderStatus.Name}`, and `{SalesOrderStatu.Name}` as peep_conn spells it.
    pub status: String,
    /// `{LastModificationTime}`, see [`timestamp`] (UNCONFIRMED format).
    pub at: String,
}

impl StatusEvent {
    /// Placeholder names and their values; both spellings of the status name are offered
    /// because which one the real service knows is UNCONFIRMED.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SalesOrderNumber", self.order_number.clone()),
            ("SalesOrderStatus.Name", self.status.clone()),
            ("SalesOrderStatu.Name", self.status.clone()),
            ("LastModificationTime", self.at.clone()),
        ]
    }
}

impl Data {
    /// Sets an order's status; records a `SalesOrderStatusChanges` event when it changed.
    /// Returns whether it changed (an unknown order changes nothing).
    pub fn set_order_status(&mut self, order_number: &str, status: &str) -> bool {
        let at = timestamp(self.clock.now());
        let Some(order) = self.orders.get_mut(order_number) else {
            return false;
        };
        if order.fields.get(STATUS_FIELD).map(String::as_str) == Some(status) {
            return false;
        }
        order
            .fields
            .insert(STATUS_FIELD.to_string(), status.to_string());
        let event = StatusEvent {
            site: order.site.clone(),
            order_number: order_number.to_string(),
            status: status.to_string(),
            at,
        };
        self.events.push(SimEvent::Status(event));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::state::SimSalesOrder;
    use std::collections::BTreeMap;

    #[test]
    fn only_a_change_is_announced() {
        let mut data = Data::default();
        data.orders.insert(
            "SO-1".into(),
            SimSalesOrder {
                number: "SO-1".into(),
                site: "S".into(),
                fields: BTreeMap::from([(STATUS_FIELD.to_string(), "New".to_string())]),
                items: Vec::new(),
            },
        );
        assert!(!data.set_order_status("SO-1", "New"));
        assert!(!data.set_order_status("SO-2", STATUS_DESPATCHED));
        assert!(data.take_events().is_empty());
        assert!(data.set_order_status("SO-1", STATUS_DESPATCHED));
        assert!(!data.set_order_status("SO-1", STATUS_DESPATCHED));
        let events = data.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        let SimEvent::Status(event) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(
            (event.site.as_str(), event.status.as_str()),
            ("S", "Despatched")
        );
        assert_eq!(data.orders["SO-1"].fields[STATUS_FIELD], STATUS_DESPATCHED);
    }
}
