//! An order-status scenario against both simulators: subscriptions for the status and returns
//! callbacks; the warehouse works the orders it holds (picking, packing, backorders, holds,
//! its own cancellations, short picks); commercetools cancels some orders before picking and,
//! deliberately, some after; returns come back after despatch.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use ctpvx_shared::config::SubscriptionRules;
use ctpvx_shared::peoplevox::PvxClient;
use ctpvx_shared::webhook::ORDERS_PATH;

use crate::sim::peoplevox::{DespatchPlan, PackagePlan, ReturnLine};
use crate::testbed::{self, DEMO_WEBHOOK_TOKEN, Testbed};

/// Subscribes the status and returns events (every site) with `ctpvx subscribe`'s code and
/// callback URLs; returns the ids.
pub async fn subscribe(pvx: &PvxClient, base: &str, token: &str) -> anyhow::Result<Vec<i64>> {
    let rules = SubscriptionRules {
        status: true,
        returns: true,
        ..testbed::no_subscriptions()
    };
    testbed::subscribe_rules(pvx, base, token, &rules, &[])
        .await
        .context("subscribing the status events")
}

/// What the scenario did, by kind, with the orders it chose.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct StatusWork {
    /// Orders that went through picking and packing.
    pub worked: usize,
    /// Orders put on backorder first.
    pub backordered: usize,
    /// Orders held and released.
    pub held: usize,
    /// Orders the warehouse cancelled.
    pub cancelled_in_peoplevox: Vec<String>,
    /// Orders commercetools cancelled before picking (to be cancelled in Peoplevox).
    pub cancelled_in_ct_before_pick: Vec<String>,
    /// Orders commercetools cancelled after picking started: the deliberate conflicts.
    pub cancelled_in_ct_after_pick: Vec<String>,
    /// Orders despatched short (partly, then closed).
    pub short_picked: Vec<String>,
    /// Returns Peoplevox recorded.
    pub returns: usize,
    /// Orders held and released, the release's callback sent before the hold's.
    pub held_out_of_order: usize,
    /// Returns a returns portal announced (`Advised`) before the warehouse received them.
    pub advised_returns: usize,
    /// Orders Peoplevox cancelled after commercetools showed their despatch delivered.
    pub cancelled_after_despatch: Vec<String>,
}

/// The warehouse's work before despatch, and commercetools' cancellations. Every tenth order
/// of a kind: `% 10 == 0` cancelled in commercetools before picking, `1` after picking (a
/// deliberate conflict), `2` cancelled by the warehouse, `3` backordered first, `4` held then
/// released, `5` short picked; the rest picked and packed.
///
/// A hold and a backorder last until commercetools shows them (or [`SHOWN_WITHIN`] passes),
/// as they would in a warehouse: a tenant whose callbacks carry no status or hold flag is
/// read for them, and a read shows only what Peoplevox shows at that moment.
pub async fn work_orders(bed: &Testbed, base: &str, pause: Duration) -> anyhow::Result<StatusWork> {
    work_orders_shaped(bed, base, pause, false).await
}

