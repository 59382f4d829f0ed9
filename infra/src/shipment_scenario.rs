//! A despatch scenario against the Peoplevox simulator: subscriptions for the despatch
//! callbacks, then the warehouse despatches the orders it holds — most in one go, some split
//! across two despatches, some with several packages, some whose tracking arrives later.

use std::time::Duration;

use anyhow::Context;

use ctpvx_shared::config::SubscriptionRules;
use ctpvx_shared::peoplevox::PvxClient;

use crate::sim::peoplevox::{DespatchPlan, PackagePlan};
use crate::stock_scenario::{PACK_FACTOR, PACK_SKU, PACKED_ITEM};
use crate::testbed::{self, Testbed};

/// Subscribes the despatch events (no site filter: every site) with `ctpvx subscribe`'s code
/// and callback URLs; returns the ids.
pub async fn subscribe(pvx: &PvxClient, base: &str, token: &str) -> anyhow::Result<Vec<i64>> {
    let rules = SubscriptionRules {
        shipments: true,
        ..testbed::no_subscriptions()
    };
    testbed::subscribe_rules(pvx, base, token, &rules, &[])
        .await
        .context("subscribing the despatch events")
}

/// What the warehouse did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Despatching {
    /// Orders despatched in one despatch.
    pub whole: usize,
    /// Orders despatched in two.
    pub split: usize,
    /// Packages whose tracking number came after the despatch.
    pub late_tracking: usize,
    /// Despatches the simulator refused (nothing left to send).
    pub refused: usize,
    /// Orders with packs whose first despatch was one pack's units.
    pub packs: usize,
    /// Orders a merchant delivered a line of by hand before the warehouse's despatch.
    pub by_hand: usize,
    /// Packages whose tracking number came later with its callbacks lost.
    pub tracking_lost: usize,
    /// Another sales channel's orders the warehouse worked and despatched.
    pub other_channel: usize,
}

/// Despatches every order Peoplevox holds (the simulator refuses cancelled orders and orders
/// closed short, counted in `refused`): a fifth split across two despatches, a third with
/// two packages, a tenth with tracking arriving `late_after` later.
pub async fn despatch_all(bed: &Testbed, seed: u64, late_after: Duration) -> Despatching {
    despatch_some(bed, seed, late_after, usize::MAX).await
}

/// [`despatch_all`] until `limit` despatches are made.
pub async fn despatch_some(
    bed: &Testbed,
    seed: u64,
    late_after: Duration,
    limit: usize,
) -> Despatching {
    despatch_shaped(bed, seed, late_after, limit, false).await
}

