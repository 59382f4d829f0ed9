//! The nightly reconciliation end to end against both simulators: lost stock callbacks are
//! repaired to the stock flow's own targets, a dry run changes nothing and reports the same
//! differences, an interrupted run resumes at its checkpoint through the reconcile queue
//! without reading or writing anything twice, an item at a page's edge is neither stale nor
//! counted twice when the run resumes later, orders and despatches whose events were lost
//! are re-queued and booked exactly once, and statuses and cancellations that never reached
//! the other side are re-queued and applied by the status flow.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ctpvx_infra::checks;
use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan, ReturnLine};
use ctpvx_infra::testbed::{STOCK_SITES, Testbed};
use ctpvx_shared::app::Stores;
use ctpvx_shared::config::Config;
use ctpvx_shared::domain::StockMessage;
use ctpvx_shared::domain::sellable;
use ctpvx_shared::flows::nightly_reconcile::report::Drift;
use ctpvx_shared::flows::nightly_reconcile::{
    DriftReport, NightlyReconcile, Observer, Progress, Quiet, RUNS_ENTITY, RunOptions, WorkBudget,
};
use ctpvx_shared::flows::stock_delta::ledger_row;
use ctpvx_shared::queues::{
    ORDERS_DLQ, ORDERS_QUEUE, RECONCILE_DLQ, RECONCILE_QUEUE, SHIPMENTS_QUEUE, STATUS_DLQ,
    STATUS_QUEUE,
};
use ctpvx_shared::store::{AuditLog, Queue, now_epoch_ms};
use ctpvx_tests::{
    STOCK_QUEUE, inventory_writes, queue_options, reconcile_flow, reconcile_flow_on,
    run_shipment_batch, run_status_batch, run_stock_batch, shipment_flow, status_flow, stock_flow,
    store,
};

/// Sites of the test bed.
fn sites() -> Vec<String> {
    STOCK_SITES.iter().map(|(s, _)| s.to_string()).collect()
}

/// A test bed where commercetools shows every item of a 20-item catalogue (and the pack
/// `SOCK-3PK`) at its target at every site: in sync, as the live flows leave it.
async fn in_sync() -> (Testbed, Vec<String>) {
    let catalog = scenario::catalog(20);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let mut entries = Vec::new();
    for (s, site) in sites().iter().enumerate() {
        let channel = bed.site_channels[site].clone();
        for (i, item) in catalog.iter().enumerate() {
            let available = (i as i64 * 7 + s as i64 * 3) % 40;
            bed.pvx.set_stock(site, item, available, available);
            for (sku, factor) in [(item.clone(), 1), (format!("{item}-3PK"), 3)] {
                if factor == 3 && item != "SOCK" {
                    continue;
                }
                entries.push((
                    sku,
                    Some(channel.clone()),
                    sellable(available, 0, 0, factor),
                ));
            }
        }
    }
    bed.ct.insert_inventory_bulk(entries).unwrap();
    assert!(checks::stock::mismatches(&bed).is_empty());
    (bed, catalog)
}

/// Peoplevox moves stock that commercetools never hears of: every third item at every site.
fn lose_callbacks(bed: &Testbed, catalog: &[String]) -> usize {
    let mut moved = 0;
    for site in sites() {
        for item in catalog.iter().step_by(3) {
            let now = bed.pvx.stock(&site, item).map_or(0, |s| s.available);
            bed.pvx.set_stock(&site, item, now + 11, now + 11);
            moved += 1;
        }
    }
    moved
}

/// Entries off target, ignoring the items that exist on one side only.
fn off_target(bed: &Testbed) -> Vec<checks::stock::Mismatch> {
    checks::stock::mismatches(bed)
        .into_iter()
        .filter(|m| m.actual.is_some())
        .collect()
}

fn config(bed: &Testbed, adjust: impl FnOnce(&mut Config)) -> Config {
    let mut config = bed.config.clone();
    adjust(&mut config);
    config
}

fn stock_only() -> RunOptions {
    RunOptions {
        skip_orders: true,
        skip_despatches: true,
        skip_statuses: true,
        ..RunOptions::default()
    }
}

/// Collects what a run reports as it goes.
#[derive(Default)]
struct Seen {
    differences: Mutex<Vec<Drift>>,
    requeued: Mutex<Vec<(String, String)>>,
}

impl Observer for Seen {
    fn difference(&self, drift: &Drift) {
        self.differences.lock().unwrap().push(drift.clone());
    }
    fn requeued(&self, kind: &str, id: &str) {
        self.requeued.lock().unwrap().push((kind.into(), id.into()));
    }
}

