//! Lost Returns callbacks: a return is booked in Peoplevox and announced by one callback; a
//! lost one would never reach the order's `returnInfo`. The status sweep asks the "Return
//! summary" report for the returns of each page's despatched orders (100 numbers a clause)
//! and re-queues, as the callback would have, every return whose code the order does not
//! record. The status flow records it once (its `returnTrackingId` is the return code).

use std::collections::{BTreeMap, BTreeSet};

use crate::commercetools::types::Order;
use crate::flows::order_status::returns::{self, PvxReturn};
use crate::peoplevox::{PvxClient, PvxError};

/// `shipmentState`s after which goods can come back.
const DESPATCHED: [&str; 3] = ["Shipped", "Delivered", "Partial"];

/// Whether the order's goods left the warehouse (so a return can exist).
pub(super) fn despatched(order: &Order) -> bool {
    order
        .shipment_state
        .as_deref()
        .is_some_and(|s| DESPATCHED.contains(&s))
}

/// The codes of `found` (returns by code) booked against `number` that `order` does not
/// record, in code order.
pub(super) fn missing(
    order: &Order,
    number: &str,
    found: &BTreeMap<String, PvxReturn>,
) -> Vec<String> {
    let recorded: BTreeSet<&str> = order
        .return_info
        .iter()
        .filter_map(|r| r.return_tracking_id.as_deref())
        .collect();
    found
        .values()
        .filter(|r| r.order_number == number && !recorded.contains(r.code.as_str()))
        .map(|r| r.code.clone())
        .collect()
}

/// The returns Peoplevox booked against these orders, by return code.
pub(super) async fn read(
    pvx: &PvxClient,
    report: &str,
    numbers: &[String],
) -> Result<BTreeMap<String, PvxReturn>, PvxError> {
    if numbers.is_empty() {
        return Ok(BTreeMap::new());
    }
    returns::read(pvx, report, numbers, &[]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::order_status::returns::ReturnedLine;

    fn order(shipment: &str, recorded: &[&str]) -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "o-1", "version": 3, "orderNumber": "D1", "orderState": "Complete",
            "shipmentState": shipment, "lineItems": [],
            "returnInfo": recorded.iter().map(|c| serde_json::json!({"returnTrackingId": c, "items": []})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    fn ret(code: &str, number: &str) -> (String, PvxReturn) {
        (
            code.to_string(),
            PvxReturn {
                code: code.into(),
                order_number: number.into(),
                date: None,
                lines: vec![ReturnedLine {
                    item: "SKU-1".into(),
                    quantity: 1,
                    reason: String::new(),
                    condition: String::new(),
                }],
            },
        )
    }

    #[test]
    fn only_returns_of_this_order_that_it_does_not_record_are_missing() {
        let found: BTreeMap<_, _> = [ret("R1", "D1"), ret("R2", "D1"), ret("R3", "D2")]
            .into_iter()
            .collect();
        assert_eq!(missing(&order("Shipped", &["R1"]), "D1", &found), ["R2"]);
        assert!(missing(&order("Shipped", &["R1", "R2"]), "D1", &found).is_empty());
        assert_eq!(missing(&order("Shipped", &[]), "D2", &found), ["R3"]);
    }

    #[test]
    fn only_despatched_orders_can_have_returns() {
        assert!(despatched(&order("Shipped", &[])));
        assert!(despatched(&order("Partial", &[])));
        assert!(!despatched(&order("Pending", &[])));
        assert!(!despatched(&order("Canceled", &[])));
    }
}