/// [`work_orders`]; with `shapes`, one picked order in 3 (`% 10 == 7` and `% 30 == 7`) is held
/// and released first, the release's callback sent before the hold's.
pub async fn work_orders_shaped(
    bed: &Testbed,
    base: &str,
    pause: Duration,
    shapes: bool,
) -> anyhow::Result<StatusWork> {
    let mut work = StatusWork::default();
    let http = reqwest::Client::new();
    let orders_url = format!("{base}{ORDERS_PATH}");
    let ct_ids: std::collections::BTreeMap<String, String> = bed
        .ct
        .orders()
        .into_iter()
        .filter_map(|o| o.order_number.clone().map(|n| (n, o.id)))
        .collect();
    let pvx = &bed.pvx;
    // Holds and backorders first, each waited for until commercetools shows it.
    let mut backordered = Vec::new();
    let mut held = Vec::new();
    for (n, order) in pvx.sales_orders().into_iter().enumerate() {
        let Some(ct_id) = ct_ids.get(&order.number) else {
            continue;
        };
        match n % 10 {
            3 => {
                pvx.set_order_status(&order.number, "Backorder");
                backordered.push((order.number.clone(), ct_id.clone()));
            }
            4 => {
                pvx.set_on_hold(&order.number, true);
                held.push((order.number.clone(), ct_id.clone()));
            }
            _ => {}
        }
    }
    let waiting: Vec<(&str, &str)> = backordered
        .iter()
        .map(|(_, id)| (id.as_str(), "Backorder"))
        .chain(held.iter().map(|(_, id)| (id.as_str(), "Delayed")))
        .collect();
    wait_shown(bed, &waiting).await;
    for (number, _) in &backordered {
        pvx.set_order_status(number, "Picking");
        pvx.set_order_status(number, "Packed");
        work.backordered += 1;
    }
    for (number, _) in &held {
        pvx.set_on_hold(number, false);
        pvx.set_order_status(number, "Picking");
        work.held += 1;
    }
    for (n, order) in pvx.sales_orders().into_iter().enumerate() {
        let number = order.number.clone();
        let Some(ct_id) = ct_ids.get(&number) else {
            continue;
        };
        match n % 10 {
            0 => {
                cancel_in_ct(bed, &http, &orders_url, ct_id).await?;
                work.cancelled_in_ct_before_pick.push(number);
            }
            1 => {
                pvx.set_order_status(&number, "Picking");
                work.cancelled_in_ct_after_pick.push(number);
            }
            2 => {
                pvx.set_order_status(&number, "Cancelled");
                work.cancelled_in_peoplevox.push(number);
            }
            3 | 4 => {}
            5 if order.items.len() > 1 => {
                pvx.set_order_status(&number, "Picking");
                let first = &order.items[0];
                let units: i64 = first.quantity.parse().unwrap_or(1);
                let plan = DespatchPlan {
                    lines: vec![(first.item_code.clone(), units)],
                    packages: vec![PackagePlan::tracked(format!("TRK-{number}-s"))],
                    carrier: "DPD".into(),
                    service: "Next Day".into(),
                };
                if pvx.despatch(&number, plan).is_ok() && pvx.finish_short(&number).is_ok() {
                    work.short_picked.push(number);
                }
            }
            _ => {
                if shapes && n % 30 == 7 && pvx.hold_then_release_out_of_order(&number) {
                    work.held_out_of_order += 1;
                }
                pvx.set_order_status(&number, "Picking");
                pvx.set_order_status(&number, "Packed");
                work.worked += 1;
            }
        }
    }
    // The callbacks of the picked orders go first; then commercetools cancels them anyway.
    tokio::time::sleep(pause).await;
    for number in &work.cancelled_in_ct_after_pick {
        if let Some(ct_id) = ct_ids.get(number) {
            cancel_in_ct(bed, &http, &orders_url, ct_id).await?;
        }
    }
    Ok(work)
}

/// How long the scenario waits for a hold or a backorder to show in commercetools.
pub const SHOWN_WITHIN: Duration = Duration::from_secs(15);

