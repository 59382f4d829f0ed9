//! Holding a sales order. In Peoplevox "on hold" is a flag on the order next to its status
//! (a held order keeps its status, e.g. `New`, and is not picked), not a status of its own,
//! so the simulator keeps it in its own header field and announces a change of it with the
//! `SalesOrderStatusChanges` event, carrying the unchanged status and the new flag.
//! UNCONFIRMED: whether the real service fires that event for a hold, and the field's name.

use super::event::{SimEvent, timestamp};
use super::order_status::{StatusEvent, current_status};
use super::state::{Data, SimSalesOrder};

/// The header field holding the flag: `True` when held (UNCONFIRMED name).
pub const ON_HOLD_FIELD: &str = "OnHold";

/// Whether the order is held: its [`ON_HOLD_FIELD`] reads `True` (any case). An order that
/// never had the field is not held.
pub fn is_held(order: &SimSalesOrder) -> bool {
    order
        .fields
        .get(ON_HOLD_FIELD)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The flag as the field and the `{OnHold}` placeholder spell it.
pub fn on_hold_text(on_hold: bool) -> &'static str {
    if on_hold { "True" } else { "False" }
}

impl Data {
    /// Holds or releases an order; records a `SalesOrderStatusChanges` event with the order's
    /// current status when the flag changed. Returns whether it changed (an unknown order
    /// changes nothing).
    pub fn set_on_hold(&mut self, order_number: &str, on_hold: bool) -> bool {
        let at = timestamp(self.clock.now());
        let Some(order) = self.orders.get_mut(order_number) else {
            return false;
        };
        if is_held(order) == on_hold {
            return false;
        }
        order
            .fields
            .insert(ON_HOLD_FIELD.to_string(), on_hold_text(on_hold).to_string());
        let status = current_status(order).to_string();
        let event = StatusEvent::of(order, &status, at);
        self.events.push(SimEvent::Status(event));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::order_status::STATUS_FIELD;
    use std::collections::BTreeMap;

    fn data(status: Option<&str>) -> Data {
        let mut data = Data::default();
        let fields = status
            .map(|s| (STATUS_FIELD.to_string(), s.to_string()))
            .into_iter()
            .collect::<BTreeMap<_, _>>();
        data.orders.insert(
            "SO-1".into(),
            SimSalesOrder {
                number: "SO-1".into(),
                site: "S".into(),
                fields,
                items: Vec::new(),
            },
        );
        data
    }

    fn held_events(data: &mut Data) -> Vec<(String, bool)> {
        data.take_events()
            .into_iter()
            .map(|e| match e {
                SimEvent::Status(s) => (s.status, s.on_hold),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn only_a_change_of_the_flag_is_announced_with_the_status_kept() {
        let mut data = data(Some("Allocated"));
        assert!(!data.set_on_hold("SO-1", false), "never held is not held");
        assert!(!data.set_on_hold("SO-9", true));
        assert!(data.set_on_hold("SO-1", true));
        assert!(!data.set_on_hold("SO-1", true));
        assert!(is_held(&data.orders["SO-1"]));
        assert_eq!(data.orders["SO-1"].fields[ON_HOLD_FIELD], "True");
        assert_eq!(data.orders["SO-1"].fields[STATUS_FIELD], "Allocated");
        assert!(data.set_on_hold("SO-1", false));
        assert_eq!(data.orders["SO-1"].fields[ON_HOLD_FIELD], "False");
        assert_eq!(
            held_events(&mut data),
            vec![
                ("Allocated".to_string(), true),
                ("Allocated".to_string(), false)
            ]
        );
    }

    #[test]
    fn an_order_without_status_is_announced_as_new_and_the_field_is_read_leniently() {
        let mut data = data(None);
        assert!(data.set_on_hold("SO-1", true));
        assert_eq!(held_events(&mut data), vec![("New".to_string(), true)]);
        if let Some(order) = data.orders.get_mut("SO-1") {
            order.fields.insert(ON_HOLD_FIELD.into(), " true ".into());
        }
        assert!(!data.set_on_hold("SO-1", true));
        assert!(data.set_order_status("SO-1", "Picking"));
        assert_eq!(held_events(&mut data), vec![("Picking".to_string(), true)]);
    }
}
