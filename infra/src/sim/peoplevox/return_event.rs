//! The `Returns` event Peoplevox announces when a return is booked in. The event type is in
//! the service's list of subscription types; its placeholders are not public (UNCONFIRMED
//! names: the simulator offers the plausible ones, with the order number in the two
//! spellings the package events use), so a consumer should read the return details back
//! from the "Return summary" report rather than trust the callback's values.

use super::event::timestamp;
use super::returns::SimReturn;

/// `Returns`.
pub const RETURNS: &str = "Returns";

/// A return was booked in; its facts are copied in when it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnEvent {
    /// The order's site (what subscription filters test).
    pub site: String,
    /// `{ReturnCode}` (UNCONFIRMED name).
    pub return_code: String,
    /// `{SalesOrderNumber}` and `{SalesOrder.SalesOrderNumber}` (UNCONFIRMED names).
    pub order_number: String,
    /// `{ReturnDate}` (UNCONFIRMED name), see [`timestamp`].
    pub date: String,
}

impl ReturnEvent {
    /// The event announcing `record`.
    pub fn of(record: &SimReturn) -> Self {
        Self {
            site: record.site.clone(),
            return_code: record.code.clone(),
            order_number: record.order_number.clone(),
            date: timestamp(record.date),
        }
    }

    /// Placeholder names and their values (all UNCONFIRMED).
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ReturnCode", self.return_code.clone()),
            ("SalesOrderNumber", self.order_number.clone()),
            ("SalesOrder.SalesOrderNumber", self.order_number.clone()),
            ("ReturnDate", self.date.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::event::SimEvent;
    use time::macros::datetime;

    #[test]
    fn routed_as_returns_at_the_order_site_with_its_placeholders() {
        let record = SimReturn {
            code: "RET-000001".into(),
            order_number: "SO-1".into(),
            site: "UK".into(),
            date: datetime!(2026-12-01 10:00:00.25 UTC),
            lines: Vec::new(),
        };
        let event = SimEvent::from(ReturnEvent::of(&record));
        assert_eq!((event.event_type(), event.site()), ("Returns", "UK"));
        assert_eq!(
            event.placeholders(),
            vec![
                ("ReturnCode", "RET-000001".to_string()),
                ("SalesOrderNumber", "SO-1".to_string()),
                ("SalesOrder.SalesOrderNumber", "SO-1".to_string()),
                ("ReturnDate", "2026-12-01T10:00:00.250Z".to_string()),
            ]
        );
        assert!(
            crate::sim::peoplevox::dispatch::EVENT_TYPES.contains(&RETURNS),
            "subscribers can subscribe to it"
        );
    }
}
