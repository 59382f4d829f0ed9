//! Status invariants, read from the two simulated systems: no order state in commercetools ever
//! moved backwards (the commercetools simulator records every change of `orderState`,
//! `shipmentState` and `pvxStatus`), every Peoplevox return is on its order exactly once, and
//! each deliberate conflict is recorded on its order for a person.

use std::collections::BTreeSet;

use ctpvx_shared::domain::status::{order_state_rank, shipment_state_rank};

use crate::sim::peoplevox::SimReturn;
use crate::testbed::Testbed;

/// What the two systems say about statuses and returns.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusCheck {
    /// State changes recorded in commercetools.
    pub state_changes: usize,
    /// Changes to a lower rank (must be 0), described.
    pub backwards_moves: Vec<String>,
    /// Returns Peoplevox recorded.
    pub returns_in_peoplevox: usize,
    /// Returns (by code) on commercetools orders.
    pub returns_recorded: usize,
    /// Return codes on more than one `returnInfo` (must be 0).
    pub duplicate_returns: usize,
    /// Peoplevox returns missing in commercetools.
    pub missing_returns: usize,
}

/// The rank of a value of a tracked field; the pvxStatus rank comes from the configuration's
/// status table, like the flow's (a name nobody mapped ranks lowest).
fn rank(bed: &Testbed, field: &str, value: &str) -> u8 {
    match field {
        "orderState" => order_state_rank(value),
        "shipmentState" => shipment_state_rank(value),
        "pvxStatus" => bed
            .config
            .status
            .resolve(value)
            .map_or(0, |m| m.stage as u8),
        _ => 0,
    }
}

/// The return codes commercetools shows on its orders' `returnInfo`.
fn return_codes(bed: &Testbed) -> BTreeSet<String> {
    bed.ct
        .orders()
        .iter()
        .flat_map(|o| {
            o.return_info
                .iter()
                .filter_map(|i| i.return_tracking_id.clone())
        })
        .collect()
}

/// Peoplevox returns missing in commercetools: the code is on no `returnInfo`, and the order
/// does not show its units received either (a returns portal may have announced them under
/// its own RMA code).
fn missing_returns(bed: &Testbed, codes: &BTreeSet<String>) -> Vec<SimReturn> {
    let not_shown = super::hard_cases::returns_not_shown(bed);
    bed.pvx
        .returns()
        .into_iter()
        .filter(|r| {
            !codes.contains(&r.code)
                && not_shown
                    .get(&r.order_number)
                    .is_some_and(|items| r.lines.iter().any(|l| items.contains(&l.item)))
        })
        .collect()
}

/// Up to `limit` Peoplevox returns missing in commercetools, with what the order shows.
pub fn missing_return_examples(bed: &Testbed, limit: usize) -> Vec<serde_json::Value> {
    let orders = bed.ct.orders_by_number();
    missing_returns(bed, &return_codes(bed))
        .iter()
        .take(limit)
        .map(|r| {
            let o = orders.get(&r.order_number);
            serde_json::json!({
                "code": r.code,
                "order": r.order_number,
                "lines": r.lines.iter().map(|l| format!("{} x{}", l.item, l.quantity)).collect::<Vec<_>>(),
                "orderState": o.and_then(|o| o.order_state.clone()),
                "shipmentState": o.and_then(|o| o.shipment_state.clone()),
                "returnInfo": o.map(|o| serde_json::to_value(&o.return_info).unwrap_or_default()),
                "peoplevox": bed.pvx.order_status(&r.order_number),
            })
        })
        .collect()
}

/// Compares what happened in commercetools with the ranks, and returns with Peoplevox's.
pub fn check(bed: &Testbed) -> StatusCheck {
    let history = bed.ct.state_history();
    let backwards_moves = history
        .iter()
        .filter(|c| match (&c.from, &c.to) {
            (Some(from), Some(to)) => rank(bed, &c.field, to) < rank(bed, &c.field, from),
            _ => false,
        })
        .map(|c| {
            format!(
                "order {}: {} {} -> {}",
                c.order_number.as_deref().unwrap_or(&c.order_id),
                c.field,
                c.from.as_deref().unwrap_or("-"),
                c.to.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let codes = return_codes(bed);
    let returns = bed.pvx.returns();
    StatusCheck {
        state_changes: history.len(),
        backwards_moves,
        returns_in_peoplevox: returns.len(),
        returns_recorded: codes.len(),
        // Units, not codes: a line Peoplevox adds to a return later is booked under the same
        // code again, rightly.
        duplicate_returns: super::hard_cases::returns_recorded_twice(bed),
        missing_returns: missing_returns(bed, &codes).len(),
    }
}
