//! The history of order state fields, kept so that an invariant checker can judge the sequence
//! of states an order went through (e.g. never out of Cancelled, never Shipped before export),
//! which the final order alone cannot show.

use serde_json::Value;

/// One change of a state field of an order, by one successful update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The order's id.
    pub order_id: String,
    /// The order's `orderNumber`, if it has one.
    pub order_number: Option<String>,
    /// `orderState`, `shipmentState`, `state` (the custom State's id) or `pvxStatus` (the
    /// custom field).
    pub field: String,
    /// The value before the update; `None` when unset.
    pub from: Option<String>,
    /// The value after the update; `None` when unset.
    pub to: Option<String>,
    /// The order's version after the update.
    pub version: u64,
}

/// The tracked fields, with where their value is in an order.
const TRACKED: [(&str, &str); 4] = [
    ("orderState", "/orderState"),
    ("shipmentState", "/shipmentState"),
    ("state", "/state/id"),
    ("pvxStatus", "/custom/fields/pvxStatus"),
];

/// The changes one whole update made, comparing the order before and after it: a field set and
/// reset within one update is no change.
pub(crate) fn changes(before: &Value, after: &Value) -> Vec<StateChange> {
    let order_id = text(after.get("id")).unwrap_or_default();
    let order_number = text(after.get("orderNumber"));
    let version = after.get("version").and_then(Value::as_u64).unwrap_or(0);
    TRACKED
        .iter()
        .filter_map(|(field, pointer)| {
            let from = text(before.pointer(pointer));
            let to = text(after.pointer(pointer));
            (from != to).then(|| StateChange {
                order_id: order_id.clone(),
                order_number: order_number.clone(),
                field: (*field).to_owned(),
                from,
                to,
                version,
            })
        })
        .collect()
}

/// A value as text: strings as they are, other values as JSON; null and missing are `None`.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