fn compared(seen: &Seen) -> Vec<(String, String, i64, i64)> {
    let mut rows: Vec<_> = seen
        .differences
        .lock()
        .unwrap()
        .iter()
        .map(|d| {
            let d = &d.difference;
            (d.site.clone(), d.sku.clone(), d.current, d.target)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reconcile_after_lost_callbacks_restores_every_quantity() {
    let (bed, catalog) = in_sync().await;
    let moved = lose_callbacks(&bed, &catalog);
    // Someone also changed commercetools by hand, and each side has an item the other lacks.
    let uk = bed.site_channels["UK-DC"].clone();
    let hand = bed.ct.inventory_entry("SKU-0002", Some(&uk)).unwrap();
    bed.ct
        .apply_inventory_actions(
            &hand.id,
            vec![serde_json::json!({"action": "removeQuantity", "quantity": 2})],
        )
        .unwrap();
    bed.pvx.set_stock("UK-DC", "PVX-ONLY", 9, 9);
    bed.ct.insert_inventory("CT-ONLY", Some(&uk), 4).unwrap();
    let expected_drift = off_target(&bed).len();
    assert!(
        expected_drift > moved,
        "{expected_drift} entries off target"
    );

    let store = store();
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let writes_before = inventory_writes(&bed);
    let report = flow.run_to_end(&stock_only(), &Quiet).await.unwrap();

    assert!(off_target(&bed).is_empty(), "{:?}", off_target(&bed));
    assert_eq!(
        report.drift_before(),
        expected_drift,
        "{}",
        report.summary()
    );
    assert_eq!(report.updated(), expected_drift);
    assert_eq!(
        inventory_writes(&bed) - writes_before,
        expected_drift as u64
    );
    assert_eq!(report.remaining(), 0);
    assert_eq!(report.failed(), 0, "{:?}", report.failures);
    // 21 items and the pack at 3 sites, plus the commercetools-only entry.
    assert_eq!(report.processed(), 3 * 22);
    let uk_drift = &report.stock["UK-DC"];
    assert_eq!(uk_drift.only_in_peoplevox_examples, ["PVX-ONLY"]);
    assert_eq!(uk_drift.only_in_commercetools_examples, ["CT-ONLY"]);
    // Reported, not invented: neither side's lone item is touched.
    assert!(bed.ct.inventory_entry("PVX-ONLY", Some(&uk)).is_none());
    assert_eq!(
        bed.ct
            .inventory_entry("CT-ONLY", Some(&uk))
            .unwrap()
            .quantity_on_stock,
        4
    );
    // The repair went through the stock flow's ledger, so a late callback cannot undo it.
    let row = ledger_row(store.as_ref(), "UK-DC", "SKU-0001")
        .await
        .unwrap()
        .expect("ledger row of a repaired pair");
    assert_eq!(row.figure.source, "reconcile");
    assert!(row.synced());
    // The report is in the audit log, and the run is listed.
    let audit = store
        .list(&format!("reconcile#{}", report.run), 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let stored: DriftReport = serde_json::from_value(audit[0].detail.clone()).unwrap();
    assert_eq!(stored.drift_before(), expected_drift);
    assert!(!store.list(RUNS_ENTITY, 10).await.unwrap().is_empty());

    // A second run finds nothing left to do.
    let again = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..stock_only()
            },
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(again.drift_before(), 0, "{}", again.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dry_run_changes_nothing_and_reports_the_same_differences() {
    let (bed, catalog) = in_sync().await;
    lose_callbacks(&bed, &catalog);
    let store = store();
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let before: BTreeMap<String, (i64, i64)> = bed
        .ct
        .inventory_entries()
        .into_iter()
        .map(|e| (e.id, (e.version, e.quantity_on_stock)))
        .collect();
    let dry = Seen::default();
    let report = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..stock_only()
            },
            &dry,
        )
        .await
        .unwrap();
    let after: BTreeMap<String, (i64, i64)> = bed
        .ct
        .inventory_entries()
        .into_iter()
        .map(|e| (e.id, (e.version, e.quantity_on_stock)))
        .collect();
    assert_eq!(before, after, "a dry run wrote to commercetools");
    assert_eq!(report.updated(), 0);
    assert_eq!(report.remaining(), report.drift_before());
    assert!(
        ledger_row(store.as_ref(), "UK-DC", "SKU-0001")
            .await
            .unwrap()
            .is_none(),
        "a dry run wrote the ledger"
    );
    assert!(
        dry.differences
            .lock()
            .unwrap()
            .iter()
            .all(|d| d.resolution == "not-written")
    );

    let real = Seen::default();
    let repaired = flow.run_to_end(&stock_only(), &real).await.unwrap();
    assert_eq!(compared(&dry), compared(&real));
    assert!(!compared(&dry).is_empty());
    assert_eq!(repaired.updated(), report.drift_before());
    assert!(off_target(&bed).is_empty());
}

/// Runs the reconcile queue like its event source mapping: one message a batch, until empty.
async fn drain_reconcile_queue(
    flow: &NightlyReconcile,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
) -> usize {
    // A Lambda of 30 s: each invocation stops on its unit budget long before its deadline.
    let options = ctpvx_infra::local::worker::WorkerOptions {
        visibility: std::time::Duration::from_secs(30),
        timeout: std::time::Duration::from_secs(30),
        ..queue_options(RECONCILE_QUEUE, RECONCILE_DLQ, 1)
    };
    let mut batches = 0;
    loop {
        let messages = ctpvx_infra::local::worker::gather(queue, &options).await;
        if messages.is_empty() {
            return batches;
        }
        batches += 1;
        assert!(batches < 100, "the run never ends");
        let report =
            ctpvx_infra::local::worker::run_batch(flow, queue, audit, &options, messages).await;
        assert_eq!(
            report.records.retried + report.records.dead_lettered,
            0,
            "{report:?}"
        );
    }
}

/// A run interrupted every 2 units, continued through the reconcile queue, on these stores.
async fn interrupted_run(stores: Stores, queue: Arc<dyn Queue>) {
    let (bed, catalog) = in_sync().await;
    lose_callbacks(&bed, &catalog);
    let uk = bed.site_channels["UK-DC"].clone();
    bed.ct.insert_inventory("CT-ONLY", Some(&uk), 4).unwrap();
    let drift = off_target(&bed).len();
    // 21 items a site at 5 a page: 5 pages per site; one page at a time, no reading ahead,
    // and every invocation stops after 2 units, as if its time ran out.
    let config = config(&bed, |c| {
        c.reconcile.page_size = 5;
        c.reconcile.read_ahead = 1;
        c.reconcile.stop_before_deadline_s = 5;
    });
    let flow = reconcile_flow_on(&bed, &config, stores.clone(), queue.clone())
        .await
        .with_units_per_invocation(Some(2));
    bed.pvx.reset_counters();
    let writes_before = inventory_writes(&bed);
    let (state, audit) = (stores.state.as_ref(), stores.audit.as_ref());

    let run = flow
        .start(&RunOptions {
            id: Some("nightly-test".into()),
            ..stock_only()
        })
        .await
        .unwrap();
    flow.hand_on(queue.as_ref(), &run.id).await.unwrap();
    let invocations = drain_reconcile_queue(&flow, queue.as_ref(), audit).await;

    let finished = ctpvx_shared::flows::nightly_reconcile::run::load(state, &run.id)
        .await
        .unwrap()
        .unwrap()
        .state;
    let report = &finished.report;
    assert!(finished.finished(), "{finished:?}");
    // 15 pages and 3 scans, 2 units an invocation.
    assert_eq!(invocations, 9, "{}", report.summary());
    assert_eq!(report.invocations, 9);
    for site in sites() {
        assert_eq!(report.stock[&site].pages, 5, "{site}");
        assert_eq!(report.stock[&site].items, 21, "{site}");
    }
    // Every page read once, every differing entry written once, nothing left off target.
    let reads = bed
        .pvx
        .requests_by_operation()
        .get("GetReportData")
        .copied()
        .unwrap_or(0);
    assert_eq!(reads, 15);
    assert_eq!(report.drift_before(), drift);
    assert_eq!(inventory_writes(&bed) - writes_before, drift as u64);
    assert!(off_target(&bed).is_empty());
    assert_eq!(report.stock["UK-DC"].only_in_commercetools, 1);
    assert_eq!(queue.depth(RECONCILE_DLQ).await.unwrap().visible, 0);
    // An invocation without time for a single unit says so instead of handing on for ever.
    let late = flow.start(&stock_only()).await.unwrap();
    let past = ctpvx_shared::flows::nightly_reconcile::WorkBudget {
        stop_at_ms: 0,
        max_units: None,
    };
    let err = flow.resume(&late.id, past, &Quiet).await.unwrap_err();
    assert!(err.to_string().contains("stop_before_deadline_s"), "{err}");
    // A duplicate message about the finished run changes nothing.
    flow.hand_on(queue.as_ref(), &run.id).await.unwrap();
    assert_eq!(drain_reconcile_queue(&flow, queue.as_ref(), audit).await, 1);
    let reads_after = bed
        .pvx
        .requests_by_operation()
        .get("GetReportData")
        .copied();
    assert_eq!(reads_after, Some(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_run_resumes_from_its_checkpoint_without_redoing_or_skipping_work() {
    let store = store();
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    interrupted_run(stores, store).await;
}

/// The same on DynamoDB and SQS (moto): checkpoints, leases, the ledger and the hand-on
/// through a real queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_run_resumes_on_dynamodb_and_sqs() {
    let (stores, queue) = ctpvx_tests::aws_stores().await;
    interrupted_run(stores, queue).await;
}

/// Starts a stock run at UK-DC, 5 rows a page, and compares page 1 only, as an invocation
/// whose time ran out after it would; returns the flow, the run id and the item held back at
/// the page's end.
async fn first_page_only(
    bed: &Testbed,
    store: &Arc<ctpvx_shared::embedded::EmbeddedStore>,
) -> (NightlyReconcile, String, String) {
    let config = config(bed, |c| {
        c.reconcile.page_size = 5;
        c.reconcile.read_ahead = 1;
    });
    let flow = reconcile_flow(bed, &config, store).await;
    let run = flow
        .start(&RunOptions {
            sites: Some(vec!["UK-DC".into()]),
            ..stock_only()
        })
        .await
        .unwrap();
    let one_page = WorkBudget {
        stop_at_ms: i64::MAX,
        max_units: Some(1),
    };
    let paused = flow.resume(&run.id, one_page, &Quiet).await.unwrap();
    assert!(matches!(paused, Progress::Paused(_)), "{paused:?}");
    let checkpoint = ctpvx_shared::flows::nightly_reconcile::run::load(store.as_ref(), &run.id)
        .await
        .unwrap()
        .unwrap()
        .state;
    let (carried, _) = checkpoint
        .cursor
        .carry
        .expect("page 1 holds its last item back");
    (flow, run.id, carried)
}

/// Resumes `run` to its end.
async fn rest_of(flow: &NightlyReconcile, run: &str) -> DriftReport {
    match flow
        .resume(run, WorkBudget::unlimited(), &Quiet)
        .await
        .unwrap()
    {
        Progress::Finished(report) => *report,
        other => panic!("the run did not finish: {other:?}"),
    }
}

/// `quantityOnStock` of `sku` at UK-DC.
fn uk_on_stock(bed: &Testbed, sku: &str) -> i64 {
    let uk = bed.site_channels["UK-DC"].clone();
    bed.ct
        .inventory_entry(sku, Some(&uk))
        .expect("an entry at UK-DC")
        .quantity_on_stock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_item_held_back_by_an_earlier_invocation_does_not_overwrite_a_newer_live_figure() {
    let (bed, _) = in_sync().await;
    let store = store();
    let (flow, run, carried) = first_page_only(&bed, &store).await;
    // After page 1 was read, the carried item moves and the stock flow applies the callback.
    let moved = bed.pvx.stock("UK-DC", &carried).unwrap().available + 9;
    bed.pvx.set_stock("UK-DC", &carried, moved, moved);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let live = StockMessage::Available {
        id: "ev-live".into(),
        site: "UK-DC".into(),
        item: carried.clone(),
        available: moved,
        received_at_ms: now_epoch_ms(),
    };
    store
        .send(STOCK_QUEUE, &live.to_json(), &BTreeMap::new())
        .await
        .unwrap();
    let stock = stock_flow(&bed, &store).await;
    run_stock_batch(&stock, &store, 10).await;
    assert_eq!(uk_on_stock(&bed, &carried), sellable(moved, 0, 0, 1));

    // The next invocation goes on from page 2. The carried figure is older than the live
    // one: it must not replace it.
    let report = rest_of(&flow, &run).await;
    assert_eq!(uk_on_stock(&bed, &carried), sellable(moved, 0, 0, 1));
    let row = ledger_row(store.as_ref(), "UK-DC", &carried)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.figure.available, moved, "{row:?}");
    assert!(off_target(&bed).is_empty(), "{:?}", off_target(&bed));
    assert_eq!(report.stock["UK-DC"].superseded, 1, "{}", report.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_that_shift_between_page_reads_do_not_count_an_item_twice() {
    let (bed, _) = in_sync().await;
    let store = store();
    let (flow, run, carried) = first_page_only(&bed, &store).await;
    let available = bed.pvx.stock("UK-DC", &carried).unwrap().available;
    assert!(available > 0, "a carried item with stock to double");
    // A new item is stocked ahead of page 1's end: every later row moves one place on, so
    // page 2 begins with the carried item's row again.
    bed.pvx.set_stock("UK-DC", "A-NEW", 3, 3);

    let report = rest_of(&flow, &run).await;
    assert_eq!(uk_on_stock(&bed, &carried), sellable(available, 0, 0, 1));
    assert!(off_target(&bed).is_empty(), "{:?}", off_target(&bed));
    assert_eq!(report.stock["UK-DC"].differences, 0, "{}", report.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_whose_order_created_was_lost_is_exported_by_the_sweep_exactly_once() {
    let catalog = scenario::catalog(5);
    let bed = ctpvx_tests::testbed(&catalog).await;
    for item in &catalog {
        bed.pvx.set_stock("UK-DC", item, 100, 100);
    }
    let store = store();
    // Order 0 reaches the export flow; order 1's OrderCreated is lost.
    let orders = ctpvx_tests::seed_orders(&bed, 0..2, 2, &catalog);
    ctpvx_tests::enqueue(&store, &orders[..1]).await;
    let export = ctpvx_tests::flow(&bed, &store).await;
    ctpvx_tests::run_one_batch(&export, &store, 10).await;
    let lost = orders[1]["orderNumber"].as_str().unwrap().to_string();
    assert_eq!(bed.pvx.header_imports(&lost), 0);

    let config = config(&bed, |c| c.reconcile.order_grace_s = 0);
    let flow = reconcile_flow(&bed, &config, &store).await;
    let sweep = RunOptions {
        skip_stock: true,
        skip_despatches: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    // A dry run names it and queues nothing.
    let seen = Seen::default();
    let dry = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..sweep.clone()
            },
            &seen,
        )
        .await
        .unwrap();
    assert_eq!(dry.orders.unexported, 1);
    assert_eq!(
        *seen.requeued.lock().unwrap(),
        [("order".to_string(), lost.clone())]
    );
    assert_eq!(store.depth(ORDERS_QUEUE).await.unwrap().visible, 0);
    // Two sweeps before the export flow runs: the order is queued twice, exported once.
    for _ in 0..2 {
        let report = flow.run_to_end(&sweep, &Quiet).await.unwrap();
        assert_eq!(report.orders.requeued, 1, "{}", report.summary());
    }
    ctpvx_tests::drain(&export, &store, 10, std::time::Duration::from_secs(20)).await;
    assert_eq!(bed.pvx.header_imports(&lost), 1);
    let id = orders[1]["id"].as_str().unwrap();
    assert!(ctpvx_tests::exported_once_in_ct(&bed, id, &lost));
    assert_eq!(store.depth(ORDERS_DLQ).await.unwrap().visible, 0);
    // Exported now: the next sweep has nothing to do.
    let after = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!((after.orders.unexported, after.orders.requeued), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn despatches_without_a_delivery_are_booked_once_through_the_sweep() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(3, 2).await;
    let numbers: Vec<String> = orders
        .iter()
        .map(|o| o["orderNumber"].as_str().unwrap().to_string())
        .collect();
    // No subscriptions: every despatch callback is lost.
    for number in &numbers {
        bed.pvx
            .despatch(
                number,
                DespatchPlan {
                    lines: Vec::new(),
                    packages: vec![PackagePlan {
                        tracking: Some(format!("TRK-{number}")),
                        weight_kg: None,
                    }],
                    carrier: "Royal Mail".into(),
                    service: "Tracked 48".into(),
                },
            )
            .unwrap();
    }
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let sweep = RunOptions {
        skip_stock: true,
        skip_orders: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    let report = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(report.despatches.despatches, 3, "{}", report.summary());
    assert_eq!(report.despatches.requeued, 3);
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 3);
    let shipments = shipment_flow(&bed, &store).await;
    let booked = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(
        booked.records.retried + booked.records.dead_lettered,
        0,
        "{booked:?}"
    );
    for order in &orders {
        let id = order["id"].as_str().unwrap();
        let deliveries = bed.ct.order_json(id).unwrap()["shippingInfo"]["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(deliveries.len(), 1, "{id}");
    }
    // The next run starts from this run's watermark and finds every despatch delivered.
    let again = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(again.despatches.requeued, 0, "{}", again.summary());
    assert_eq!(again.despatches.delivered, 3);
    assert!(again.despatches.from_ms >= report.started_at_ms - 3_600_000);
}

/// A tracking number Peoplevox gets after the despatch, whose callback is lost: the despatch
/// has its delivery, but a parcel without tracking, so the sweep re-queues it and the shipment
/// flow puts the number on the existing parcel (no second delivery).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_tracking_number_whose_callback_was_lost_reaches_its_parcel_through_the_sweep() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(1, 1).await;
    let number = orders[0]["orderNumber"].as_str().unwrap().to_string();
    let id = orders[0]["id"].as_str().unwrap();
    // No subscriptions: every callback is lost.
    let despatch = bed
        .pvx
        .despatch(
            &number,
            DespatchPlan {
                lines: Vec::new(),
                packages: vec![PackagePlan {
                    tracking: None,
                    weight_kg: None,
                }],
                carrier: "Royal Mail".into(),
                service: "Tracked 48".into(),
            },
        )
        .unwrap();
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let sweep = RunOptions {
        skip_stock: true,
        skip_orders: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    let shipments = shipment_flow(&bed, &store).await;
    let first = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(
        (first.despatches.requeued, first.despatches.untracked),
        (1, 0)
    );
    run_shipment_batch(&shipments, &store, 10).await;
    let parcels = |bed: &ctpvx_infra::testbed::Testbed| {
        bed.ct.order_json(id).unwrap()["shippingInfo"]["deliveries"][0]["parcels"].clone()
    };
    assert!(parcels(&bed)[0]["trackingData"]["trackingId"].is_null());

    let package = despatch.packages[0].number;
    bed.pvx
        .set_package_tracking(&despatch.number, package, "LATE-1")
        .unwrap();
    let second = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(
        (second.despatches.requeued, second.despatches.untracked),
        (0, 1),
        "{}",
        second.summary()
    );
    // The sweep of late tracking leaves it to the despatch sweep: one message, not two.
    assert_eq!(late_tracking(&second)["left_to_despatch_sweep"], 1);
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 1);
    let booked = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(
        booked.records.retried + booked.records.dead_lettered,
        0,
        "{booked:?}"
    );
    let deliveries = bed.ct.order_json(id).unwrap()["shippingInfo"]["deliveries"].clone();
    assert_eq!(
        deliveries.as_array().map(Vec::len),
        Some(1),
        "{deliveries:#}"
    );
    assert_eq!(parcels(&bed)[0]["trackingData"]["trackingId"], "LATE-1");
    // Tracked now: the next run leaves it alone.
    let third = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(
        (third.despatches.requeued, third.despatches.untracked),
        (0, 0)
    );
}

/// The sweep of late tracking's counts, as the report in the audit log names them.
fn late_tracking(report: &DriftReport) -> serde_json::Value {
    serde_json::to_value(report).unwrap()["tracking"].clone()
}

/// Issue 22 item 4: a tracking number Peoplevox gets days after the despatch, once the despatch
/// sweep's watermark has passed it, and whose callback is lost, still reaches its parcel: every
/// run re-reads the untracked deliveries of the last `tracking_days` in Peoplevox and re-queues
/// the despatches it now tracks. A despatch Peoplevox never tracks is re-read, never re-queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tracking_that_peoplevox_gets_days_after_the_despatch_reaches_its_parcel() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(2, 1).await;
    let (late, never) = (&orders[0], &orders[1]);
    // Three days ago both left the warehouse without tracking numbers; no subscriptions, so
    // every callback is lost.
    bed.pvx.set_clock(Some(
        bed.pvx.now() - std::time::Duration::from_secs(3 * 24 * 3600),
    ));
    let despatched: Vec<_> = [late, never]
        .iter()
        .map(|o| {
            bed.pvx
                .despatch(
                    &number_of(o),
                    DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::untracked()]),
                )
                .unwrap()
        })
        .collect();
    bed.pvx.set_clock(None);
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let despatches_only = RunOptions {
        skip_stock: true,
        skip_orders: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    let shipments = shipment_flow(&bed, &store).await;
    let parcel = |order: &serde_json::Value| {
        bed.ct.order_json(&id_of(order)).unwrap()["shippingInfo"]["deliveries"][0]["parcels"][0]
            .clone()
    };

    // That night's run books both despatches, still untracked.
    let first = flow.run_to_end(&despatches_only, &Quiet).await.unwrap();
    assert_eq!(first.despatches.requeued, 2, "{}", first.summary());
    let booked = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(booked.records.retried + booked.records.dead_lettered, 0);
    for order in [late, never] {
        assert!(parcel(order)["trackingData"]["trackingId"].is_null());
    }

    // Days later the carrier's number reaches Peoplevox for one of them; its callback is lost.
    let package = despatched[0].packages[0].number;
    bed.pvx
        .set_package_tracking(&despatched[0].number, package, "LATE-3D")
        .unwrap();

    // A dry run names it and sends nothing.
    let seen = Seen::default();
    let dry = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..despatches_only.clone()
            },
            &seen,
        )
        .await
        .unwrap();
    assert_eq!(
        requeued(&seen),
        vec![("tracking".to_string(), despatched[0].number.clone())],
        "the run after the watermark passed the despatch re-queues it: {}",
        dry.summary()
    );
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 0);

    // The real run re-queues it (the despatch sweep's window has passed both).
    let second = flow.run_to_end(&despatches_only, &Quiet).await.unwrap();
    assert_eq!(second.despatches.despatches, 0, "{}", second.summary());
    let counts = late_tracking(&second);
    assert_eq!(counts, late_tracking(&dry));
    assert_eq!(
        (&counts["untracked"], &counts["checked"]),
        (&2.into(), &2.into()),
        "{counts}"
    );
    assert_eq!(
        (&counts["requeued"], &counts["unchanged"]),
        (&1.into(), &1.into()),
        "{counts}"
    );
    assert!(
        second
            .summary()
            .contains("late tracking 2 checked, 1 re-queued"),
        "{}",
        second.summary()
    );
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 1);
    let booked = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(
        booked.records.retried + booked.records.dead_lettered,
        0,
        "{booked:?}"
    );
    assert_eq!(parcel(late)["trackingData"]["trackingId"], "LATE-3D");
    let deliveries = &bed.ct.order_json(&id_of(late)).unwrap()["shippingInfo"]["deliveries"];
    assert_eq!(
        deliveries.as_array().map(Vec::len),
        Some(1),
        "{deliveries:#}"
    );
    assert!(parcel(never)["trackingData"]["trackingId"].is_null());

    // The next night the tracked one is done, and the one Peoplevox never tracks is read
    // again but not re-queued.
    let third = flow.run_to_end(&despatches_only, &Quiet).await.unwrap();
    let counts = late_tracking(&third);
    assert_eq!(
        (
            &counts["checked"],
            &counts["requeued"],
            &counts["unchanged"]
        ),
        (&1.into(), &0.into(), &1.into()),
        "{counts}"
    );
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 0);
}

/// Only the status sweep.
fn statuses_only() -> RunOptions {
    RunOptions {
        skip_stock: true,
        skip_orders: true,
        skip_despatches: true,
        ..RunOptions::default()
    }
}

fn number_of(order: &serde_json::Value) -> String {
    order["orderNumber"].as_str().unwrap().to_string()
}

fn id_of(order: &serde_json::Value) -> String {
    order["id"].as_str().unwrap().to_string()
}

/// An order's `orderState`, `shipmentState` and `pvxStatus` in commercetools.
fn shown(bed: &Testbed, order: &serde_json::Value) -> (String, String, String) {
    let o = bed.ct.order_json(&id_of(order)).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    (
        text(&o["orderState"]),
        text(&o["shipmentState"]),
        text(&o["custom"]["fields"]["pvxStatus"]),
    )
}

fn requeued(seen: &Seen) -> Vec<(String, String)> {
    let mut all = seen.requeued.lock().unwrap().clone();
    all.sort();
    all
}

/// Runs the status queue through the status flow until it is empty; nothing may be retried or
/// parked.
async fn drain_status_queue(bed: &Testbed, store: &Arc<ctpvx_shared::embedded::EmbeddedStore>) {
    let status = status_flow(bed, store).await;
    while store.depth(STATUS_QUEUE).await.unwrap().visible > 0 {
        let report = run_status_batch(&status, store, 10).await;
        assert_eq!(
            report.records.retried + report.records.dead_lettered,
            0,
            "{report:?}"
        );
    }
    assert_eq!(store.depth(STATUS_DLQ).await.unwrap().visible, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statuses_whose_callbacks_were_lost_reach_commercetools_through_the_sweep() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(3, 1).await;
    let (cancelled, picking, untouched) = (&orders[0], &orders[1], &orders[2]);
    // No subscriptions: the warehouse's callbacks are lost.
    assert!(bed.pvx.set_order_status(&number_of(cancelled), "Cancelled"));
    assert!(bed.pvx.set_order_status(&number_of(picking), "Picking"));
    // And holds it (that callback lost too).
    bed.pvx.set_on_hold(&number_of(picking), true);
    let config = config(&bed, |c| c.reconcile.order_grace_s = 0);
    let flow = reconcile_flow(&bed, &config, &store).await;
    let before = shown(&bed, cancelled);
    assert_ne!(before.1, "Canceled");

    // A dry run names both and sends nothing.
    let seen = Seen::default();
    let dry = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..statuses_only()
            },
            &seen,
        )
        .await
        .unwrap();
    let expected = vec![
        ("status".to_string(), number_of(cancelled)),
        ("status".to_string(), number_of(picking)),
    ];
    assert_eq!(requeued(&seen), expected);
    assert_eq!(
        (dry.statuses.checked, dry.statuses.statuses_requeued),
        (3, 2),
        "{}",
        dry.summary()
    );
    assert_eq!(dry.statuses.cancellations_requeued, 0);
    assert_eq!(dry.statuses.requests, 1, "3 numbers: one Peoplevox request");
    assert_eq!(store.depth(STATUS_QUEUE).await.unwrap().visible, 0);
    assert_eq!(shown(&bed, cancelled), before);

    // The real run reports what the dry run did, and queues it.
    let real_seen = Seen::default();
    let real = flow.run_to_end(&statuses_only(), &real_seen).await.unwrap();
    assert_eq!(real.statuses, dry.statuses, "{}", real.summary());
    assert_eq!(requeued(&real_seen), expected);
    assert_eq!(store.depth(STATUS_QUEUE).await.unwrap().visible, 2);
    // Each re-queued status carries the hold flag Peoplevox showed with it (issue 22 item 5).
    let queued = store
        .receive(STATUS_QUEUE, 10, std::time::Duration::ZERO)
        .await
        .unwrap();
    let holds: std::collections::BTreeMap<String, Option<bool>> = queued
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            (
                v["order"].as_str().unwrap().to_string(),
                v["onHold"].as_bool(),
            )
        })
        .collect();
    assert_eq!(
        holds.get(&number_of(picking)),
        Some(&Some(true)),
        "{holds:?}"
    );
    assert!(
        real.summary()
            .contains("statuses 3 checked, 2 re-queued, 0 cancellations and 0 returns re-queued"),
        "{}",
        real.summary()
    );

    drain_status_queue(&bed, &store).await;
    assert_eq!(
        shown(&bed, cancelled),
        ("Cancelled".into(), "Canceled".into(), "Cancelled".into())
    );
    let (order_state, _, status) = shown(&bed, picking);
    assert_eq!(
        (order_state.as_str(), status.as_str()),
        ("Confirmed", "Picking")
    );
    assert_eq!(shown(&bed, untouched).2, "");

    // Nothing is left: the next run re-queues nothing, and asks nothing about the order
    // cancelled on both sides.
    let again = flow.run_to_end(&statuses_only(), &Quiet).await.unwrap();
    assert_eq!(again.statuses.requeued(), 0, "{}", again.summary());
    assert_eq!(again.statuses.checked, 2);
    assert_eq!(store.depth(STATUS_QUEUE).await.unwrap().visible, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commercetools_cancellations_peoplevox_never_got_are_pushed_through_the_sweep() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(3, 1).await;
    let (waiting, unmarked, picking) = (&orders[0], &orders[1], &orders[2]);
    // The warehouse starts picking one order (its callback lost).
    assert!(bed.pvx.set_order_status(&number_of(picking), "Picking"));
    // One export's mark was lost; and one order is cancelled before it was ever exported.
    bed.ct.forget_sync_info(&id_of(unmarked)).unwrap();
    let catalog = scenario::catalog(5);
    let never = ctpvx_tests::seed_orders(&bed, 10..11, 1, &catalog).remove(0);
    // commercetools cancels all four, and every OrderStateChanged is lost.
    for order in [waiting, unmarked, picking, &never] {
        bed.ct.cancel_order(&id_of(order)).unwrap();
    }
    for order in [waiting, unmarked] {
        assert_ne!(
            bed.pvx.order_status(&number_of(order)).unwrap(),
            "Cancelled"
        );
    }
    let config = config(&bed, |c| c.reconcile.order_grace_s = 0);
    let flow = reconcile_flow(&bed, &config, &store).await;

    let dry = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..statuses_only()
            },
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(store.depth(STATUS_QUEUE).await.unwrap().visible, 0);
    let seen = Seen::default();
    let report = flow.run_to_end(&statuses_only(), &seen).await.unwrap();
    assert_eq!(report.statuses, dry.statuses);
    // The one never exported is commercetools' alone: asked, not re-queued.
    assert_eq!(report.statuses.checked, 4, "{}", report.summary());
    assert_eq!(report.statuses.cancellations_requeued, 3);
    assert_eq!(report.statuses.statuses_requeued, 0);
    let mut expected: Vec<(String, String)> = [waiting, unmarked, picking]
        .iter()
        .map(|o| ("cancellation".to_string(), number_of(o)))
        .collect();
    expected.sort();
    assert_eq!(requeued(&seen), expected);

    drain_status_queue(&bed, &store).await;
    for order in [waiting, unmarked] {
        assert_eq!(
            bed.pvx.order_status(&number_of(order)).unwrap(),
            "Cancelled"
        );
        assert_eq!(
            shown(&bed, order),
            ("Cancelled".into(), "Canceled".into(), "Cancelled".into())
        );
    }
    // The lost mark is back: nothing exports that order again.
    assert!(
        bed.ct
            .order(&id_of(unmarked))
            .unwrap()
            .sync_info
            .iter()
            .any(|s| s.external_id.as_deref() == Some(number_of(unmarked).as_str()))
    );
    // Picking had started: not cancelled behind the pickers' backs, an exception for a person.
    assert_eq!(
        bed.pvx.order_status(&number_of(picking)).unwrap(),
        "Picking"
    );
    let o = bed.ct.order_json(&id_of(picking)).unwrap();
    assert!(
        o["custom"]["fields"]["pvxException"]
            .as_str()
            .is_some_and(|e| e.contains("picking")),
        "{o}"
    );
    assert_eq!(bed.pvx.order_status(&number_of(&never)), None);

    let again = flow.run_to_end(&statuses_only(), &Quiet).await.unwrap();
    assert_eq!(again.statuses.requeued(), 0, "{}", again.summary());
    assert_eq!(store.depth(STATUS_QUEUE).await.unwrap().visible, 0);
}

