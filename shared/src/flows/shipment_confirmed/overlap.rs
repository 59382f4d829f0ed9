//! The record, for a person, of a despatch booked over units a delivery made by hand already
//! claims (see [`super::hand_made`]): the text of the audit entry and of the order's
//! `pvxException`, and the actions that show it on the order in the same update as the
//! delivery.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::deliveries::delivery_key;
use crate::commercetools::OrderUpdateAction;
use crate::commercetools::types::Order;
use crate::flows::order_status::OrderType;
use crate::flows::order_status::fields;
use crate::setup::FIELD_PVX_EXCEPTION;

/// Units of one line that a despatch and a delivery made by hand both claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverlapLine {
    /// The line item (or custom line item) id.
    pub line_id: String,
    /// What a person recognises the line by: its SKU (a custom line item: its item code).
    pub sku: String,
    /// The line's own units (packs as packs).
    pub units: i64,
}

/// The despatches of one written update that were booked over deliveries made by hand.
#[derive(Debug, Default, Clone)]
pub(super) struct Overlaps {
    /// Despatch number → the lines and units both claim.
    pub by_despatch: BTreeMap<String, Vec<OverlapLine>>,
    /// Why `pvxException` could not show them (they are audited all the same).
    pub not_shown: Option<String>,
}

impl Overlaps {
    /// Only the overlaps of despatches whose delivery is among `written`: a plan that was not
    /// written (a conflict, then somebody else booked it) booked nothing over anything.
    pub fn of_written(self, written: &[OrderUpdateAction]) -> Self {
        let keys: BTreeSet<&str> = written
            .iter()
            .filter_map(|a| match a {
                OrderUpdateAction::AddDelivery { delivery_key, .. } => delivery_key.as_deref(),
                _ => None,
            })
            .collect();
        let by_despatch: BTreeMap<_, _> = self
            .by_despatch
            .into_iter()
            .filter(|(number, _)| keys.contains(delivery_key(number).as_str()))
            .collect();
        let not_shown = self.not_shown.filter(|_| !by_despatch.is_empty());
        Self {
            by_despatch,
            not_shown,
        }
    }
}

/// The overlap of despatch `despatch`, in a sentence for the audit trail and the order.
pub(super) fn describe(despatch: &str, lines: &[OverlapLine]) -> String {
    let lines: Vec<String> = lines
        .iter()
        .map(|l| format!("{} × {} (line {})", l.units, l.sku, l.line_id))
        .collect();
    format!(
        "despatch {despatch} was booked over units a delivery made by hand already has: {}; \
         check whether they left twice",
        lines.join(", ")
    )
}

/// The actions that add `texts` to the order's `pvxException` (after what it shows already:
/// an earlier exception is never wiped). `Err` says why the field cannot be written on this
/// order (no order Type configured, or the merchant's own Type without our fields): the audit
/// entry then carries the overlap alone.
pub(super) fn show_on_order(
    order: &Order,
    ours: Option<&OrderType>,
    texts: &[String],
) -> Result<Vec<OrderUpdateAction>, String> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let ours = ours.ok_or("the order custom Type (status.order_type) was not found at start")?;
    let value = fields::appended(order, FIELD_PVX_EXCEPTION, texts);
    fields::set(order, ours, &[(FIELD_PVX_EXCEPTION, value.into())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(custom: serde_json::Value) -> Order {
        serde_json::from_value(json!({"id": "o", "version": 1, "lineItems": [], "custom": custom}))
            .unwrap()
    }

    fn ours() -> OrderType {
        OrderType {
            key: "ctpvx-order".into(),
            id: "t-1".into(),
        }
    }

    fn line() -> OverlapLine {
        OverlapLine {
            line_id: "li-1".into(),
            sku: "SKU-1".into(),
            units: 2,
        }
    }

    #[test]
    fn the_overlap_names_the_despatch_and_each_line() {
        let text = describe("D1", &[line()]);
        assert!(
            text.contains("despatch D1") && text.contains("2 × SKU-1 (line li-1)"),
            "{text}"
        );
    }

    #[test]
    fn the_exception_is_added_after_what_the_order_shows() {
        let shown = order(json!({"type": {"typeId": "type", "id": "t-1"},
            "fields": {"pvxException": "picking started"}}));
        let text = describe("D1", &[line()]);
        let actions = show_on_order(&shown, Some(&ours()), std::slice::from_ref(&text)).unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(json[0]["action"], "setCustomField");
        assert_eq!(json[0]["value"], format!("picking started; {text}"));
        // Already shown: nothing to write.
        let again = order(json!({"type": {"typeId": "type", "id": "t-1"},
            "fields": {"pvxException": format!("picking started; {text}")}}));
        assert!(
            show_on_order(&again, Some(&ours()), &[text])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn without_our_type_the_field_is_not_written() {
        let bare = order(serde_json::Value::Null);
        let text = describe("D1", &[line()]);
        let e = show_on_order(&bare, None, std::slice::from_ref(&text)).unwrap_err();
        assert!(e.contains("status.order_type"), "{e}");
        let foreign = order(json!({"type": {"typeId": "type", "id": "merchant"}, "fields": {}}));
        assert!(show_on_order(&foreign, Some(&ours()), &[text]).is_err());
    }
}
