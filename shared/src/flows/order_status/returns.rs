//! Peoplevox returns → commercetools `returnInfo`. A Returns callback is a hint; the "Return
//! summary" report says what came back (one row per returned item). Each Peoplevox return
//! becomes one `addReturnInfo` whose `returnTrackingId` is the return code, which is how a
//! repeated event finds the return already recorded (`addReturnInfo` appends, so it must never
//! be sent twice: the decision is made on the order as read, under its version).

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;

use crate::commercetools::OrderUpdateAction;
use crate::commercetools::actions::{ReturnItemDraft, ReturnShipmentState};
use crate::commercetools::types::{LineItem, Order};
use crate::mapping::SkuMap;
use crate::mapping::pack_split::{self, Open};
use crate::peoplevox::report::{Columns, KeyFilter, KeyedRead, read_keyed};
use crate::peoplevox::{PvxClient, PvxError};

/// The "Return summary" columns the returns flow reads (Zynk `Peoplevox-Return-XML.md`).
pub const RETURN_COLUMNS: Columns = Columns {
    required: &["Return code", "Sales order number", "Item code", "Quantity"],
    read: &["Return date", "Return reason", "Return condition"],
};

/// One line of a Peoplevox return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedLine {
    /// Peoplevox item code.
    pub item: String,
    /// Peoplevox units.
    pub quantity: i64,
    /// `Return reason`.
    pub reason: String,
    /// `Return condition`.
    pub condition: String,
}

/// One Peoplevox return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvxReturn {
    /// `Return code`.
    pub code: String,
    /// `Sales order number`.
    pub order_number: String,
    /// `Return date`, as RFC 3339 when it parses.
    pub date: Option<String>,
    /// What came back.
    pub lines: Vec<ReturnedLine>,
}

/// Reads the returns of these orders, and the returns with these codes, by return code
/// (every page, only their rows). `Return date` is a wall-clock time in the tenant's zone.
pub async fn read(
    pvx: &PvxClient,
    report: &str,
    order_numbers: &[String],
    codes: &[String],
) -> Result<BTreeMap<String, PvxReturn>, PvxError> {
    let read = KeyedRead {
        report,
        columns: RETURN_COLUMNS,
        filters: vec![
            KeyFilter {
                column: "Sales order number",
                values: order_numbers,
            },
            KeyFilter {
                column: "Return code",
                values: codes,
            },
        ],
        also: None,
        order_by: "",
    };
    let zone = pvx.report_zone();
    let mut found: BTreeMap<String, PvxReturn> = BTreeMap::new();
    for row in read_keyed(pvx, &read).await?.rows() {
        let code = row.get("Return code");
        if code.is_empty() {
            continue;
        }
        let quantity_text = row.get("Quantity");
        let quantity: i64 = quantity_text
            .split('.')
            .next()
            .unwrap_or("")
            .parse()
            .map_err(|_| PvxError::Decode {
                operation: "GetReportData",
                reason: format!(
                    "{report}: `Quantity` of return {code} is `{quantity_text}`, not a whole number"
                ),
            })?;
        let entry = found.entry(code.to_string()).or_insert_with(|| PvxReturn {
            code: code.to_string(),
            order_number: row.get("Sales order number").to_string(),
            date: zone
                .parse(row.get("Return date"))
                .and_then(|d| d.format(&Rfc3339).ok()),
            lines: Vec::new(),
        });
        entry.lines.push(ReturnedLine {
            item: row.get("Item code").to_string(),
            quantity,
            reason: row.get("Return reason").to_string(),
            condition: row.get("Return condition").to_string(),
        });
    }
    Ok(found)
}

/// What recording a return needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnPlan {
    /// `setReturnShipmentState` for the announced items the warehouse received, and an
    /// `addReturnInfo` per return for the units no announced item covers.
    pub actions: Vec<OrderUpdateAction>,
    /// The codes those actions record.
    pub recorded: Vec<String>,
    /// Units that match no line of the order (named, for the audit).
    pub unmatched: Vec<String>,
}

/// Return shipment states that mean the goods are back (`Advised` only announces them).
const RECEIVED: [&str; 3] = ["Returned", "BackInStock", "Unusable"];

/// What the order shows of its returns, per line.
#[derive(Default)]
struct Shown<'a> {
    /// Units received (Returned, BackInStock, Unusable), whoever booked them.
    received: BTreeMap<&'a str, i64>,
    /// Announced items not received yet (a returns portal's RMA): (return item id, units).
    advised: BTreeMap<&'a str, Vec<(&'a str, i64)>>,
    /// Units delivered, when the order has deliveries (`None`: none recorded, so every
    /// ordered unit may come back).
    delivered: Option<BTreeMap<&'a str, i64>>,
}

