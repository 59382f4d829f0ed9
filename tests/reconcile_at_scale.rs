//! The reconciliation's sweeps after an outage, under Lambda's deadline (issue 22, items 8
//! and 4): thousands of unexported orders, of commercetools-only inventory entries, or of
//! deliveries without tracking, do not fit one invocation. Each invocation stops between pages before its deadline with a checkpoint, the
//! next resumes there through the reconcile queue, and in the end every order is re-queued,
//! and every entry counted, exactly once; the re-queues go out a batch per page.
//!
//! commercetools answers every request after 1 s here, and a function's Timeout is 6 s: the
//! flow must be done 4.5 s in (the settle's reserve), its requests 3.75 s in, and the run
//! takes no new page 2.5 s in (`stop_before_deadline_s` = 2). A sweep of 6 or more pages
//! read in one go cannot fit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpvx_infra::local::worker::{self, WorkerOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_infra::testbed::Testbed;
use ctpvx_shared::app::Stores;
use ctpvx_shared::config::Config;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::nightly_reconcile::{
    NightlyReconcile, Progress, Quiet, RunOptions, WorkBudget, run,
};
use ctpvx_shared::queues::{ORDERS_QUEUE, RECONCILE_DLQ, RECONCILE_QUEUE, SHIPMENTS_QUEUE};
use ctpvx_shared::store::Queue;
use ctpvx_tests::{CountingQueue, queue_options, reconcile_flow_on, store};
use serde_json::json;

/// The function's Timeout.
const TIMEOUT: Duration = Duration::from_secs(6);

/// What each request to commercetools takes.
const LATENCY: Duration = Duration::from_secs(1);

fn stores(store: &Arc<EmbeddedStore>) -> Stores {
    Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    }
}

/// The test bed's configuration, with a 2 s stop before the deadline and sweeps from now on.
fn config(bed: &Testbed, adjust: impl FnOnce(&mut Config)) -> Config {
    let mut config = bed.config.clone();
    config.reconcile.stop_before_deadline_s = 2;
    config.reconcile.order_grace_s = 0;
    adjust(&mut config);
    config
}

/// Runs the reconcile queue as its function would, one message an invocation of
/// [`TIMEOUT`], until it is empty. Every invocation must return before its deadline and hand
/// the run on (nothing retried, nothing parked) with its checkpoint moved on: `progress`
/// reads how far the checkpoint stands. Returns the invocations.
async fn invocations_until_done(
    flow: &NightlyReconcile,
    queue: &dyn Queue,
    store: &EmbeddedStore,
    id: &str,
    progress: impl Fn(&run::RunState) -> u64,
) -> usize {
    let options = WorkerOptions {
        timeout: TIMEOUT,
        visibility: Duration::from_secs(30),
        ..queue_options(RECONCILE_QUEUE, RECONCILE_DLQ, 1)
    };
    let mut invocations = 0;
    let mut before = 0;
    loop {
        let messages = worker::gather(queue, &options).await;
        if messages.is_empty() {
            return invocations;
        }
        invocations += 1;
        assert!(invocations < 20, "the run never ends");
        let started = Instant::now();
        let report = worker::run_batch(flow, queue, store, &options, messages).await;
        let took = started.elapsed();
        assert_eq!(
            report.records.retried + report.records.dead_lettered,
            0,
            "invocation {invocations} failed after {took:?}: {report:?}"
        );
        assert!(
            took < TIMEOUT,
            "invocation {invocations} outlived its Timeout: {took:?}"
        );
        let checkpoint = run::load(store, id).await.unwrap().unwrap().state;
        let now = progress(&checkpoint);
        assert!(
            now > before,
            "invocation {invocations} left no checkpoint further on: {:?}",
            checkpoint.cursor
        );
        before = now;
    }
}

