//! A despatch scenario against the Peoplevox simulator: subscriptions for the despatch
//! callbacks, then the warehouse despatches the orders it holds — most in one go, some split
//! across two despatches, some with several packages, some whose tracking arrives later.

use std::time::Duration;

use anyhow::Context;

use ctpvx_shared::config::SubscriptionRules;
use ctpvx_shared::peoplevox::PvxClient;

use crate::sim::peoplevox::{DespatchPlan, PackagePlan};
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
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut done = Despatching::default();
    let mut late: Vec<(String, u32, String)> = Vec::new();
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
        if split && let Some(item) = first_item {
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
    tokio::time::sleep(late_after).await;
    for (despatch, package, tracking) in late {
        if bed
            .pvx
            .set_package_tracking(&despatch, package, &tracking)
            .is_ok()
        {
            done.late_tracking += 1;
        }
    }
    done
}
