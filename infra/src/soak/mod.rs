//! The soak: the whole pipeline — webhooks, every queue and worker, the nightly
//! reconciliation — against both simulators, with a seeded scenario and every fault on at
//! once, then an invariant checker over the two simulated systems.
//!
//! The story of a run:
//! 1. Opening stock, with faults off; subscriptions as `ctpvx subscribe` makes them.
//! 2. Faults on ([`chaos`]). The storefront sells while the warehouse moves stock; every
//!    order's OrderCreated reaches the webhook 1–3 times, except a lost share.
//! 3. The warehouse works the orders (status changes, cancellations on both sides, short
//!    picks), despatches (splits, late tracking), closes them and takes returns.
//! 4. Faults off. An operator redrives the dead-letter queues; two reconciliation runs (the
//!    second books despatches whose callbacks were lost); the queues drain.
//! 5. [`invariants::check`].

pub mod chaos;
pub mod invariants;
pub mod progress;
pub mod tally;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use ctpvx_shared::app::Stores;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::nightly_reconcile::{
    DriftReport, NightlyReconcile, Progress as RunProgress, Quiet, RunOptions, WorkBudget,
};
use ctpvx_shared::queues::RECONCILE_MAX_RECEIVE_COUNT;
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::ORDERS_PATH;

use crate::local::lambda_limits::LambdaLimits;
use crate::local::worker::Chance;
use crate::local::{LocalStack, StackOptions};
use crate::operator::dlq::{self, RedriveOptions};
use crate::testbed::{DEMO_WEBHOOK_TOKEN, STOCK_SITES, Testbed, TestbedOptions};
use crate::{reconcile_scenario, scenario, shipment_scenario, status_scenario, stock_scenario};

pub use chaos::FaultRates;
pub use invariants::Invariants;
use progress::Progress;
use tally::TallyQueue;

/// The size and shape of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SoakOptions {
    /// Seed of every random choice (movements, faults, kills).
    pub seed: u64,
    /// Orders the storefront places.
    pub orders: usize,
    /// Warehouse stock movements.
    pub movements: usize,
    /// Orders despatched (a fifth split in two).
    pub despatches: usize,
    /// Items in the catalogue (each stocked at 3 sites).
    pub items: usize,
    /// The Peoplevox budget window is 15 s divided by this.
    pub compress: u32,
    /// Share of OrderCreated messages never sent.
    pub orders_lost: f64,
    /// The faults.
    pub faults: FaultRates,
    /// How long the scenario's waits may take before the run gives up.
    pub settle_limit_s: u64,
    /// Concurrent workers of the orders, shipments and status queues each, and of the stock
    /// queue (Lambda scales its concurrency with the queue; moto's SQS is not safe under many
    /// concurrent receivers).
    pub workers: (usize, usize),
    /// The queues' visibility timeout (and a batch's deadline), in seconds: longer than a
    /// batch takes, as a deployment sets it longer than the function's timeout.
    pub visibility_s: u64,
    /// Print a progress line on stderr every this many seconds (0: never).
    pub progress_every_s: u64,
    /// The simulated Peoplevox tenant's dialect (see `sim::peoplevox::dialect`).
    pub dialect: &'static str,
    /// Every worker batch runs under its function's Timeout (template.yaml's, divided by
    /// `function_time_scale`) and is killed when it passes; the next batch on that worker is a
    /// cold start.
    pub function_timeouts: bool,
    /// What template.yaml's Timeouts are divided by; `None`: `compress`, as the budget window
    /// is. The store's calls are not compressed: moto's take 10–50 times DynamoDB's, so a run
    /// on moto compresses the Timeouts less.
    pub function_time_scale: Option<u32>,
}

impl Default for SoakOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            orders: 10_000,
            movements: 50_000,
            despatches: 5_000,
            items: 400,
            compress: 30,
            orders_lost: 0.01,
            faults: FaultRates::default(),
            settle_limit_s: 1_800,
            workers: (4, 8),
            visibility_s: 10,
            progress_every_s: 0,
            dialect: crate::sim::peoplevox::Dialect::default().name,
            function_timeouts: true,
            function_time_scale: None,
        }
    }
}

/// Where the queues and tables live.
pub enum SoakBackend {
    /// The embedded store (SQLite), in memory.
    Embedded,
    /// Fresh DynamoDB tables and SQS queues on these emulator endpoints (moto).
    Aws(crate::aws_emulator::EmulatorEndpoints),
}