/// Waits until each order shows its shipment state (order id, state), or [`SHOWN_WITHIN`]
/// passed (a lost callback: the scenario goes on).
async fn wait_shown(bed: &Testbed, orders: &[(&str, &str)]) {
    let deadline = tokio::time::Instant::now() + SHOWN_WITHIN;
    while tokio::time::Instant::now() < deadline {
        let shown = orders.iter().all(|(id, state)| {
            bed.ct
                .order(id)
                .is_some_and(|o| o.shipment_state.as_deref() == Some(*state))
        });
        if shown {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::warn!("not every hold or backorder showed in commercetools in time");
}

/// Cancels the order in commercetools and posts its OrderStateChanged message to the webhook,
/// as a commercetools subscription would.
async fn cancel_in_ct(
    bed: &Testbed,
    http: &reqwest::Client,
    url: &str,
    id: &str,
) -> anyhow::Result<()> {
    // The merchant's own tool: a concurrent writer (the soak's) may have changed the order
    // first, so it reads again and retries, as any commercetools client must.
    let mut attempt = 0;
    let message: Value = loop {
        match bed.ct.cancel_order(id) {
            Ok(message) => break message,
            Err(e) if attempt < 5 => {
                attempt += 1;
                tracing::debug!(error = %e, "cancellation retried");
            }
            Err(e) => return Err(e),
        }
    };
    let status = http
        .post(url)
        .bearer_auth(DEMO_WEBHOOK_TOKEN)
        .body(message.to_string())
        .send()
        .await
        .context("posting OrderStateChanged")?
        .status();
    anyhow::ensure!(
        status.as_u16() == 202,
        "webhook answered {status} to a cancellation"
    );
    Ok(())
}

/// After despatch: every despatched order is closed; every seventh returns a unit of its first
/// line. Returns how many returns were recorded.
pub fn close_and_return(bed: &Testbed) -> usize {
    close_and_return_shaped(bed, None)
}

/// [`close_and_return`]; with `shapes` (what the warehouse did, to add to): half the returns
/// were announced first by a returns portal (an `Advised` item under its own RMA code), and
/// one despatched order in 11 whose delivery commercetools shows is cancelled by Peoplevox
/// instead of closed (a conflict for a person, never applied).
pub fn close_and_return_shaped(bed: &Testbed, mut shapes: Option<&mut StatusWork>) -> usize {
    let ct_orders: std::collections::BTreeMap<String, ctpvx_shared::commercetools::types::Order> =
        if shapes.is_some() {
            bed.ct.orders_by_number()
        } else {
            Default::default()
        };
    let mut returns = 0;
    for (n, order) in bed.pvx.sales_orders().into_iter().enumerate() {
        let despatched = bed.pvx.despatched_units(&order.number);
        if despatched.values().all(|u| *u == 0) {
            continue;
        }
        let ct = ct_orders.get(&order.number);
        if let Some(work) = shapes.as_deref_mut()
            && n % 11 == 5
            && n % 7 != 6
            && ct.is_some_and(has_warehouse_delivery)
            // One the storefront cancelled in commercetools shows Cancelled for its own reason.
            && ct.is_some_and(|o| o.order_state.as_deref() != Some("Cancelled"))
            // A short-picked order must show its short pick: a later cancellation would be a
            // conflict hiding it, another shape than the one counted.
            && !work.short_picked.contains(&order.number)
        {
            bed.pvx.set_order_status(&order.number, "Cancelled");
            work.cancelled_after_despatch.push(order.number.clone());
            continue;
        }
        bed.pvx.set_order_status(&order.number, "Closed");
        if n % 7 == 6
            && let Some((item, _)) = despatched.iter().find(|(_, u)| **u > 0)
        {
            let line = ReturnLine {
                item: item.clone(),
                quantity: 1,
                reason: "Changed mind".into(),
                condition: "Good".into(),
            };
            if let Some(work) = shapes.as_deref_mut()
                && n % 14 == 13
                && let Some(ct) = ct
                && announce_return(bed, ct, item)
            {
                work.advised_returns += 1;
            }
            if bed.pvx.record_return(&order.number, &[line]).is_ok() {
                returns += 1;
            }
        }
    }
    returns
}

/// Whether commercetools shows a delivery booked from a Peoplevox despatch on the order.
fn has_warehouse_delivery(order: &ctpvx_shared::commercetools::types::Order) -> bool {
    order.shipping_info.as_ref().is_some_and(|s| {
        s.deliveries
            .iter()
            .any(|d| d["key"].as_str().is_some_and(|k| k.starts_with("pvx-")))
    })
}

/// A returns portal announces one unit of the order's line of `item` (sold as itself, not in
/// a pack): an `Advised` return item under the portal's RMA code. Returns whether it did.
fn announce_return(
    bed: &Testbed,
    order: &ctpvx_shared::commercetools::types::Order,
    item: &str,
) -> bool {
    let Some(line) = order
        .line_items
        .iter()
        .find(|l| l.variant.sku.as_deref() == Some(item))
    else {
        return false;
    };
    let number = order.order_number.clone().unwrap_or_default();
    bed.ct
        .apply_order_actions(
            &order.id,
            vec![serde_json::json!({
                "action": "addReturnInfo", "returnTrackingId": format!("RMA-{number}"),
                "items": [{"lineItemId": line.id, "quantity": 1, "shipmentState": "Advised"}],
            })],
        )
        .is_ok()
}

/// Whether each deliberate outcome shows where a person looks: counts of orders where it does
/// not (all must be 0).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shown {
    /// Orders cancelled in commercetools after picking without `pvxException` on the order.
    pub conflicts_unrecorded: usize,
    /// Orders cancelled in commercetools before picking that Peoplevox has not cancelled.
    pub cancellations_not_pushed: usize,
    /// Orders the warehouse cancelled that commercetools does not show Canceled.
    pub cancellations_not_shown: usize,
    /// Short-picked orders not Partial with their short lines named.
    pub short_picks_not_shown: usize,
    /// Orders Peoplevox cancelled after their despatch was delivered that commercetools shows
    /// cancelled (applied, not held as a conflict for a person).
    pub cancellations_after_despatch_applied: usize,
}

impl Shown {
    /// Every outcome shows.
    pub fn all_shown(&self) -> bool {
        *self == Self::default()
    }
}

/// Up to five orders of each outcome that does not show, with what the two systems show of
/// them: for a person reading a failed run.
pub fn not_shown_examples(bed: &Testbed, work: &StatusWork) -> Value {
    let by_number = bed.ct.orders_by_number();
    let describe = |n: &String| {
        let o = by_number.get(n);
        let field = |name: &str| {
            o.and_then(|o| o.custom.as_ref())
                .and_then(|c| c.fields.get(name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        serde_json::json!({
            "number": n,
            "orderState": o.and_then(|o| o.order_state.clone()),
            "shipmentState": o.and_then(|o| o.shipment_state.clone()),
            "deliveries": o.and_then(|o| o.shipping_info.as_ref()).map(|s| s.deliveries.len()),
            "pvxStatus": field("pvxStatus"),
            "pvxException": field("pvxException"),
            "pvxShortPicks": field("pvxShortPicks"),
            "peoplevox": bed.pvx.order_status(n),
            "despatched": bed.pvx.despatched_units(n),
        })
    };
    let mut out = serde_json::Map::new();
    for (name, numbers) in failing(bed, work) {
        if !numbers.is_empty() {
            let shown: Vec<Value> = numbers.iter().take(5).map(describe).collect();
            out.insert(name.into(), Value::Array(shown));
        }
    }
    Value::Object(out)
}

/// Reads the two simulated systems for what the scenario did.
pub fn shown(bed: &Testbed, work: &StatusWork) -> Shown {
    let f = failing(bed, work);
    // Indexed, not looked up: a misspelt outcome panics instead of counting 0.
    let n = |name: &str| f[name].len();
    Shown {
        conflicts_unrecorded: n("conflicts"),
        cancellations_not_pushed: n("cancellations_not_pushed"),
        cancellations_not_shown: n("cancellations_in_peoplevox"),
        short_picks_not_shown: n("short_picks"),
        cancellations_after_despatch_applied: n("cancellations_after_despatch"),
    }
}

/// The orders of each outcome that does not show, by outcome.
fn failing(
    bed: &Testbed,
    work: &StatusWork,
) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let by_number = bed.ct.orders_by_number();
    let field = |number: &str, name: &str| -> String {
        by_number
            .get(number)
            .and_then(|o| o.custom.as_ref())
            .and_then(|c| c.fields.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let shipment = |number: &str| {
        by_number
            .get(number)
            .and_then(|o| o.shipment_state.clone())
            .unwrap_or_default()
    };
    let pvx_status = |number: &str| bed.pvx.order_status(number).unwrap_or_default();
    let count = |numbers: &[String], ok: &dyn Fn(&str) -> bool| -> Vec<String> {
        numbers
            .iter()
            .filter(|n| !ok(n.as_str()))
            .cloned()
            .collect()
    };
    std::collections::BTreeMap::from([
        (
            "conflicts",
            count(&work.cancelled_in_ct_after_pick, &|n| {
                !field(n, "pvxException").is_empty()
            }),
        ),
        (
            "cancellations_not_pushed",
            count(&work.cancelled_in_ct_before_pick, &|n| {
                pvx_status(n) == "Cancelled" && shipment(n) == "Canceled"
            }),
        ),
        (
            "cancellations_in_peoplevox",
            count(&work.cancelled_in_peoplevox, &|n| {
                shipment(n) == "Canceled"
                    && by_number
                        .get(n)
                        .is_some_and(|o| o.order_state.as_deref() == Some("Cancelled"))
            }),
        ),
        (
            "short_picks",
            count(&work.short_picked, &|n| {
                shipment(n) == "Partial" && !field(n, "pvxShortPicks").is_empty()
            }),
        ),
        (
            "cancellations_after_despatch",
            count(&work.cancelled_after_despatch, &|n| {
                shipment(n) != "Canceled"
                    && by_number
                        .get(n)
                        .is_some_and(|o| o.order_state.as_deref() != Some("Cancelled"))
            }),
        ),
    ])
}
