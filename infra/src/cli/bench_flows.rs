//! `ctpvx bench` per-flow figures for order-created (export), shipment-confirmed and
//! order-status: events per second one worker sustains and CPU per event, each flow fed in
//! batches of 100 on a thread and runtime of its own ([`bench_cpu`]) while the simulators answer
//! at once on other threads.
//!
//! The Peoplevox budget is lifted to 10,000 requests a second here: what is measured is the
//! flow's own cost, not the budget's waits (the export figures of `bench` measure those).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use ctpvx_infra::local::stack::declare_queues;
use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::app::{self, Stores};
use ctpvx_shared::domain::{ShipmentMessage, StatusMessage};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::InputRecord;
use ctpvx_shared::store::{Queue, now_epoch_ms};

use crate::cli::bench_cpu::{self, Timed};

/// Records per batch (the event source mappings' BatchSize).
const BATCH: usize = 100;

/// A test bed whose Peoplevox budget never binds, and an embedded store with every queue.
pub async fn unbound_bed(items: Vec<String>) -> anyhow::Result<(Testbed, Arc<EmbeddedStore>)> {
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 10_000,
        budget_window: Duration::from_secs(1),
        items,
        ..TestbedOptions::default()
    })
    .await?;
    let store = EmbeddedStore::in_memory()?;
    declare_queues(&store)?;
    Ok((bed, store))
}

/// The stores of a flow, all on the embedded store.
pub fn stores_of(store: &Arc<EmbeddedStore>) -> Stores {
    Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    }
}

/// `count` generated orders in commercetools and their OrderCreated messages as queue records.
pub fn order_records(
    bed: &Testbed,
    count: usize,
    catalog: &[String],
) -> anyhow::Result<Vec<InputRecord>> {
    (0..count)
        .map(|i| {
            let order = scenario::order(i, 1 + i % 4, catalog);
            bed.ct.insert_order_json(order.clone())?;
            Ok(InputRecord {
                id: format!("o-{i}"),
                body: scenario::platform_message(&order, &format!("m-{i}")),
                receive_count: 1,
                requeues: 0,
                receipt: None,
            })
        })
        .collect()
}

/// Exports `count` generated orders (on the caller's runtime: set-up, not measured).
pub async fn exported_orders(
    bed: &Testbed,
    store: &Arc<EmbeddedStore>,
    count: usize,
    catalog: &[String],
) -> anyhow::Result<()> {
    let records = order_records(bed, count, catalog)?;
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone())?;
    let export = app::order_export(&bed.config, &stores_of(store), ct, pvx).await?;
    for chunk in records.chunks(BATCH) {
        export.export_batch(chunk, i64::MAX).await;
    }
    anyhow::ensure!(
        bed.pvx.sales_orders().len() == count,
        "set-up: {} of {count} orders reached Peoplevox",
        bed.pvx.sales_orders().len()
    );
    Ok(())
}

/// The figures of one measured flow.
fn figures<R: serde::Serialize>(
    flow: &str,
    timed: &Timed<R>,
    events: usize,
) -> anyhow::Result<serde_json::Value> {
    let mut value = timed.per_event(events);
    value["flow"] = flow.into();
    value["batch_size"] = BATCH.into();
    value["report"] = serde_json::to_value(&timed.value)?;
    Ok(value)
}

/// order-created: OrderCreated messages → Peoplevox sales orders and the commercetools mark,
/// with the stock rechecks the Lambda queues for exported items.
pub async fn export(orders: usize) -> anyhow::Result<serde_json::Value> {
    let catalog = scenario::catalog(50);
    let (bed, store) = unbound_bed(catalog.clone()).await?;
    let records = order_records(&bed, orders, &catalog)?;
    let (config, secrets, state) = (bed.config.clone(), bed.secrets.clone(), store.clone());
    let timed = bench_cpu::flow_batches(records, BATCH, move || async move {
        let (ct, pvx) = app::clients(&config, &secrets, state.clone())?;
        let hints: Arc<dyn Queue> = state.clone();
        Ok(app::order_export(&config, &stores_of(&state), ct, pvx)
            .await?
            .with_stock_hints(Some(hints)))
    })
    .await?;
    let mut value = figures("order-created", &timed, orders)?;
    value["peoplevox_requests"] = bed.pvx.request_count().into();
    Ok(value)
}