/// What a run did, and what the checker found.
#[derive(Debug, Clone, Serialize)]
pub struct SoakOutcome {
    /// `embedded` or `aws (moto at …)`.
    pub backend: String,
    /// The options, scale included.
    pub options: SoakOptions,
    /// The broken promises (all 0 when the run passes).
    pub invariants: Invariants,
    /// What happened on the way.
    pub figures: Value,
    /// Wall time.
    pub elapsed_s: f64,
}

impl SoakOutcome {
    /// Whether every invariant holds.
    pub fn passed(&self) -> bool {
        self.invariants.hold()
    }
}

/// Runs the soak.
pub async fn run(options: SoakOptions, backend: SoakBackend) -> anyhow::Result<SoakOutcome> {
    let started = Instant::now();
    let catalog = scenario::catalog(options.items);
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(15_000 / u64::from(options.compress.max(1))),
        items: catalog.clone(),
        safety_buffer: 5,
        confirm_after_s: 1,
        dialect: crate::sim::peoplevox::Dialect::by_name(options.dialect)
            .map_err(anyhow::Error::msg)?,
    })
    .await?;
    let mut config = bed.config.clone();
    // A hung request costs the client its timeout: shorter than production's, so that the
    // soak's 5% of hangs cost seconds, not hours; the simulators hang longer than this.
    config.commercetools.timeout_ms = 500;
    config.peoplevox.timeout_ms = 500;
    let (stores, inner, label) = match &backend {
        SoakBackend::Embedded => {
            let store = EmbeddedStore::in_memory()?;
            crate::local::stack::declare_queues(&store)?;
            let stores = Stores {
                state: store.clone(),
                idempotency: store.clone(),
                audit: store.clone(),
            };
            let queue: Arc<dyn Queue> = store;
            (stores, queue, "embedded".to_string())
        }
        SoakBackend::Aws(endpoints) => {
            let (stores, queue) = crate::aws_emulator::fresh_stores(endpoints).await?;
            (stores, queue, format!("aws ({endpoints})"))
        }
    };
    let tally = Arc::new(TallyQueue::new(inner));
    // Off while the opening stock settles; on with the other faults.
    let kill = Arc::new(Chance::new(0.0, options.seed));
    let late = Arc::new(AtomicU64::new(0));
    let scale = options.function_time_scale.unwrap_or(options.compress);
    let limits = Arc::new(LambdaLimits::new(scale, options.seed));
    let visibility = Duration::from_secs(options.visibility_s.max(1));
    if options.function_timeouts {
        limits.check_fits(&config).map_err(anyhow::Error::msg)?;
        // As template.yaml sets it: a batch's messages stay hidden while its invocation may
        // run, so none is handed out twice at once.
        let longest = limits.timeout(crate::local::stack::ORDERS_QUEUE);
        if visibility <= longest {
            anyhow::bail!(
                "the visibility timeout ({visibility:?}) must be longer than the longest function Timeout ({longest:?}); scale the Timeouts more"
            );
        }
    }
    let stack = LocalStack::start_on(
        &config,
        &bed.secrets,
        stores,
        tally.clone(),
        StackOptions {
            workers: options.workers.0,
            stock_workers: options.workers.1,
            event_workers: options.workers.0,
            batch_size: 100,
            visibility,
            kill: Some(kill.clone()),
            late: Some(late.clone()),
            lambda: options.function_timeouts.then(|| limits.clone()),
            ..StackOptions::default()
        },
    )
    .await?;
    bed.subscribe(&stack.pvx, stack.stores.state.as_ref(), &stack.server.url)
        .await?;
    let progress = Progress::new(options.progress_every_s > 0);
    let every = Duration::from_secs(options.progress_every_s.max(1));
    let run = Run {
        bed: &bed,
        stack: &stack,
        tally: &tally,
        kill: &kill,
        late: &late,
        limits: &limits,
        options: &options,
        catalog: &catalog,
        progress: &progress,
    };
    let driving = async {
        let result = run.drive().await;
        progress.finish();
        result
    };
    let (result, ()) = tokio::join!(driving, progress.report(&bed, &stack, every));
    stack.stop().await;
    let (invariants, figures) = result?;
    Ok(SoakOutcome {
        backend: label,
        options,
        invariants,
        figures,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// Everything one run needs after its stack is up.
struct Run<'a> {
    bed: &'a Testbed,
    stack: &'a LocalStack,
    tally: &'a TallyQueue,
    kill: &'a Chance,
    late: &'a AtomicU64,
    limits: &'a LambdaLimits,
    options: &'a SoakOptions,
    catalog: &'a [String],
    progress: &'a Progress,
}

impl Run<'_> {
    /// The scenario, the net, then the checker: the invariants and the figures.
    async fn drive(&self) -> anyhow::Result<(Invariants, Value)> {
        let Run {
            bed,
            stack,
            tally,
            kill,
            late,
            limits,
            options,
            catalog,
            progress,
        } = *self;
        let limit = Duration::from_secs(options.settle_limit_s);
        let sites: Vec<String> = STOCK_SITES.iter().map(|(s, _)| s.to_string()).collect();
        let mut rng = fastrand::Rng::with_seed(options.seed);
        for site in &sites {
            for item in catalog {
                bed.pvx.goods_in(site, item, rng.i64(40..=120));
            }
        }
        let opened = stock_scenario::settle(bed, stack, limit).await;

        // Live: faults on, sell while stock moves.
        kill.set_rate(options.faults.worker_kills);
        limits.stalls.set_rate(options.faults.settle_stalls);
        chaos::switch_on(bed, &options.faults, options.seed);
        let stop = AtomicBool::new(false);
        let live = async {
            let mut phases = Phases::new(progress);
            let over = Duration::from_millis(options.movements as u64);
            let moving = stock_scenario::move_stock(
                bed,
                &sites,
                catalog,
                options.movements,
                over,
                options.seed,
            );
            let selling = sell_and_announce(bed, stack, options, catalog, over);
            let (movements, sold) = tokio::join!(moving, selling);
            phases.mark("sell_and_move");
            let settled = stock_scenario::settle(bed, stack, limit).await;
            phases.mark("settle_live");
            let mut work = status_scenario::work_orders_shaped(
                bed,
                &stack.server.url,
                Duration::from_millis(500),
                true,
            )
            .await;
            let settled = settled & stock_scenario::settle(bed, stack, limit).await;
            phases.mark("work_orders");
            let despatching = shipment_scenario::despatch_shaped(
                bed,
                options.seed,
                Duration::from_millis(300),
                options.despatches,
                true,
            )
            .await;
            let settled = settled & stock_scenario::settle(bed, stack, limit).await;
            phases.mark("despatch");
            let returns = status_scenario::close_and_return_shaped(bed, work.as_mut().ok());
            let settled = settled & stock_scenario::settle(bed, stack, limit).await;
            phases.mark("close_and_return");
            stop.store(true, Ordering::Relaxed);
            (movements, sold, work, despatching, returns, settled, phases)
        };
        let churn = chaos::churn(bed, &options.faults, &stop);
        let (
            (movements, sold, work, despatching, returns, live_settled, mut phases),
            sessions_expired,
        ) = tokio::join!(live, churn);
        let (placed, announced, refused) = sold?;
        let work = work?;
        let faulty_requests = (bed.ct.request_count(), bed.pvx.request_count());
        chaos::switch_off(bed);
        kill.set_rate(0.0);
        limits.stalls.set_rate(0.0);

        // The net: redrive what was parked, reconcile twice, drain.
        let parked_during_run = parked_summary(stack).await;
        let parked = redrive_all(stack).await?;
        let mut settled = stock_scenario::settle(bed, stack, limit).await;
        phases.mark("redrive");
        let flow = reconcile_flow(bed, stack).await?;
        let first = reconcile(&flow).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        let second = reconcile(&flow).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        let parked_after = redrive_all(stack).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        phases.mark("reconcile");

        let invariants = invariants::check(
            bed,
            &invariants::Observed {
                placed: &placed,
                work: &work,
                tally: tally.tally(),
            },
        );
        let shown = status_scenario::shown(bed, &work);
        let status = crate::checks::status::check(bed);
        // One copy of every order, not one per cancellation (10,000 orders × 1,000 cancellations
        // at the default size).
        let by_number: std::collections::BTreeMap<
            String,
            ctpvx_shared::commercetools::types::Order,
        > = bed
            .ct
            .orders()
            .into_iter()
            .filter_map(|o| o.order_number.clone().map(|n| (n, o)))
            .collect();
        let not_pushed: Vec<Value> = work
        .cancelled_in_ct_before_pick
        .iter()
        .filter_map(|number| {
            let order = by_number.get(number)?;
            let pvx = bed.pvx.order_status(number).unwrap_or_default();
            let shipment = order.shipment_state.clone().unwrap_or_default();
            (pvx != "Cancelled" || shipment != "Canceled").then(|| {
                serde_json::json!({ "order": number, "peoplevox": pvx, "shipment_state": shipment, "order_state": order.order_state })
            })
        })
        .take(10)
        .collect();
        let never_exported = never_exported_trails(bed, stack, &placed).await;
        let mut still_parked = Vec::new();
        for pair in dlq::pairs() {
            if let Ok(listing) = dlq::list(stack.queue.as_ref(), pair, 20).await {
                still_parked.push(dlq::list_json(&listing));
            }
        }
        let stock = stack.stock_totals.lock().await.clone();
        let orders = stack.totals.lock().await.clone();
        let figures = serde_json::json!({
            "settled": { "opening": opened, "live": live_settled, "after_reconcile": settled },
            "orders": {
                "placed": placed.len(),
                "refused_out_of_stock": refused,
                "order_created_messages_sent": announced,
                "duplicate_events_skipped": orders.duplicates,
            },
            "stock": {
                "movements": movements.total(),
                "callbacks_sent": bed.pvx.callbacks_sent(),
                "callbacks_repeated": bed.pvx.callbacks_duplicated(),
                "callbacks_lost": bed.pvx.callbacks_dropped(),
                "events": stock.events,
                "writes": stock.writes + stock.created,
                "stale": stock.stale,
                "conflicts": stock.conflicts,
            },
            "warehouse": {
                "despatched_orders": despatching.whole + despatching.split,
                "split": despatching.split,
                "late_tracking": despatching.late_tracking,
                "despatches": bed.pvx.despatches().len(),
                "cancelled_in_ct": work.cancelled_in_ct_before_pick.len() + work.cancelled_in_ct_after_pick.len(),
                "cancelled_in_peoplevox": work.cancelled_in_peoplevox.len(),
                "short_picked": work.short_picked.len(),
                "backordered": work.backordered,
                "held": work.held,
                "held_released_out_of_order": work.held_out_of_order,
                "other_channel_orders": despatching.other_channel,
                "pack_orders_despatched": despatching.packs,
                "delivered_by_hand": despatching.by_hand,
                "tracking_lost": despatching.tracking_lost,
                "returns_advised_first": work.advised_returns,
                "cancelled_after_despatch": work.cancelled_after_despatch.len(),
                "returns": returns,
            },
            "faults": {
                "worker_batches_killed": kill.hits(),
                "worker_batches_late": late.load(Ordering::Relaxed),
                "settle_stalls": limits.stalls.hits(),
                "deadline_kills": limits.kills(),
                "init_failures": limits.init_failures(),
                "flow_overruns": limits.overruns(),
                "peoplevox_sessions_expired": sessions_expired,
                "requests_during_faults": { "commercetools": faulty_requests.0, "peoplevox": faulty_requests.1 },
            },
            "net": {
                "parked_then_redriven": parked,
                "parked_after_reconcile": parked_after,
                "reconcile_updates": first.updated() + second.updated(),
                "reconcile_orders_requeued": first.orders.requeued + second.orders.requeued,
                "reconcile_despatches_requeued": first.despatches.requeued + second.despatches.requeued,
                "reconcile_failed": first.failed() + second.failed(),
            },
            "queues": tally.tally(),
            "unsettled_by_queue": tally.unsettled_by_queue(),
            "parked_during_run": parked_during_run,
            "unaccounted_examples": tally.unsettled_examples(5),
            "details": {
                "outcomes_not_shown": shown,
                "outcomes_not_shown_examples": status_scenario::not_shown_examples(bed, &work),
                "oversold": bed.pvx.shortfalls().into_iter().map(|((site, item), units)| format!("{site} {item}: {units}")).collect::<Vec<_>>(),
                "returns_missing_examples": crate::checks::status::missing_return_examples(bed, 5),
                "cancellations_not_pushed": not_pushed,
                "never_exported": never_exported,
                "returns": { "duplicates": status.duplicate_returns, "missing": status.missing_returns },
                "backwards_moves": status.backwards_moves.iter().take(5).collect::<Vec<_>>(),
                "still_parked": still_parked,
                "hard_cases": hard_cases_examples(bed),
            },
            "phases_s": phases.0,
            "requests": { "commercetools": bed.ct.request_count(), "peoplevox": bed.pvx.request_count() },
        });
        Ok((invariants, figures))
    }
}