impl<'a> Shown<'a> {
    fn of(order: &'a Order) -> Self {
        let mut shown = Shown::default();
        for item in order.return_info.iter().flat_map(|i| &i.items) {
            let Some(line) = item.line_item_id.as_deref() else {
                continue;
            };
            match item.shipment_state.as_deref() {
                Some("Advised") => {
                    if let Some(id) = item.id.as_deref() {
                        shown
                            .advised
                            .entry(line)
                            .or_default()
                            .push((id, item.quantity));
                    }
                }
                // A return item without a state was booked before states were read: received.
                Some(state) if !RECEIVED.contains(&state) => {}
                _ => *shown.received.entry(line).or_default() += item.quantity,
            }
        }
        for d in order.deliveries() {
            let per_line = shown.delivered.get_or_insert_with(BTreeMap::new);
            for item in d["items"].as_array().into_iter().flatten() {
                if let (Some(id), Some(quantity)) = (item["id"].as_str(), item["quantity"].as_i64())
                {
                    *per_line.entry(id).or_default() += quantity;
                }
            }
        }
        shown
    }
}

/// Plans the returns of one order on the order as read. What Peoplevox received is compared
/// with what the order shows as received, per item in Peoplevox units, the returns taken in
/// date order: the units the order already shows cover the earliest returns, so a repeated
/// event books nothing and a line Peoplevox added later to a return is still booked. Units to
/// book go to the lines of their SKU (or its packs) up to what each line delivered and has not
/// had back ([`pack_split`]); on a line, announced (`Advised`) items that fit are moved to the
/// received state (`setReturnShipmentState`, so that refunds keyed on it fire), and the rest
/// is a new return item under the return's code.
pub fn plan(
    order: &Order,
    returns: &[&PvxReturn],
    skus: &SkuMap,
    state: ReturnShipmentState,
) -> ReturnPlan {
    let mut shown = Shown::of(order);
    // Peoplevox units of each item the order shows received, before this plan.
    let mut covered: BTreeMap<String, i64> = BTreeMap::new();
    let mut plan = ReturnPlan {
        actions: Vec::new(),
        recorded: Vec::new(),
        unmatched: Vec::new(),
    };
    let mut returns = returns.to_vec();
    returns.sort_by(|a, b| (&a.date, &a.code).cmp(&(&b.date, &b.code)));
    for ret in returns {
        let mut moves = Vec::new();
        let mut items: Vec<ReturnItemDraft> = Vec::new();
        for line in &ret.lines {
            let lines = lines_of(order, skus, &line.item);
            let left = covered.entry(line.item.clone()).or_insert_with(|| {
                lines
                    .iter()
                    .map(|(li, factor)| {
                        let back = shown.received.get(li.id.as_str()).copied().unwrap_or(0);
                        back.saturating_mul(i64::from((*factor).max(1)))
                    })
                    .sum()
            });
            let already = (*left).min(line.quantity.max(0));
            *left -= already;
            let units = line.quantity - already;
            if units <= 0 {
                continue;
            }
            let opens: Vec<Open> = lines
                .iter()
                .map(|(li, factor)| {
                    let id = li.id.as_str();
                    let back = shown.received.get(id).copied().unwrap_or(0);
                    // What left the warehouse of the line, when deliveries say: a pack that was
                    // short-picked never shipped and cannot come back.
                    let shipped = shown
                        .delivered
                        .as_ref()
                        .map_or(li.quantity, |d| d.get(id).copied().unwrap_or(0))
                        .min(li.quantity);
                    Open {
                        units: (shipped - back).max(0),
                        factor: (*factor).max(1),
                    }
                })
                .collect();
            let (takes, unplaced) = pack_split::most(units, &opens);
            for ((li, _), take) in lines.iter().zip(takes) {
                if take == 0 {
                    continue;
                }
                let id = li.id.as_str();
                *shown.received.entry(id).or_default() += take;
                let rest = take_advised(&mut shown, id, take, state, &mut moves);
                if rest > 0 {
                    items.push(ReturnItemDraft {
                        quantity: rest,
                        line_item_id: id.to_string(),
                        shipment_state: state,
                        comment: Some(comment(line)),
                    });
                }
            }
            if unplaced > 0 {
                plan.unmatched.push(format!(
                    "return {}: {unplaced} unit(s) of {} match no unreturned line of the order",
                    ret.code, line.item
                ));
            }
        }
        if items.is_empty() && moves.is_empty() {
            continue;
        }
        plan.recorded.push(ret.code.clone());
        plan.actions.extend(moves);
        if !items.is_empty() {
            plan.actions.push(OrderUpdateAction::AddReturnInfo {
                items,
                return_tracking_id: Some(ret.code.clone()),
                return_date: ret.date.clone(),
            });
        }
    }
    plan
}

