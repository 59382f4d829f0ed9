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
//!
//! The pipeline is either this process's workers ([`in_process`]) or the shipped function
//! binaries on the local stack ([`on_stack`], `ctpvx soak --stack`).

pub mod chaos;
pub mod engine;
pub mod in_process;
pub mod invariants;
pub mod on_stack;
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
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::ORDERS_PATH;

use crate::local::drain::Drains;
use crate::local::lambda_limits::LambdaLimits;
use crate::local::worker::Chance;
use crate::local::{LocalStack, StackOptions};
use crate::operator::dlq::{self, RedriveOptions};
use crate::testbed::{DEMO_WEBHOOK_TOKEN, STOCK_SITES, Testbed, TestbedOptions};
use crate::{scenario, shipment_scenario, status_scenario, stock_scenario};

pub use chaos::FaultRates;
use engine::Engine;
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
    /// The function binaries on the local stack, on moto ([`on_stack`]).
    Stack(on_stack::StackSource),
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
        ..TestbedOptions::default()
    })
    .await?;
    let mut config = bed.config.clone();
    // A hung request costs the client its timeout: shorter than production's, so that the
    // soak's 5% of hangs cost seconds, not hours; the simulators hang longer than this.
    config.commercetools.timeout_ms = CLIENT_TIMEOUT_MS;
    config.peoplevox.timeout_ms = CLIENT_TIMEOUT_MS;
    let scale = options.function_time_scale.unwrap_or(options.compress);
    let limits = Arc::new(LambdaLimits::new(scale, options.seed));
    if options.function_timeouts {
        limits.check_fits(&config).map_err(anyhow::Error::msg)?;
    }
    let (engine, label): (Box<dyn Engine>, String) = match &backend {
        SoakBackend::Stack(source) => {
            let text = stack_config_text(&bed.config_text, scale)?;
            let engine = on_stack::OnStack::start(&bed, text, source, scale, options.seed).await?;
            let (_, pvx) =
                ctpvx_shared::app::clients(&config, &bed.secrets, engine.stores().state.clone())?;
            bed.subscribe(&pvx, engine.stores().state.as_ref(), &engine.stack.url)
                .await?;
            (Box::new(engine), format!("stack (moto at {})", source.aws))
        }
        _ => {
            let engine = in_process(&options, &backend, &config, &bed, limits.clone()).await?;
            bed.subscribe(
                &engine.stack.pvx,
                engine.stack.stores.state.as_ref(),
                &engine.stack.server.url,
            )
            .await?;
            let label = match &backend {
                SoakBackend::Aws(endpoints) => format!("aws ({endpoints})"),
                _ => "embedded".to_string(),
            };
            (Box::new(engine), label)
        }
    };
    let progress = Progress::new(options.progress_every_s > 0);
    let every = Duration::from_secs(options.progress_every_s.max(1));
    let run = Run {
        bed: &bed,
        engine: engine.as_ref(),
        options: &options,
        catalog: &catalog,
        progress: &progress,
    };
    let driving = async {
        let result = run.drive().await;
        progress.finish();
        result
    };
    let (result, ()) = tokio::join!(driving, progress.report(&bed, engine.as_ref(), every));
    engine.stop().await;
    let (invariants, figures) = result?;
    Ok(SoakOutcome {
        backend: label,
        options,
        invariants,
        figures,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// The soak's client timeouts (ms).
const CLIENT_TIMEOUT_MS: u64 = 500;

/// The test bed's configuration with the soak's client timeouts, and a reconciliation whose
/// order sweep takes orders of any age (the soak's lost orders are seconds old) and that stops
/// before its deadline by as much less as its function's Timeout is scaled down, as the
/// function binaries read it.
fn stack_config_text(text: &str, time_scale: u32) -> anyhow::Result<String> {
    let mut table: toml::Table = text.parse()?;
    for section in ["commercetools", "peoplevox"] {
        if let Some(toml::Value::Table(t)) = table.get_mut(section) {
            t.insert(
                "timeout_ms".into(),
                toml::Value::Integer(CLIENT_TIMEOUT_MS as i64),
            );
        }
    }
    let reconcile = table
        .entry("reconcile")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = reconcile {
        t.insert("order_grace_s".into(), toml::Value::Integer(0));
        let stop = ctpvx_shared::config::ReconcileRules::default().stop_before_deadline_s;
        let scaled = stop.div_ceil(u64::from(time_scale.max(1))).max(1);
        t.insert(
            "stop_before_deadline_s".into(),
            toml::Value::Integer(i64::try_from(scaled).unwrap_or(1)),
        );
    }
    Ok(toml::to_string(&table)?)
}

/// The in-process workers on the embedded store or moto, with the soak's fault switches.
async fn in_process(
    options: &SoakOptions,
    backend: &SoakBackend,
    config: &ctpvx_shared::config::Config,
    bed: &Testbed,
    limits: Arc<LambdaLimits>,
) -> anyhow::Result<in_process::InProcess> {
    let (stores, inner) = match backend {
        SoakBackend::Aws(endpoints) => crate::aws_emulator::fresh_stores(endpoints).await?,
        _ => {
            let store = EmbeddedStore::in_memory()?;
            crate::local::stack::declare_queues(&store)?;
            let stores = Stores {
                state: store.clone(),
                idempotency: store.clone(),
                audit: store.clone(),
            };
            let queue: Arc<dyn Queue> = store;
            (stores, queue)
        }
    };
    let tally = Arc::new(TallyQueue::new(inner));
    // Off while the opening stock settles; on with the other faults.
    let kill = Arc::new(Chance::new(0.0, options.seed));
    let late = Arc::new(AtomicU64::new(0));
    let visibility = Duration::from_secs(options.visibility_s.max(1));
    if options.function_timeouts {
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
        config,
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
    Ok(in_process::InProcess {
        stack,
        tally,
        kill,
        late,
        limits,
    })
}

/// Everything one run needs after its stack is up.
struct Run<'a> {
    bed: &'a Testbed,
    engine: &'a dyn Engine,
    options: &'a SoakOptions,
    catalog: &'a [String],
    progress: &'a Progress,
}

impl Run<'_> {
    /// The scenario, the net, then the checker: the invariants and the figures.
    async fn drive(&self) -> anyhow::Result<(Invariants, Value)> {
        let Run {
            bed,
            engine,
            options,
            catalog,
            progress,
        } = *self;
        let stack: &dyn Drains = engine;
        let url = engine.url();
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
        engine.faults_on(&options.faults);
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
            let selling = sell_and_announce(bed, &url, options, catalog, over);
            let (movements, sold) = tokio::join!(moving, selling);
            phases.mark("sell_and_move");
            let settled = stock_scenario::settle(bed, stack, limit).await;
            phases.mark("settle_live");
            let mut work =
                status_scenario::work_orders_shaped(bed, &url, Duration::from_millis(500), true)
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
        engine.faults_off();

        // The net: redrive what was parked, reconcile twice, drain.
        let parked_during_run = parked_summary(engine).await;
        let parked = redrive_all(engine).await?;
        let mut settled = stock_scenario::settle(bed, stack, limit).await;
        phases.mark("redrive");
        let first = engine.reconcile(bed).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        let second = engine.reconcile(bed).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        let parked_after = redrive_all(engine).await?;
        settled &= stock_scenario::settle(bed, stack, limit).await;
        phases.mark("reconcile");

        let invariants = invariants::check(
            bed,
            &invariants::Observed {
                placed: &placed,
                work: &work,
                tally: engine.tally(),
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
        let never_exported = never_exported_trails(bed, engine, &placed).await;
        let mut still_parked = Vec::new();
        for pair in dlq::pairs() {
            if let Ok(listing) = dlq::list(engine.queues(), pair, 20).await {
                still_parked.push(dlq::list_json(&listing));
            }
        }
        let (unsettled_by_queue, unaccounted_examples) = engine.unsettled();
        let mut figures = serde_json::json!({
            "settled": { "opening": opened, "live": live_settled, "after_reconcile": settled },
            "orders": {
                "placed": placed.len(),
                "refused_out_of_stock": refused,
                "order_created_messages_sent": announced,
            },
            "stock": {
                "movements": movements.total(),
                "callbacks_sent": bed.pvx.callbacks_sent(),
                "callbacks_repeated": bed.pvx.callbacks_duplicated(),
                "callbacks_lost": bed.pvx.callbacks_dropped(),
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
                "peoplevox_sessions_expired": sessions_expired,
                "requests_during_faults": { "commercetools": faulty_requests.0, "peoplevox": faulty_requests.1 },
            },
            "net": {
                "parked_then_redriven": parked,
                "parked_after_reconcile": parked_after,
                "reconcile_updates": first.updated + second.updated,
                "reconcile_orders_requeued": first.orders_requeued + second.orders_requeued,
                "reconcile_despatches_requeued": first.despatches_requeued + second.despatches_requeued,
                "reconcile_failed": first.failed + second.failed,
            },
            "queues": engine.tally(),
            "unsettled_by_queue": unsettled_by_queue,
            "parked_during_run": parked_during_run,
            "unaccounted_examples": unaccounted_examples,
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
        engine.add_figures(&mut figures).await;
        Ok((invariants, figures))
    }
}

/// The audit trail of up to 5 orders that never reached Peoplevox with their mark: what each
/// flow did with them, so that a failed run says why.
async fn never_exported_trails(bed: &Testbed, engine: &dyn Engine, placed: &[Value]) -> Vec<Value> {
    let audit = engine.audit();
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
        let trail: Vec<Value> = audit
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
    base: &str,
    options: &SoakOptions,
    catalog: &[String],
    over: Duration,
) -> anyhow::Result<(Vec<Value>, usize, usize)> {
    const CHUNK: usize = 50;
    let http = reqwest::Client::new();
    let url = format!("{base}{ORDERS_PATH}");
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
async fn parked_summary(engine: &dyn Engine) -> Value {
    let mut out = serde_json::Map::new();
    for pair in dlq::pairs() {
        let Ok(listing) = dlq::list(engine.queues(), pair, 100_000).await else {
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
async fn redrive_all(engine: &dyn Engine) -> anyhow::Result<usize> {
    let mut total = 0;
    let audit = engine.audit();
    for pair in dlq::pairs() {
        let report = dlq::redrive(
            engine.queues(),
            audit.as_ref(),
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
