//! Sales order status: where the simulator keeps it (`Status`, the field the "Sales orders"
//! template imports and exports) and the `SalesOrderStatusChanges` event a change fires.

use super::event::{SimEvent, timestamp};
use super::on_hold::{is_held, on_hold_text};
use super::state::{Data, SimSalesOrder};

/// `SalesOrderStatusChanges`.
pub const SALES_ORDER_STATUS_CHANGES: &str = "SalesOrderStatusChanges";
/// The header field holding the status.
pub const STATUS_FIELD: &str = "Status";
/// A sales order nothing has happened to yet (a confirmed Peoplevox status).
pub const STATUS_NEW: &str = "New";
/// Every unit of the order has left (a confirmed Peoplevox status).
pub const STATUS_DESPATCHED: &str = "Despatched";
/// Some units have left, some not. UNCONFIRMED name: only "Sales order is partial
/// despatched" shows up in a report mock; the real status may differ per tenant.
pub const STATUS_PARTIALLY_DESPATCHED: &str = "Partially despatched";

/// An order's status (or its on-hold flag) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The order's site (what subscription filters test).
    pub site: String,
    /// `{SalesOrderNumber}`.
    pub order_number: String,
    /// `{SalesOrderStatus.Name}`, and `{SalesOrderStatu.Name}` as peep_conn spells it.
    pub status: String,
    /// `{OnHold}`: whether the order is held, see [`super::on_hold`].
    pub on_hold: bool,
    /// `{LastModificationTime}`, see [`timestamp`] (UNCONFIRMED format).
    pub at: String,
}

impl StatusEvent {
    /// The event for `order` announcing `status`, with the order's on-hold flag as it is.
    pub fn of(order: &SimSalesOrder, status: &str, at: String) -> Self {
        Self {
            site: order.site.clone(),
            order_number: order.number.clone(),
            status: status.to_string(),
            on_hold: is_held(order),
            at,
        }
    }

    /// Placeholder names and their values; both spellings of the status name are offered
    /// because which one the real service knows is UNCONFIRMED. `{OnHold}` (`True` /
    /// `False`) is UNCONFIRMED too: no public source shows the hold flag's placeholder.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SalesOrderNumber", self.order_number.clone()),
            ("SalesOrderStatus.Name", self.status.clone()),
            ("SalesOrderStatu.Name", self.status.clone()),
            ("OnHold", on_hold_text(self.on_hold).to_string()),
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
        let event = StatusEvent::of(order, status, at);
        self.events.push(SimEvent::Status(event));
        true
    }
}

/// The order's status as the warehouse shows it: `New` until something set one.
pub fn current_status(order: &SimSalesOrder) -> &str {
    match order.fields.get(STATUS_FIELD).map(|s| s.trim()) {
        Some(status) if !status.is_empty() => status,
        _ => STATUS_NEW,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            (event.site.as_str(), event.status.as_str(), event.on_hold),
            ("S", "Despatched", false)
        );
        assert_eq!(data.orders["SO-1"].fields[STATUS_FIELD], STATUS_DESPATCHED);
    }

    #[test]
    fn the_event_carries_the_hold_flag_and_current_status_defaults_to_new() {
        let mut data = Data::default();
        let mut order = SimSalesOrder {
            number: "SO-1".into(),
            site: "S".into(),
            fields: BTreeMap::from([("OnHold".to_string(), "True".to_string())]),
            items: Vec::new(),
        };
        assert_eq!(current_status(&order), "New");
        order.fields.insert(STATUS_FIELD.into(), " ".into());
        assert_eq!(current_status(&order), "New");
        data.orders.insert("SO-1".into(), order);
        assert!(data.set_order_status("SO-1", "Picking"));
        assert_eq!(current_status(&data.orders["SO-1"]), "Picking");
        let events = data.take_events();
        let SimEvent::Status(event) = &events[0] else {
            panic!("{events:?}");
        };
        assert!(event.on_hold);
        let placeholders = event.placeholders();
        assert!(
            placeholders.contains(&("OnHold", "True".to_string())),
            "{placeholders:?}"
        );
        assert!(placeholders.contains(&("SalesOrderStatus.Name", "Picking".to_string())));
    }
}