/// The order's lines of an item's SKUs (packs included), each with its factor.
fn lines_of<'a>(order: &'a Order, skus: &SkuMap, item: &str) -> Vec<(&'a LineItem, u32)> {
    skus.skus_of(item)
        .into_iter()
        .flat_map(|(sku, factor)| {
            order
                .line_items
                .iter()
                .filter(move |li| li.variant.sku.as_deref() == Some(sku.as_str()))
                .map(move |li| (li, factor))
        })
        .collect()
}

/// Moves the line's announced items that fit into `take` units (largest first) to `state`;
/// returns the units no announced item covered. An announced item larger than what came back
/// stays announced: a return item moves whole.
fn take_advised(
    shown: &mut Shown<'_>,
    line: &str,
    take: i64,
    state: ReturnShipmentState,
    moves: &mut Vec<OrderUpdateAction>,
) -> i64 {
    let mut rest = take;
    let Some(advised) = shown.advised.get_mut(line) else {
        return rest;
    };
    advised.sort_by_key(|(_, units)| std::cmp::Reverse(*units));
    advised.retain(|(id, units)| {
        if *units > 0 && *units <= rest {
            rest -= units;
            moves.push(OrderUpdateAction::SetReturnShipmentState {
                return_item_id: (*id).to_string(),
                shipment_state: state,
            });
            false
        } else {
            true
        }
    });
    rest
}