/// The audit trail of up to 5 orders that never reached Peoplevox with their mark: what each
/// flow did with them, so that a failed run says why.
async fn never_exported_trails(bed: &Testbed, stack: &LocalStack, placed: &[Value]) -> Vec<Value> {
    let channel = &bed.export_channel_id;
    let mut out = Vec::new();
    for order in placed {
        let id = order["id"].as_str().unwrap_or_default();
        let number = order["orderNumber"].as_str().unwrap_or_default();
        let current = bed.ct.order(id);
        let marked = current
            .as_ref()
            .is_some_and(|o| o.sync_info_for(channel).is_some());
        let imports = bed.pvx.header_imports(number);
        if marked && imports >= 1 {
            continue;
        }
        let trail: Vec<Value> = stack
            .stores
            .audit
            .list(&format!("order#{id}"), 50)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|e| serde_json::json!([e.flow, e.outcome, e.reason]))
            .collect();
        out.push(serde_json::json!({
            "order": number,
            "marked": marked,
            "peoplevox_imports": imports,
            "order_state": current.and_then(|o| o.order_state),
            "audit": trail,
        }));
        if out.len() == 5 {
            break;
        }
    }
    out
}

/// Up to 5 examples of each broken hard-case promise (issue 22).
fn hard_cases_examples(bed: &Testbed) -> Value {
    let hard = crate::checks::hard_cases::check(bed);
    let five = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>();
    serde_json::json!({
        "despatches_parked_with_a_pack_split": five(&hard.despatches_parked_with_a_pack_split),
        "advised_items_not_receipted": five(&hard.advised_items_not_receipted),
        "holds_left_after_release": five(&hard.holds_left_after_release),
    })
}