/// A return booked in Peoplevox whose one Returns callback was lost reaches the order's
/// `returnInfo` through the sweep, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn returns_whose_callbacks_were_lost_are_recorded_through_the_sweep() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(1, 1).await;
    let order = &orders[0];
    let number = number_of(order);
    bed.pvx
        .despatch(
            &number,
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T-R")]),
        )
        .unwrap();
    let config = config(&bed, |c| c.reconcile.order_grace_s = 0);
    let flow = reconcile_flow(&bed, &config, &store).await;
    // The despatch's status callback was lost too: the first run brings the order to Shipped.
    let first = flow.run_to_end(&statuses_only(), &Quiet).await.unwrap();
    assert_eq!(first.statuses.returns_requeued, 0, "{}", first.summary());
    drain_status_queue(&bed, &store).await;
    assert_eq!(shown(&bed, order).1, "Shipped");

    let sku = order["lineItems"][0]["variant"]["sku"]
        .as_str()
        .unwrap()
        .to_string();
    let code = bed
        .pvx
        .record_return(
            &number,
            &[ReturnLine {
                item: sku,
                quantity: 1,
                reason: "Too small".into(),
                condition: "Good".into(),
            }],
        )
        .unwrap();
    let seen = Seen::default();
    let run = flow.run_to_end(&statuses_only(), &seen).await.unwrap();
    assert_eq!(run.statuses.returns_requeued, 1, "{}", run.summary());
    assert_eq!(
        requeued(&seen),
        vec![("return".to_string(), number.clone())]
    );
    drain_status_queue(&bed, &store).await;
    let o = bed.ct.order_json(&id_of(order)).unwrap();
    let recorded: Vec<&str> = o["returnInfo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["returnTrackingId"].as_str())
        .collect();
    assert_eq!(recorded, [code.as_str()]);

    let again = flow.run_to_end(&statuses_only(), &Quiet).await.unwrap();
    assert_eq!(again.statuses.returns_requeued, 0, "{}", again.summary());
}