/// shipment-confirmed: one tracking callback per despatch (one despatch per exported order,
/// one tracked package) → a delivery with its parcel on the order.
pub async fn shipments(despatches: usize) -> anyhow::Result<serde_json::Value> {
    let catalog = scenario::catalog(20);
    let (bed, store) = unbound_bed(catalog.clone()).await?;
    exported_orders(&bed, &store, despatches, &catalog).await?;
    let mut records = Vec::with_capacity(despatches);
    for order in bed.pvx.sales_orders() {
        let plan = DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]);
        let despatch = bed.pvx.despatch(&order.number, plan)?.number;
        let id = format!("d-{despatch}");
        records.push(InputRecord {
            body: ShipmentMessage {
                id: id.clone(),
                event: "tracking".into(),
                despatch,
                order: None,
                tracking: None,
                package: None,
                carrier: None,
                service: None,
                service_code: None,
                received_at_ms: now_epoch_ms(),
            }
            .to_json(),
            id,
            receive_count: 1,
            requeues: 0,
            receipt: None,
        });
    }
    bed.ct.reset_counters();
    bed.pvx.reset_counters();
    let (config, secrets, state) = (bed.config.clone(), bed.secrets.clone(), store.clone());
    let timed = bench_cpu::flow_batches(records, BATCH, move || async move {
        let (ct, pvx) = app::clients(&config, &secrets, state.clone())?;
        Ok(app::shipment_confirmed(&config, &stores_of(&state), ct, pvx).await?)
    })
    .await?;
    let mut value = figures("shipment-confirmed", &timed, despatches)?;
    value["commercetools_requests"] = bed.ct.request_count().into();
    value["peoplevox_requests"] = bed.pvx.request_count().into();
    Ok(value)
}

/// order-status: two status callbacks per exported order, `Picking` for every order and then
/// `Packed` for every order (so that a batch holds 100 different orders, each written once).
pub async fn statuses(orders: usize) -> anyhow::Result<serde_json::Value> {
    let catalog = scenario::catalog(20);
    let (bed, store) = unbound_bed(catalog.clone()).await?;
    exported_orders(&bed, &store, orders, &catalog).await?;
    let numbers: Vec<String> = bed
        .pvx
        .sales_orders()
        .into_iter()
        .map(|o| o.number)
        .collect();
    let mut records = Vec::with_capacity(2 * orders);
    for status in ["Picking", "Packed"] {
        for number in &numbers {
            let id = format!("s-{status}-{number}");
            records.push(InputRecord {
                body: StatusMessage::PeoplevoxStatus {
                    id: id.clone(),
                    order: number.clone(),
                    status: Some(status.into()),
                    modified: None,
                    on_hold: None,
                    received_at_ms: now_epoch_ms(),
                }
                .to_json(),
                id,
                receive_count: 1,
                requeues: 0,
                receipt: None,
            });
        }
    }
    let events = records.len();
    bed.ct.reset_counters();
    let (config, secrets, state) = (bed.config.clone(), bed.secrets.clone(), store.clone());
    let timed = bench_cpu::flow_batches(records, BATCH, move || async move {
        let (ct, pvx) = app::clients(&config, &secrets, state.clone())?;
        Ok(app::order_status(&config, &stores_of(&state), ct, pvx).await?)
    })
    .await?;
    let mut value = figures("order-status", &timed, events)?;
    value["commercetools_requests"] = bed.ct.request_count().into();
    Ok(value)
}

/// The stock flow's figures as [`crate::cli::bench_stock`] measured them, in this section's
/// shape (batches of 100, no added latency).
pub fn stock_from(runs: &serde_json::Value) -> Option<serde_json::Value> {
    let run = runs
        .as_array()?
        .iter()
        .find(|r| r["batch_size"] == json!(BATCH) && r["latency_ms"] == json!(0))?;
    Some(json!({
        "flow": "stock-delta",
        "events": run["events"],
        "batch_size": BATCH,
        "elapsed_s": run["stream_elapsed_s"],
        "events_per_second_one_worker": run["events_per_second_one_worker"],
        "cpu_us_per_event": run["worker_cpu_us_per_event"],
        "cpu_clock": run["cpu_clock"],
        "from": "stock[batch_size=100, latency_ms=0]",
    }))
}