/// Seconds spent per phase, in order.
struct Phases<'a>(Vec<(&'static str, f64)>, Instant, &'a Progress);

impl<'a> Phases<'a> {
    fn new(progress: &'a Progress) -> Self {
        Self(Vec::new(), Instant::now(), progress)
    }

    fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        let seconds = (now - self.1).as_secs_f64();
        self.0.push((name, seconds));
        self.1 = now;
        self.2.passed(name, seconds);
    }
}

/// Sells `options.orders` orders (as the storefront: only what commercetools shows) over
/// `over`, posting each order's OrderCreated 1–3 times, a lost share never. Returns the
/// placed orders, the messages sent and the orders refused out of stock.
async fn sell_and_announce(
    bed: &Testbed,
    stack: &LocalStack,
    options: &SoakOptions,
    catalog: &[String],
    over: Duration,
) -> anyhow::Result<(Vec<Value>, usize, usize)> {
    const CHUNK: usize = 50;
    let http = reqwest::Client::new();
    let url = format!("{}{ORDERS_PATH}", stack.server.url);
    let mut rng = fastrand::Rng::with_seed(options.seed ^ 0x5eed);
    let pause = over / u32::try_from(options.orders.div_ceil(CHUNK).max(1)).unwrap_or(1);
    let (mut placed, mut sent, mut refused) = (Vec::new(), 0, 0);
    let mut next = 0;
    // Orders refused for stock do not count; a cap keeps a sold-out catalogue from looping.
    while placed.len() < options.orders && next < options.orders * 3 {
        let end = next + CHUNK.min(options.orders - placed.len());
        let sales = stock_scenario::sell_shaped(bed, next..end, catalog, pause, true).await?;
        refused += sales.refused_out_of_stock;
        let mut bodies = Vec::new();
        for (n, order) in sales.placed.iter().enumerate() {
            if rng.f64() < options.orders_lost {
                continue;
            }
            let i = next + n;
            bodies.push(scenario::platform_message(order, &format!("m-{i}-a")));
            if rng.bool() {
                bodies.push(scenario::cloud_event(order, &format!("m-{i}-b")));
                if rng.bool() {
                    bodies.push(scenario::platform_message(order, &format!("m-{i}-c")));
                }
            }
        }
        rng.shuffle(&mut bodies);
        sent += post_all(&http, &url, bodies).await?;
        placed.extend(sales.placed);
        next = end;
    }
    Ok((placed, sent, refused))
}

