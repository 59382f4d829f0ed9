//! The demo's last act: events get lost, and the nightly reconciliation puts everything right.
//!
//! 1. Peoplevox loses a share of its callbacks while the warehouse moves stock, then every
//!    callback during an outage of the webhook endpoint; and a few orders are placed in
//!    commercetools whose OrderCreated never arrives. (Lost callbacks among delivered ones
//!    mostly heal by themselves: the next callback of the item carries the absolute figure and
//!    a delivered one's confirming re-read reads it again. An outage leaves nothing to heal.)
//! 2. A reconciliation run re-queues the lost orders (the export flow exports them) and
//!    repairs the stock the lost callbacks left behind.
//! 3. The warehouse despatches those orders, and every despatch callback is lost.
//! 4. A second run finds the despatches without a delivery and re-queues them (the shipment
//!    flow books them) and repairs whatever stock moved meanwhile.
//! 5. A dry run measures what is left: the drift after (must be 0).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpvx_shared::app;
use ctpvx_shared::config::Config;
use ctpvx_shared::flows::nightly_reconcile::{DriftReport, NightlyReconcile, Quiet, RunOptions};
use ctpvx_shared::store::Queue;
use serde_json::{Value, json};

use crate::local::LocalStack;
use crate::sim::peoplevox::{DespatchPlan, PackagePlan};
use crate::stock_scenario;
use crate::testbed::Testbed;

/// Orders placed in commercetools whose OrderCreated is lost.
const LOST_ORDERS: usize = 5;
/// Share of callbacks lost while the warehouse moves stock.
const DROP_RATE: f64 = 0.3;
/// Movements during the outage, when every callback is lost.
const OUTAGE_MOVEMENTS: usize = 100;

/// What happened, read from the two simulated systems and the runs' reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Reconciled {
    /// Callbacks Peoplevox lost on purpose.
    pub callbacks_dropped: u64,
    /// Stock entries off target before the first run (the drift it found).
    pub drift_before: usize,
    /// Units those entries were off by.
    pub units_off: i64,
    /// Entries the runs wrote.
    pub updates: usize,
    /// Entries off target after the runs (a dry run's drift, and the simulators' own check).
    pub drift_after: usize,
    /// commercetools entries the simulators' check finds off target afterwards.
    pub off_target_after: usize,
    /// Orders whose OrderCreated was lost.
    pub orders_lost: usize,
    /// Orders the first run re-queued: the lost ones and those held for a reason a person
    /// may have fixed (held again if not).
    pub orders_requeued: usize,
    /// Of them, in Peoplevox exactly once afterwards.
    pub orders_exported_once: usize,
    /// Despatches whose callbacks were lost.
    pub despatches_lost: usize,
    /// Of them, re-queued by the second run.
    pub despatches_requeued: usize,
    /// Despatches without exactly one delivery afterwards.
    pub despatches_without_delivery: usize,
    /// Failures the runs reported.
    pub failed: usize,
    /// Peoplevox pages the first run read.
    pub pages: u32,
    /// Wall time of the first run.
    pub first_run_ms: u64,
}

impl Reconciled {
    /// Whether the reconciliation put everything right.
    pub fn all_right(&self) -> bool {
        self.drift_after == 0
            && self.off_target_after == 0
            && self.failed == 0
            && self.orders_exported_once == self.orders_lost
            && self.despatches_requeued == self.despatches_lost
            && self.despatches_without_delivery == 0
    }
}