fn orders_only(id: &str) -> RunOptions {
    RunOptions {
        id: Some(id.into()),
        skip_stock: true,
        skip_despatches: true,
        skip_statuses: true,
        ..RunOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_sweep_after_an_outage_resumes_at_its_checkpoint_and_requeues_each_order_once() {
    // Every OrderCreated of an outage was lost: 2,900 orders, 6 pages of 500.
    const ORDERS: usize = 2_900;
    let catalog = scenario::catalog(5);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let orders = ctpvx_tests::seed_orders(&bed, 0..ORDERS, 1, &catalog);
    let store = store();
    let queue = Arc::new(CountingQueue::new(store.clone()));
    let config = config(&bed, |_| {});
    let flow = reconcile_flow_on(&bed, &config, stores(&store), queue.clone()).await;

    // A dry run reports them all and sends nothing.
    let dry = flow
        .run_to_end(
            &RunOptions {
                dry_run: true,
                ..orders_only("dry")
            },
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(
        (dry.orders.unexported, dry.orders.requeued),
        (ORDERS, ORDERS),
        "{}",
        dry.summary()
    );
    assert_eq!(queue.calls(ORDERS_QUEUE), Default::default());
    assert_eq!(store.depth(ORDERS_QUEUE).await.unwrap().visible, 0);

    bed.ct.faults().set_latency(LATENCY);
    let started = flow.start(&orders_only("after-the-outage")).await.unwrap();
    flow.hand_on(queue.as_ref(), &started.id).await.unwrap();
    let invocations = invocations_until_done(&flow, queue.as_ref(), &store, &started.id, |state| {
        state.report.orders.requeued as u64
    })
    .await;
    bed.ct.faults().clear();

    let finished = run::load(store.as_ref(), &started.id)
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(finished.finished(), "{:?}", finished.cursor);
    assert!(invocations >= 2, "one invocation did it all");
    let sweep = &finished.report.orders;
    // Counted once across the invocations.
    assert_eq!(
        (sweep.unexported, sweep.requeued),
        (ORDERS, ORDERS),
        "{}",
        finished.report.summary()
    );
    // Every order on the orders queue exactly once.
    let mut queued = Vec::new();
    loop {
        let batch = store
            .receive(ORDERS_QUEUE, 10, Duration::from_secs(60))
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
            queued.push(body["resource"]["id"].as_str().unwrap().to_string());
        }
    }
    queued.sort();
    let mut expected: Vec<String> = orders
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    expected.sort();
    assert_eq!(queued.len(), expected.len());
    assert!(queued == expected, "an order queued twice or never");
    // A batch a page (6 of 500), never a message a call.
    let calls = queue.calls(ORDERS_QUEUE);
    assert_eq!((calls.single, calls.many), (0, 6), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commercetools_only_scan_resumes_at_its_checkpoint_and_counts_each_entry_once() {
    // 4,800 entries Peoplevox does not list, in 2 id ranges of about 5 pages each.
    const ONLY_IN_CT: usize = 4_800;
    let catalog = scenario::catalog(5);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let channel = bed.site_channels["UK-DC"].clone();
    let mut entries = Vec::new();
    for item in &catalog {
        bed.pvx.set_stock("UK-DC", item, 10, 10);
        entries.push((item.clone(), Some(channel.clone()), 10));
    }
    for i in 0..ONLY_IN_CT {
        entries.push((format!("CT-ONLY-{i:05}"), Some(channel.clone()), 1));
    }
    bed.ct.insert_inventory_bulk(entries).unwrap();
    let store = store();
    let config = config(&bed, |c| c.reconcile.scan_partitions = 2);
    let flow = reconcile_flow_on(&bed, &config, stores(&store), store.clone()).await;
    let started = flow
        .start(&RunOptions {
            id: Some("scan".into()),
            sites: Some(vec!["UK-DC".into()]),
            skip_orders: true,
            skip_despatches: true,
            skip_statuses: true,
            ..RunOptions::default()
        })
        .await
        .unwrap();
    // The stock stage (one Peoplevox page) first, at full speed.
    let stock = WorkBudget {
        stop_at_ms: i64::MAX,
        max_units: Some(1),
    };
    let paused = flow.resume(&started.id, stock, &Quiet).await.unwrap();
    assert!(matches!(paused, Progress::Paused(_)), "{paused:?}");

    bed.ct.faults().set_latency(LATENCY);
    flow.hand_on(store.as_ref(), &started.id).await.unwrap();
    let invocations = invocations_until_done(&flow, store.as_ref(), &store, &started.id, |state| {
        // The stage's cursor is cleared when it ends.
        if state.finished() {
            u64::MAX
        } else {
            u64::try_from(state.cursor.rows_done).unwrap_or(0)
        }
    })
    .await;
    bed.ct.faults().clear();

    let finished = run::load(store.as_ref(), &started.id)
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(finished.finished(), "{:?}", finished.cursor);
    assert!(invocations >= 2, "one invocation did it all");
    let drift = &finished.report.stock["UK-DC"];
    assert_eq!(drift.only_in_commercetools, ONLY_IN_CT);
    assert_eq!(
        drift.only_in_commercetools_examples.len(),
        config.reconcile.largest
    );
}

/// Issue 22 item 4: the sweep of late tracking reads a fortnight of deliveries, thousands
/// after a busy period, a commercetools page a unit: it stops between pages before the
/// deadline, resumes at its checkpoint, counts every delivery once, reads Peoplevox 100
/// despatch numbers a request, and sends its re-queues a batch a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_late_tracking_sweep_resumes_at_its_checkpoint_and_counts_each_delivery_once() {
    // 2,600 orders with a delivery that lacks tracking: 6 pages of 500.
    const ORDERS: usize = 2_600;
    let (bed, store, orders) = ctpvx_tests::exported_orders(1, 1).await;
    let number = orders[0]["orderNumber"].as_str().unwrap().to_string();
    // One real despatch, untracked, three days ago; booked by that night's run.
    bed.pvx
        .set_clock(Some(bed.pvx.now() - Duration::from_secs(3 * 24 * 3600)));
    let despatch = bed
        .pvx
        .despatch(
            &number,
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::untracked()]),
        )
        .unwrap();
    bed.pvx.set_clock(None);
    let queue = Arc::new(CountingQueue::new(store.clone()));
    let config = config(&bed, |_| {});
    let flow = reconcile_flow_on(&bed, &config, stores(&store), queue.clone()).await;
    let first = flow
        .run_to_end(&despatches_only("that-night"), &Quiet)
        .await
        .unwrap();
    assert_eq!(first.despatches.requeued, 1, "{}", first.summary());
    let shipments = ctpvx_tests::shipment_flow(&bed, &store).await;
    ctpvx_tests::run_shipment_batch(&shipments, &store, 10).await;

    // The rest: deliveries booked (by this connector, then lost to Peoplevox's report) whose
    // parcels never got tracking.
    let catalog = scenario::catalog(5);
    let others = ctpvx_tests::seed_orders(&bed, 1..ORDERS, 1, &catalog);
    for order in &others {
        let id = order["id"].as_str().unwrap();
        let n = order["orderNumber"].as_str().unwrap();
        bed.ct
            .apply_order_actions(
                id,
                vec![
                    json!({"action": "updateSyncInfo", "externalId": n,
                           "channel": {"typeId": "channel", "id": bed.export_channel_id}}),
                    json!({"action": "addDelivery", "deliveryKey": format!("pvx-GONE-{n}"),
                           "items": [], "parcels": [{"key": format!("pvx-GONE-{n}-1")}]}),
                ],
            )
            .unwrap();
    }
    // Days later Peoplevox gets the real despatch's tracking number; the callback is lost.
    bed.pvx
        .set_package_tracking(&despatch.number, despatch.packages[0].number, "LATE-1")
        .unwrap();
    let sent_before = queue.calls(SHIPMENTS_QUEUE);

    bed.ct.faults().set_latency(LATENCY);
    let started = flow.start(&despatches_only("days-later")).await.unwrap();
    flow.hand_on(queue.as_ref(), &started.id).await.unwrap();
    let invocations = invocations_until_done(&flow, queue.as_ref(), &store, &started.id, |state| {
        u64::from(state.report.despatches.pages + state.report.tracking.pages)
    })
    .await;
    bed.ct.faults().clear();

    let finished = run::load(store.as_ref(), &started.id)
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(finished.finished(), "{:?}", finished.cursor);
    assert!(invocations >= 2, "one invocation did it all");
    let sweep = &finished.report.tracking;
    assert_eq!(sweep.pages, 6, "{sweep:?}");
    assert_eq!(
        (sweep.orders, sweep.untracked, sweep.checked),
        (ORDERS, ORDERS, ORDERS),
        "{sweep:?}"
    );
    assert_eq!(
        (sweep.requeued, sweep.not_in_peoplevox, sweep.unchanged),
        (1, ORDERS - 1, 0),
        "{sweep:?}"
    );
    assert_eq!(sweep.examples, std::slice::from_ref(&despatch.number));
    // 100 numbers a "Despatch summary" read (26) and the packages of the one it lists (1).
    // (A page cut at the deadline is read again by the next invocation; its reads are counted
    // with the page that is checkpointed.)
    assert_eq!(sweep.requests, 27, "{sweep:?}");
    // One re-queue, in a batch; nothing sent a message a call.
    let sent = queue.calls(SHIPMENTS_QUEUE);
    assert_eq!(
        (
            sent.single - sent_before.single,
            sent.many - sent_before.many
        ),
        (0, 1),
        "{sent:?}"
    );
    assert_eq!(store.depth(SHIPMENTS_QUEUE).await.unwrap().visible, 1);
    let booked = ctpvx_tests::run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(booked.records.retried + booked.records.dead_lettered, 0);
    let o = bed
        .ct
        .order_json(orders[0]["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        o["shippingInfo"]["deliveries"][0]["parcels"][0]["trackingData"]["trackingId"],
        "LATE-1"
    );
}

fn despatches_only(id: &str) -> RunOptions {
    RunOptions {
        id: Some(id.into()),
        skip_stock: true,
        skip_orders: true,
        skip_statuses: true,
        ..RunOptions::default()
    }
}