fn comment(line: &ReturnedLine) -> String {
    match (line.reason.is_empty(), line.condition.is_empty()) {
        (false, false) => format!(
            "Peoplevox return: {}; condition: {}",
            line.reason, line.condition
        ),
        (false, true) => format!("Peoplevox return: {}", line.reason),
        (true, false) => format!("Peoplevox return; condition: {}", line.condition),
        (true, true) => "Peoplevox return".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(return_info: serde_json::Value) -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1,
            "lineItems": [
                {"id": "l1", "variant": {"sku": "A"}, "quantity": 2},
                {"id": "l2", "variant": {"sku": "B"}, "quantity": 1}
            ],
            "returnInfo": return_info
        }))
        .unwrap()
    }

    fn ret(code: &str, lines: &[(&str, i64)]) -> PvxReturn {
        PvxReturn {
            code: code.into(),
            order_number: "N1".into(),
            date: Some("2026-11-26T10:00:00Z".into()),
            lines: lines
                .iter()
                .map(|(item, quantity)| ReturnedLine {
                    item: item.to_string(),
                    quantity: *quantity,
                    reason: "Too small".into(),
                    condition: "Good".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn one_return_info_per_return_on_the_right_lines() {
        let r = ret("RET-1", &[("A", 2), ("B", 1)]);
        let p = plan(
            &order(serde_json::json!([])),
            &[&r],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert_eq!(p.recorded, ["RET-1"]);
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json[0]["action"], "addReturnInfo");
        assert_eq!(json[0]["returnTrackingId"], "RET-1");
        assert_eq!(json[0]["items"][0]["lineItemId"], "l1");
        assert_eq!(json[0]["items"][0]["quantity"], 2);
        assert_eq!(json[0]["items"][1]["lineItemId"], "l2");
        assert_eq!(
            json[0]["items"][0]["comment"],
            "Peoplevox return: Too small; condition: Good"
        );
        assert!(p.unmatched.is_empty());
    }

    #[test]
    fn a_recorded_return_is_not_recorded_again_and_excess_is_named() {
        let recorded = serde_json::json!([{"returnTrackingId": "RET-1", "items": [{"lineItemId": "l1", "quantity": 2}]}]);
        let r1 = ret("RET-1", &[("A", 2)]);
        let p = plan(
            &order(recorded.clone()),
            &[&r1],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert!(p.actions.is_empty() && p.recorded.is_empty());
        // A second return of A finds both units of l1 returned already.
        let r2 = ret("RET-2", &[("A", 1), ("Z", 1)]);
        let p = plan(
            &order(recorded),
            &[&r1, &r2],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert!(p.actions.is_empty());
        assert_eq!(p.unmatched.len(), 2, "{:?}", p.unmatched);
    }

    /// Issue 22 item 1: `SOCK` ×2 and `SOCK-3PK` ×1; the customer returned the pack (3 SOCK
    /// units). Line order would book 2 on the singles and leave 1 unmatched.
    #[test]
    fn a_returned_pack_is_booked_on_the_pack_line() {
        let skus = crate::mapping::pack_units::sock_packs();
        let order: Order = serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1,
            "lineItems": [
                {"id": "l1", "variant": {"sku": "SOCK"}, "quantity": 2},
                {"id": "l2", "variant": {"sku": "SOCK-3PK"}, "quantity": 1}
            ]
        }))
        .unwrap();
        let r = ret("RET-1", &[("SOCK", 3)]);
        let p = plan(&order, &[&r], &skus, ReturnShipmentState::Returned);
        assert!(p.unmatched.is_empty(), "{:?}", p.unmatched);
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json[0]["items"][0]["lineItemId"], "l2");
        assert_eq!(json[0]["items"][0]["quantity"], 1);
        assert_eq!(json[0]["items"].as_array().unwrap().len(), 1);
    }

    /// Found in review: a return is booked on what was delivered, not on a line that never
    /// shipped. SOCK ×3 delivered, its 3-pack short-picked (no delivery): 3 SOCK units coming
    /// back are the singles.
    #[test]
    fn a_return_is_booked_on_delivered_lines_only() {
        let skus = crate::mapping::pack_units::sock_packs();
        let order: Order = serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1,
            "lineItems": [
                {"id": "l1", "variant": {"sku": "SOCK"}, "quantity": 3},
                {"id": "l2", "variant": {"sku": "SOCK-3PK"}, "quantity": 1}
            ],
            "shippingInfo": {"deliveries": [
                {"id": "d1", "key": "pvx-D1", "items": [{"id": "l1", "quantity": 3}], "parcels": []}
            ]}
        }))
        .unwrap();
        let r = ret("RET-1", &[("SOCK", 3)]);
        let p = plan(&order, &[&r], &skus, ReturnShipmentState::Returned);
        assert!(p.unmatched.is_empty(), "{:?}", p.unmatched);
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json[0]["items"][0]["lineItemId"], "l1");
        assert_eq!(json[0]["items"][0]["quantity"], 3);
    }

    /// Issue 22 item 6: a returns portal announced the return (`Advised` items under its RMA
    /// number). The warehouse's receipt moves those items to Returned instead of finding the
    /// units "already returned"; replanned on the order after the move, nothing is left.
    #[test]
    fn an_announced_return_is_moved_to_returned_when_the_warehouse_receives_it() {
        let advised = serde_json::json!([{"returnTrackingId": "RMA-9", "items": [
            {"id": "ri-1", "lineItemId": "l1", "quantity": 2, "shipmentState": "Advised"},
            {"id": "ri-2", "lineItemId": "l2", "quantity": 1, "shipmentState": "Advised"}
        ]}]);
        let r = ret("RET-1", &[("A", 2)]);
        let p = plan(
            &order(advised),
            &[&r],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert_eq!(p.recorded, ["RET-1"]);
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
        assert_eq!(json[0]["action"], "setReturnShipmentState");
        assert_eq!(json[0]["returnItemId"], "ri-1");
        assert_eq!(json[0]["shipmentState"], "Returned");
        let moved = serde_json::json!([{"returnTrackingId": "RMA-9", "items": [
            {"id": "ri-1", "lineItemId": "l1", "quantity": 2, "shipmentState": "Returned"},
            {"id": "ri-2", "lineItemId": "l2", "quantity": 1, "shipmentState": "Advised"}
        ]}]);
        let again = plan(
            &order(moved),
            &[&r],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert!(again.actions.is_empty(), "{:?}", again.actions);
        // Only one of two announced units came back: the announced item stays, the unit that
        // came back is booked under the return's code.
        let partial = serde_json::json!([{"returnTrackingId": "RMA-9", "items": [
            {"id": "ri-1", "lineItemId": "l1", "quantity": 2, "shipmentState": "Advised"}
        ]}]);
        let one = ret("RET-2", &[("A", 1)]);
        let p = plan(
            &order(partial),
            &[&one],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json[0]["action"], "addReturnInfo", "{json}");
        assert_eq!(json[0]["items"][0]["quantity"], 1);
    }

    /// Issue 22 item 6: quantities are compared, not codes. Peoplevox added a line to a return
    /// the order already records under that code: the new line is booked, the old one not again.
    #[test]
    fn a_line_booked_later_under_a_recorded_code_is_not_lost() {
        let recorded = serde_json::json!([{"returnTrackingId": "RET-1", "items": [
            {"id": "ri-1", "lineItemId": "l1", "quantity": 2, "shipmentState": "Returned"}
        ]}]);
        let r = ret("RET-1", &[("A", 2), ("B", 1)]);
        let p = plan(
            &order(recorded),
            &[&r],
            &SkuMap::default(),
            ReturnShipmentState::Returned,
        );
        assert_eq!(p.recorded, ["RET-1"]);
        let json = serde_json::to_value(&p.actions).unwrap();
        assert_eq!(json[0]["items"].as_array().unwrap().len(), 1, "{json}");
        assert_eq!(json[0]["items"][0]["lineItemId"], "l2");
    }
}