/// Report times are the tenant's wall clock, which west of Greenwich reads hours "before" the
/// same instant in UTC. The sweep writes its `[Despatch date] >= DateTime(…)` in the tenant's
/// zone (`peoplevox.time_zone`), so a despatch made after the last run is found although the
/// zone's offset is larger than the sweep's overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_despatch_sweep_searches_from_its_watermark_in_the_tenant_s_zone() {
    use ctpvx_infra::sim::peoplevox::Dialect;
    use ctpvx_infra::sim::peoplevox::dialect::STRICT;
    let new_york = Dialect {
        report_time_zone: "America/New_York",
        ..STRICT
    };
    let (bed, store, orders) = ctpvx_tests::exported_orders_in(new_york, 1, 1).await;
    assert_eq!(bed.config.peoplevox.time_zone, "America/New_York");
    let flow = reconcile_flow(&bed, &bed.config, &store).await;
    let sweep = RunOptions {
        skip_stock: true,
        skip_orders: true,
        skip_statuses: true,
        ..RunOptions::default()
    };
    let first = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(first.despatches.despatches, 0, "{}", first.summary());
    // Lost callback: only the sweep can find it.
    bed.pvx
        .despatch(
            &number_of(&orders[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("NY-1")]),
        )
        .unwrap();
    let second = flow.run_to_end(&sweep, &Quiet).await.unwrap();
    assert_eq!(
        (second.despatches.despatches, second.despatches.requeued),
        (1, 1),
        "{}",
        second.summary()
    );
}