/// Posts every body to the orders webhook, 16 at a time, as an at-least-once sender: a 5xx
/// (the queue behind the webhook could not take it) is sent again after a pause. Returns the
/// messages sent; an answer other than 202 after the retries fails the run.
async fn post_all(http: &reqwest::Client, url: &str, bodies: Vec<String>) -> anyhow::Result<usize> {
    const ATTEMPTS: u32 = 6;
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|body| {
            let (http, url) = (http.clone(), url.to_string());
            async move {
                let mut status = 0;
                for attempt in 0..ATTEMPTS {
                    status = http
                        .post(&url)
                        .bearer_auth(DEMO_WEBHOOK_TOKEN)
                        .body(body.clone())
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    if status == 202 || (400..500).contains(&status) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                status
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let refused: Vec<&u16> = statuses.iter().filter(|s| **s != 202).collect();
    anyhow::ensure!(
        refused.is_empty(),
        "the orders webhook refused {} OrderCreated messages after {ATTEMPTS} attempts (statuses {:?})",
        refused.len(),
        refused.iter().take(5).collect::<Vec<_>>()
    );
    Ok(statuses.len())
}

/// What the dead-letter queues hold at the end of the live phase, per queue: how many, by
/// whom (a flow, or the queue's redrive policy: no flow named) and why (the most common
/// reasons, digits blanked so that the same reason counts once).
async fn parked_summary(stack: &LocalStack) -> Value {
    let mut out = serde_json::Map::new();
    for pair in dlq::pairs() {
        let Ok(listing) = dlq::list(stack.queue.as_ref(), pair, 100_000).await else {
            continue;
        };
        let mut by_reason: std::collections::BTreeMap<String, usize> = Default::default();
        for m in &listing.messages {
            let flow = m.flow.as_deref().unwrap_or("redrive policy");
            let reason: String = m
                .reason
                .as_deref()
                .unwrap_or("-")
                .chars()
                .take(120)
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            *by_reason.entry(format!("{flow}: {reason}")).or_default() += 1;
        }
        let mut reasons: Vec<(String, usize)> = by_reason.into_iter().collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
        reasons.truncate(8);
        out.insert(
            pair.dlq.to_string(),
            serde_json::json!({ "count": listing.messages.len(), "reasons": reasons }),
        );
    }
    Value::Object(out)
}

/// Sends every parked message of every dead-letter queue back, as an operator would with
/// `ctpvx dlq redrive`; returns how many.
async fn redrive_all(stack: &LocalStack) -> anyhow::Result<usize> {
    let mut total = 0;
    for pair in dlq::pairs() {
        let report = dlq::redrive(
            stack.queue.as_ref(),
            stack.stores.audit.as_ref(),
            pair,
            &RedriveOptions {
                ids: Vec::new(),
                dry_run: false,
                limit: 100_000,
            },
        )
        .await
        .with_context(|| format!("redriving {}", pair.dlq))?;
        total += report.redriven.len();
    }
    Ok(total)
}

/// The reconciliation flow, built as its function builds it: a build that fails (a
/// commercetools read timing out on a loaded machine) is tried again at the next invocation,
/// up to the reconcile queue's redrive count.
async fn reconcile_flow(bed: &Testbed, stack: &LocalStack) -> anyhow::Result<NightlyReconcile> {
    let mut tries = 1;
    loop {
        match reconcile_scenario::flow(bed, stack).await {
            Ok(flow) => return Ok(flow),
            Err(e) if tries < RECONCILE_MAX_RECEIVE_COUNT => {
                tracing::warn!(error = %e, "reconciliation not built; tried again");
                tries += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One reconciliation run as the reconcile queue carries it: an invocation that fails is
/// delivered again and resumes from the run's last checkpoint, up to the queue's redrive
/// count; then the run's error stands.
async fn reconcile(flow: &NightlyReconcile) -> anyhow::Result<DriftReport> {
    let run = flow.start(&RunOptions::default()).await?;
    let mut failures = 0;
    loop {
        match flow.resume(&run.id, WorkBudget::unlimited(), &Quiet).await {
            Ok(RunProgress::Finished(report) | RunProgress::AlreadyFinished(report)) => {
                return Ok(*report);
            }
            Ok(RunProgress::Paused(_)) => {}
            Ok(RunProgress::Busy) => tokio::time::sleep(Duration::from_millis(200)).await,
            Ok(RunProgress::Unknown) => anyhow::bail!("reconciliation run {} vanished", run.id),
            Err(e) if failures + 1 < RECONCILE_MAX_RECEIVE_COUNT => {
                failures += 1;
                tracing::warn!(error = %e, "reconciliation invocation failed; delivered again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