/// Loses events, reconciles, and reports.
pub async fn run(
    bed: &Testbed,
    stack: &LocalStack,
    sites: &[String],
    catalog: &[String],
    movements: usize,
    seed: u64,
) -> anyhow::Result<Reconciled> {
    let mut out = Reconciled::default();
    let flow = flow(bed, stack).await?;
    let faults = bed.pvx.callback_faults();
    let dropped_before = bed.pvx.callbacks_dropped();

    // 1. Lost stock callbacks (a share, then all of them during an outage) and lost orders.
    faults.set_drop_rate(DROP_RATE);
    stock_scenario::move_stock(bed, sites, catalog, movements, Duration::from_secs(2), seed).await;
    faults.set_drop_rate(1.0);
    stock_scenario::move_stock(
        bed,
        sites,
        catalog,
        OUTAGE_MOVEMENTS,
        Duration::from_millis(500),
        seed + 1,
    )
    .await;
    // Placed in commercetools (stock taken there), never announced; some may be refused for
    // stock, the rest are the lost ones.
    let lost = stock_scenario::sell(bed, 10_000..10_000 + LOST_ORDERS, catalog, Duration::ZERO)
        .await?
        .placed;
    out.orders_lost = lost.len();
    stock_scenario::settle(bed, stack, Duration::from_secs(120)).await;
    faults.set_drop_rate(0.0);

    // 2. The first run.
    let started = Instant::now();
    let first = flow.run_to_end(&RunOptions::default(), &Quiet).await?;
    out.first_run_ms = started.elapsed().as_millis() as u64;
    out.drift_before = first.drift_before();
    out.units_off = first.stock.values().map(|s| s.units_off).sum();
    out.pages = first.stock.values().map(|s| s.pages).sum();
    out.orders_requeued = first.orders.requeued;
    stock_scenario::settle(bed, stack, Duration::from_secs(120)).await;
    let numbers: Vec<String> = lost
        .iter()
        .filter_map(|o| o["orderNumber"].as_str().map(str::to_string))
        .collect();
    out.orders_exported_once = numbers
        .iter()
        .filter(|n| bed.pvx.header_imports(n) == 1)
        .count();

    // 3. Despatches whose callbacks are all lost.
    faults.set_drop_rate(1.0);
    for number in &numbers {
        let plan = DespatchPlan {
            lines: Vec::new(),
            packages: vec![PackagePlan::tracked(format!("LOST-{number}"))],
            carrier: "Royal Mail".into(),
            service: "Tracked 48".into(),
        };
        if bed.pvx.despatch(number, plan).is_ok() {
            out.despatches_lost += 1;
        }
    }
    stock_scenario::settle(bed, stack, Duration::from_secs(60)).await;
    faults.set_drop_rate(0.0);

    // 4. The second run, then the flows book what it re-queued.
    let second = flow.run_to_end(&RunOptions::default(), &Quiet).await?;
    out.despatches_requeued = second.despatches.requeued;
    stock_scenario::settle(bed, stack, Duration::from_secs(120)).await;

    // 5. What is left.
    let check = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..RunOptions::default()
            },
            &Quiet,
        )
        .await?;
    out.updates = first.updated() + second.updated();
    out.failed = [&first, &second, &check]
        .iter()
        .map(|r: &&DriftReport| r.failed())
        .sum();
    out.drift_after = check.drift_before();
    out.off_target_after = crate::checks::stock::mismatches(bed)
        .into_iter()
        .filter(|m| m.actual.is_some())
        .count();
    out.despatches_without_delivery =
        crate::checks::shipments::check(bed).despatches_without_delivery;
    out.callbacks_dropped = bed.pvx.callbacks_dropped() - dropped_before;
    Ok(out)
}

/// The reconciliation over the stack's store and clients. Its order sweep takes orders of any
/// age: the demo's lost orders are seconds old.
pub async fn flow(bed: &Testbed, stack: &LocalStack) -> anyhow::Result<NightlyReconcile> {
    let mut config: Config = bed.config.clone();
    config.reconcile.order_grace_s = 0;
    let queue: Arc<dyn Queue> = stack.queue.clone();
    Ok(app::nightly_reconcile(
        &config,
        &bed.secrets,
        &stack.stores,
        stack.ct.clone(),
        queue,
    )
    .await?)
}

/// The summary's `reconcile` section.
pub fn summary(r: &Reconciled) -> Value {
    json!({
        "callbacks_dropped": r.callbacks_dropped,
        "drift_before": r.drift_before,
        "units_off": r.units_off,
        "updates": r.updates,
        "drift_after": r.drift_after,
        "off_target_after": r.off_target_after,
        "orders_lost": r.orders_lost,
        "orders_requeued": r.orders_requeued,
        "orders_exported_once": r.orders_exported_once,
        "despatches_lost": r.despatches_lost,
        "despatches_requeued": r.despatches_requeued,
        "despatches_without_delivery": r.despatches_without_delivery,
        "failed": r.failed,
        "pages": r.pages,
        "first_run_ms": r.first_run_ms,
    })
}
