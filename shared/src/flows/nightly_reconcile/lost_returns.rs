//! Lost Returns callbacks: a return is booked in Peoplevox and announced by one callback; a
//! lost one would never reach the order's `returnInfo`. The status sweep asks the "Return
//! summary" report for the returns of each page's despatched orders (100 numbers a clause)
//! and re-queues, as the callback would have, every return the status flow would still book
//! something of: the same plan decides, so a return whose units the order shows received
//! (booked under its code, or an announced item moved to Returned) is not re-queued again.

use std::collections::{BTreeMap, BTreeSet};

use crate::commercetools::actions::ReturnShipmentState;
use crate::commercetools::types::Order;
use crate::flows::order_status::returns::{self, PvxReturn};
use crate::mapping::SkuMap;
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

/// The returns of `found` (by code) booked against the order's `numbers` that the status flow
/// would still book something of, as `(number, code)` in code order.
pub(super) fn missing(
    order: &Order,
    numbers: &[&str],
    found: &BTreeMap<String, PvxReturn>,
    skus: &SkuMap,
) -> Vec<(String, String)> {
    let numbers: BTreeSet<&str> = numbers.iter().copied().collect();
    let mine: Vec<&PvxReturn> = found
        .values()
        .filter(|r| numbers.contains(r.order_number.as_str()))
        .collect();
    let plan = returns::plan(order, &mine, skus, ReturnShipmentState::Returned);
    mine.iter()
        .filter(|r| plan.recorded.contains(&r.code))
        .map(|r| (r.order_number.clone(), r.code.clone()))
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
            "shipmentState": shipment,
            "lineItems": [{"id": "l1", "variant": {"sku": "SKU-1"}, "quantity": 3}],
            "returnInfo": recorded.iter().map(|c| serde_json::json!({"returnTrackingId": c, "items": [
                {"id": format!("ri-{c}"), "lineItemId": "l1", "quantity": 1, "shipmentState": "Returned"}
            ]})).collect::<Vec<_>>(),
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
        let skus = SkuMap::default();
        let pair = |n: &str, c: &str| (n.to_string(), c.to_string());
        assert_eq!(
            missing(&order("Shipped", &["R1"]), &["D1"], &found, &skus),
            [pair("D1", "R2")]
        );
        assert!(missing(&order("Shipped", &["R1", "R2"]), &["D1"], &found, &skus).is_empty());
        assert_eq!(
            missing(&order("Shipped", &[]), &["D2"], &found, &skus),
            [pair("D2", "R3")]
        );
    }

    /// Issue 22 item 6: a return the warehouse received against an announced (Advised) item
    /// is missing until that item is Returned; then it is not re-queued every night.
    #[test]
    fn an_announced_return_is_missing_until_moved_then_never_again() {
        let found: BTreeMap<_, _> = [ret("R1", "D1")].into_iter().collect();
        let skus = SkuMap::default();
        let with = |state: &str| -> Order {
            serde_json::from_value(serde_json::json!({
                "id": "o-1", "version": 3, "orderNumber": "D1", "shipmentState": "Shipped",
                "lineItems": [{"id": "l1", "variant": {"sku": "SKU-1"}, "quantity": 3}],
                "returnInfo": [{"returnTrackingId": "RMA-1", "items": [
                    {"id": "ri-1", "lineItemId": "l1", "quantity": 1, "shipmentState": state}
                ]}],
            }))
            .unwrap()
        };
        assert_eq!(missing(&with("Advised"), &["D1"], &found, &skus).len(), 1);
        assert!(missing(&with("Returned"), &["D1"], &found, &skus).is_empty());
    }

    #[test]
    fn only_despatched_orders_can_have_returns() {
        assert!(despatched(&order("Shipped", &[])));
        assert!(despatched(&order("Partial", &[])));
        assert!(!despatched(&order("Pending", &[])));
        assert!(!despatched(&order("Canceled", &[])));
    }
}
