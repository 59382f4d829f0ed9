//! A stock scenario against the simulators: Peoplevox subscriptions pointing at the local
//! webhook server, opening stock, a stream of warehouse movements, and a storefront that sells
//! only what commercetools shows (ReserveOnOrder) while the movements go on.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use ctpvx_shared::config::SubscriptionRules;
use ctpvx_shared::peoplevox::PvxClient;

use crate::local::drain::Drains;
use crate::local::stack::{ORDERS_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::testbed::{self, Testbed};

/// Peoplevox event type names (as `ctpvx subscribe` uses them).
pub use ctpvx_shared::subscriptions::{AVAILABILITY_CHANGES, INCREMENTAL_CHANGES};

/// Subscribes AvailabilityChanges at every site and IncrementalChanges at `incremental_sites`
/// (movements are hints that cost a Peoplevox read each batch), each filtered to its site,
/// with `ctpvx subscribe`'s code and callback URLs; returns the subscription ids.
pub async fn subscribe(
    pvx: &PvxClient,
    base: &str,
    token: &str,
    sites: &[String],
    incremental_sites: &[String],
) -> anyhow::Result<Vec<i64>> {
    let rules = SubscriptionRules {
        incremental_sites: incremental_sites.to_vec(),
        ..testbed::no_subscriptions()
    };
    testbed::subscribe_rules(pvx, base, token, &rules, sites)
        .await
        .context("subscribing the stock events")
}

/// What the movement stream did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Movements {
    /// Goods received.
    pub goods_in: usize,
    /// Stock adjustments (counts, damages).
    pub adjustments: usize,
    /// Orders picked.
    pub picks: usize,
}

impl Movements {
    /// All movements.
    pub fn total(&self) -> usize {
        self.goods_in + self.adjustments + self.picks
    }
}

/// Opening stock: goods-in of `0..=24` units per item and site (fires callbacks), so that
/// some items sell out and the storefront meets OutOfStock.
pub fn opening_stock(bed: &Testbed, sites: &[String], items: &[String], rng: &mut fastrand::Rng) {
    for site in sites {
        for item in items {
            bed.pvx.goods_in(site, item, rng.i64(0..=24));
        }
    }
}

/// `count` movements spread over `over`: mostly goods-in and small adjustments (damages are
/// small next to the safety buffer), and picks of orders Peoplevox has allocated.
pub async fn move_stock(
    bed: &Testbed,
    sites: &[String],
    items: &[String],
    count: usize,
    over: Duration,
    seed: u64,
) -> Movements {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut done = Movements::default();
    // Orders to pick, from a snapshot taken when the last one ran out: one scan of
    // Peoplevox's orders per snapshot, not one per pick (the soak places thousands).
    let mut picked: std::collections::HashSet<String> = Default::default();
    let mut to_pick: std::collections::VecDeque<String> = Default::default();
    let pause = over / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    for n in 0..count {
        let site = &sites[rng.usize(..sites.len())];
        let item = &items[rng.usize(..items.len())];
        match rng.u8(0..10) {
            0..=4 => {
                bed.pvx.goods_in(site, item, rng.i64(1..=8));
                done.goods_in += 1;
            }
            5..=7 => {
                bed.pvx.adjust(site, item, rng.i64(-2..=3), "Stock check");
                done.adjustments += 1;
            }
            _ => {
                if to_pick.is_empty() {
                    to_pick = bed
                        .pvx
                        .sales_orders()
                        .into_iter()
                        .map(|o| o.number)
                        .filter(|n| !picked.contains(n))
                        .collect();
                }
                if let Some(number) = to_pick.pop_front() {
                    bed.pvx.pick_order(&number);
                    picked.insert(number);
                    done.picks += 1;
                } else {
                    bed.pvx.goods_in(site, item, 1);
                    done.goods_in += 1;
                }
            }
        }
        if n % 20 == 19 {
            tokio::time::sleep(pause * 20).await;
        }
    }
    done
}

/// The item sold in packs too (`orders.units_of_measure` in the testbed's configuration).
pub const PACKED_ITEM: &str = "SOCK";
/// Its pack of 3.
pub const PACK_SKU: &str = "SOCK-3PK";
/// Units of [`PACKED_ITEM`] in one [`PACK_SKU`].
pub const PACK_FACTOR: i64 = 3;

/// What the storefront did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Sales {
    /// Orders placed (commercetools had the stock).
    pub placed: Vec<Value>,
    /// Orders refused with OutOfStock.
    pub refused_out_of_stock: usize,
}

/// Places orders `range` as a storefront would: each line from its store's warehouse, with
/// `ReserveOnOrder`, so commercetools refuses what it does not show as available.
pub async fn sell(
    bed: &Testbed,
    range: std::ops::Range<usize>,
    catalog: &[String],
    over: Duration,
) -> anyhow::Result<Sales> {
    sell_shaped(bed, range, catalog, over, false).await
}

/// [`sell`]; with `packs`, one order in 20 of two lines or more has single `SOCK` units on its
/// first line beside one `SOCK-3PK` pack (3 `SOCK` units in Peoplevox) on its second.
pub async fn sell_shaped(
    bed: &Testbed,
    range: std::ops::Range<usize>,
    catalog: &[String],
    over: Duration,
    packs: bool,
) -> anyhow::Result<Sales> {
    let pause = over / u32::try_from(range.len().max(1)).unwrap_or(u32::MAX);
    let mut sales = Sales::default();
    for i in range {
        let mut order = bed.order(i, catalog);
        order["inventoryMode"] = "ReserveOnOrder".into();
        if packs && i % 20 == 11 && 1 + i % 3 >= 2 {
            order["lineItems"][0]["variant"]["sku"] = PACKED_ITEM.into();
            order["lineItems"][1]["variant"]["sku"] = PACK_SKU.into();
            order["lineItems"][1]["quantity"] = 1.into();
        }
        match bed.ct.place_order(order.clone())? {
            Ok(_) => sales.placed.push(order),
            Err(_) => sales.refused_out_of_stock += 1,
        }
        tokio::time::sleep(pause).await;
    }
    Ok(sales)
}

/// Waits for Peoplevox's callbacks, then for every queue (confirming re-reads included), and
/// again while draining made Peoplevox call back (exports allocate stock). Returns whether it
/// all settled within `limit`.
pub async fn settle(bed: &Testbed, stack: &dyn Drains, limit: Duration) -> bool {
    let started = std::time::Instant::now();
    loop {
        let idle = bed.pvx.wait_callbacks_idle(limit).await;
        let rest = limit.saturating_sub(started.elapsed());
        let drained = stack
            .wait_queues_drained(
                &[ORDERS_QUEUE, STOCK_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE],
                rest,
            )
            .await;
        if !(idle && drained) || started.elapsed() >= limit {
            return false;
        }
        if bed.pvx.pending_callbacks() == 0 {
            return true;
        }
    }
}