/// [`despatch_some`]; with `shapes`, as a real warehouse also does: an order with packs first
/// despatches one pack's units (which split exactly only onto the pack line when the single
/// line is shorter than a pack), one order in 16 had a line delivered by hand in the Merchant
/// Center first, one late tracking number in 2 arrives with its callbacks lost, and one order
/// in 50 of another sales channel (`AMZ-…`, not in commercetools) is worked and despatched.
pub async fn despatch_shaped(
    bed: &Testbed,
    seed: u64,
    late_after: Duration,
    limit: usize,
    shapes: bool,
) -> Despatching {
    let ct_orders: std::collections::BTreeMap<String, ctpvx_shared::commercetools::types::Order> =
        if shapes {
            bed.ct.orders_by_number()
        } else {
            Default::default()
        };
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut done = Despatching::default();
    let mut late: Vec<(String, u32, String, bool)> = Vec::new();
    for (n, order) in bed.pvx.sales_orders().into_iter().enumerate() {
        if done.whole + 2 * done.split >= limit {
            break;
        }
        let packages = if rng.u8(0..3) == 0 { 2 } else { 1 };
        let plan_packages = |tag: &str, untracked: bool| -> Vec<PackagePlan> {
            (1..=packages)
                .map(|p| {
                    if untracked {
                        PackagePlan::default()
                    } else {
                        PackagePlan::tracked(format!("TRK-{}-{tag}-{p}", order.number))
                    }
                })
                .collect()
        };
        let late_tracking = n % 10 == 3;
        let first_item = order.items.first().map(|i| i.item_code.clone());
        let split = rng.u8(0..5) == 0 && order.items.len() > 1;
        let mut plans = Vec::new();
        let ct = ct_orders.get(&order.number);
        let packed_units: i64 = order
            .items
            .iter()
            .filter(|i| i.item_code == PACKED_ITEM)
            .filter_map(|i| i.quantity.parse::<i64>().ok())
            .sum();
        let has_pack = ct.is_some_and(|o| {
            o.line_items
                .iter()
                .any(|l| l.variant.sku.as_deref() == Some(PACK_SKU))
        });
        if shapes && has_pack && packed_units > PACK_FACTOR {
            done.packs += 1;
            plans.push(DespatchPlan {
                lines: vec![(PACKED_ITEM.to_string(), PACK_FACTOR)],
                packages: plan_packages("p", false),
                carrier: "Royal Mail".into(),
                service: "Tracked 24".into(),
            });
        } else if split && let Some(item) = first_item {
            let ordered: i64 = order
                .items
                .iter()
                .filter(|i| i.item_code == item)
                .filter_map(|i| i.quantity.parse::<i64>().ok())
                .sum();
            plans.push(DespatchPlan {
                lines: vec![(item, ordered)],
                packages: plan_packages("a", false),
                carrier: "Royal Mail".into(),
                service: "Tracked 24".into(),
            });
        }
        plans.push(DespatchPlan::everything(
            "DPD",
            "Next Day",
            plan_packages("b", late_tracking),
        ));
        if shapes
            && n % 16 == 9
            && let Some(ct) = ct
            && ct.order_state.as_deref() != Some("Cancelled")
            && let Some(line) = ct.line_items.first()
        {
            let by_hand = bed.ct.apply_order_actions(
                &ct.id,
                vec![serde_json::json!({
                    "action": "addDelivery",
                    "deliveryKey": format!("merchant-center-{}", order.number),
                    "items": [{"id": line.id, "quantity": line.quantity}],
                    "parcels": [],
                })],
            );
            if by_hand.is_ok() {
                done.by_hand += 1;
            }
        }
        let mut made = 0;
        for plan in plans {
            match bed.pvx.despatch(&order.number, plan) {
                Ok(despatch) => {
                    made += 1;
                    if late_tracking {
                        for package in despatch.packages.iter().filter(|p| p.tracking.is_none()) {
                            late.push((
                                despatch.number.clone(),
                                package.number,
                                format!("LATE-{}-{}", despatch.number, package.number),
                                shapes && n % 20 == 13,
                            ));
                        }
                    }
                }
                Err(_) => done.refused += 1,
            }
        }
        match made {
            2 => done.split += 1,
            1 => done.whole += 1,
            _ => {}
        }
    }
    if shapes {
        done.other_channel =
            other_channel_orders(bed, limit.min(bed.pvx.sales_orders().len()) / 50);
    }
    tokio::time::sleep(late_after).await;
    for (despatch, package, tracking, lost) in late {
        let set = if lost {
            bed.pvx
                .set_package_tracking_unannounced(&despatch, package, &tracking)
        } else {
            bed.pvx.set_package_tracking(&despatch, package, &tracking)
        };
        if set.is_ok() {
            done.late_tracking += 1;
            done.tracking_lost += usize::from(lost);
        }
    }
    done
}

/// `count` (at least 1) orders of another sales channel on the tenant: each is picked and
/// despatched, so its status and despatch callbacks reach the connector, which must skip them
/// as not ours. Returns how many were despatched.
fn other_channel_orders(bed: &Testbed, count: usize) -> usize {
    let Some(item) = bed.pvx.sales_orders().iter().find_map(|o| {
        o.items
            .first()
            .map(|i| (o.site.clone(), i.item_code.clone()))
    }) else {
        return 0;
    };
    let mut made = 0;
    for k in 0..count.max(1) {
        let number = format!("AMZ-{k:05}");
        if !bed
            .pvx
            .add_other_channel_order(&number, &item.0, &[(&item.1, 1)])
        {
            continue;
        }
        bed.pvx.set_order_status(&number, "Picking");
        let plan = DespatchPlan::everything(
            "DPD",
            "Next Day",
            vec![PackagePlan::tracked(format!("TRK-{number}"))],
        );
        if bed.pvx.despatch(&number, plan).is_ok() {
            made += 1;
        }
    }
    made
}
