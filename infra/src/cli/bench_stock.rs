//! `ctpvx bench` stock figures:
//! - commercetools requests per 1,000 stock events when half the events change nothing
//!   (reads included: unexported orders, inventory entries, and the confirming re-reads);
//! - events per second one worker sustains with 20 ms added to every simulator answer;
//! - CPU time per event of the worker: the flow, its HTTP clients and the SQLite store, on a
//!   thread of its own (the simulators run elsewhere).
//!
//! Events are AvailabilityChanges over 1,000 SKUs at 3 sites, fed batch by batch as SQS hands
//! them to a Lambda; each event either repeats its pair's current figure (a no-op) or moves it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use ctpvx_infra::testbed::{STOCK_SITES, Testbed, TestbedOptions};
use ctpvx_shared::app::{self, Stores};
use ctpvx_shared::domain::StockMessage;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::InputRecord;
use ctpvx_shared::store::{Queue, now_epoch_ms};

use ctpvx_infra::local::stack::{STOCK_QUEUE, declare_queues};
use ctpvx_infra::local::worker::{self, WorkerOptions};

use crate::cli::bench_cpu;

/// SKUs per site in the stream.
const SKUS: usize = 1000;

/// One stock run's parameters.
pub struct StockRun {
    /// Events fed.
    pub events: usize,
    /// Records per batch.
    pub batch: usize,
    /// Latency added to every simulator answer.
    pub latency: Duration,
}

/// Runs one measurement and returns its figures.
pub async fn run(spec: StockRun) -> anyhow::Result<serde_json::Value> {
    let bed = Testbed::start(TestbedOptions {
        // The confirming re-reads are the only Peoplevox calls, and not what is measured: the
        // budget window is compressed to 1 s so they do not dominate the run time.
        budget_requests: 15,
        budget_window: Duration::from_secs(1),
        confirm_after_s: 1,
        ..TestbedOptions::default()
    })
    .await?;
    let store = EmbeddedStore::in_memory()?;
    declare_queues(&store)?;
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone())?;
    let queue: Arc<dyn Queue> = store.clone();
    // The flow that takes the confirming re-reads afterwards.
    let flow = app::stock_delta(&bed.config, &stores, ct, pvx, Some(queue)).await?;

    // Opening position: Peoplevox and commercetools agree on every pair.
    let mut figures: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for (s, (site, _)) in STOCK_SITES.iter().enumerate() {
        let channel = &bed.site_channels[*site];
        for k in 0..SKUS {
            let sku = sku(k);
            let figure = 20 + (k % 40) as i64;
            bed.pvx.set_stock(site, &sku, figure, figure);
            bed.ct.insert_inventory(&sku, Some(channel), figure)?;
            figures.insert((s, k), figure);
        }
    }
    bed.ct.faults().set_latency(spec.latency);
    bed.pvx.faults().set_latency(spec.latency);
    bed.ct.reset_counters();

    let mut rng = fastrand::Rng::with_seed(42);
    // Receipt times in the recent past, one per event, in stream order.
    let first_at = now_epoch_ms() - spec.events as i64;
    let mut changes = 0;
    let mut records = Vec::with_capacity(spec.events);
    for n in 0..spec.events {
        let (s, k) = (rng.usize(..STOCK_SITES.len()), rng.usize(..SKUS));
        let figure = figures.get_mut(&(s, k)).expect("seeded");
        if n % 2 == 1 {
            *figure += if rng.bool() {
                rng.i64(1..=5)
            } else {
                -rng.i64(1..=5)
            };
            *figure = (*figure).max(0);
            changes += 1;
        }
        let site = STOCK_SITES[s].0;
        bed.pvx.set_stock(site, &sku(k), *figure, *figure);
        records.push(InputRecord {
            id: format!("e-{n}"),
            body: StockMessage::Available {
                id: format!("e-{n}"),
                site: site.into(),
                item: sku(k),
                available: *figure,
                received_at_ms: first_at + n as i64,
            }
            .to_json(),
            receive_count: 1,
            requeues: 0,
            receipt: None,
        });
    }

    // The worker runs alone on its own thread and single-threaded runtime, as in a Lambda, so
    // that its CPU time can be told apart from the simulators'.
    let (config, secrets, state) = (bed.config.clone(), bed.secrets.clone(), store.clone());
    let stream = bench_cpu::flow_batches(records, spec.batch, move || async move {
        let stores = Stores {
            state: state.clone(),
            idempotency: state.clone(),
            audit: state.clone(),
        };
        let (ct, pvx) = app::clients(&config, &secrets, state.clone())?;
        let queue: Arc<dyn Queue> = state.clone();
        Ok(app::stock_delta(&config, &stores, ct, pvx, Some(queue)).await?)
    })
    .await?;
    let (mut totals, stream_elapsed, worker_cpu) = (stream.value, stream.elapsed, stream.cpu);
    let stream_requests = bed.ct.request_count();
    // The confirming re-reads come due a second later; one worker takes them as Lambda would.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let options = WorkerOptions {
        retry: ctpvx_shared::queues::retry_policy(STOCK_QUEUE),
        batch_size: 100,
        visibility: Duration::from_secs(60),
        timeout: Duration::from_secs(60),
        idle_pause: Duration::from_millis(10),
        kill: None,
        late: None,
    };
    loop {
        let messages = worker::gather(store.as_ref(), &options).await;
        if messages.is_empty() {
            break;
        }
        let report =
            worker::run_batch(&flow, store.as_ref(), store.as_ref(), &options, messages).await;
        totals.absorb(&report);
    }
    let requests = bed.ct.request_count();
    let mismatches = ctpvx_infra::checks::stock::mismatches(&bed).len();
    let events = spec.events as f64;
    Ok(json!({
        "events": spec.events,
        "no_op_share": 1.0 - changes as f64 / events,
        "batch_size": spec.batch,
        "latency_ms": spec.latency.as_millis() as u64,
        "commercetools_requests": requests,
        "commercetools_requests_per_1000_events": requests as f64 * 1000.0 / events,
        "commercetools_requests_per_1000_events_without_confirms": stream_requests as f64 * 1000.0 / events,
        "writes": totals.writes + totals.created,
        "skipped_unchanged": totals.skipped_unchanged,
        "stale": totals.stale,
        "confirm_rereads": totals.rereads,
        "peoplevox_requests": bed.pvx.request_count(),
        "events_per_second_one_worker": events / stream_elapsed.as_secs_f64(),
        "stream_elapsed_s": stream_elapsed.as_secs_f64(),
        "worker_cpu_us_per_event": worker_cpu.map(|c| c.as_secs_f64() * 1e6 / events),
        "cpu_clock": bench_cpu::clock_name(),
        "mismatches_after": mismatches,
    }))
}

fn sku(k: usize) -> String {
    format!("STK-{k:05}")
}
