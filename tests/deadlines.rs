//! Lambda's real limits, in process: both clients give up a hung request at the invocation's
//! deadline; a batch whose Peoplevox or commercetools request hangs still returns every
//! record before the function's deadline, as a retry with its reason (instead of dying at
//! the deadline with the whole batch); and a stack started while commercetools is down
//! serves its batches as retries until it is back, then works.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpvx_infra::local::worker::{self, WorkerOptions};
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_shared::app;
use ctpvx_shared::deadline::{self, Deadline};
use ctpvx_shared::domain::{ShipmentMessage, StatusMessage, StockMessage};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::{BatchFlow, BatchOutcomes, RecordOutcome};
use ctpvx_shared::store::{Queue, now_epoch_ms};
use ctpvx_tests::{
    SHIPMENTS_DLQ, SHIPMENTS_QUEUE, STATUS_DLQ, STATUS_QUEUE, STOCK_DLQ, STOCK_QUEUE,
    queue_options, shipment_flow, status_flow, stock_flow, store, testbed,
};

const SITE: &str = "UK-DC";
const SKU: &str = "SKU-0001";

/// The Timeout of the function in these tests: the test bed's clients time out after 5 s and
/// retry 4 times, so a hung request would take 25 s and more without the deadline.
const TIMEOUT: Duration = Duration::from_secs(8);

/// Hangs every request to the simulator behind `faults` for a minute.
fn hang(faults: &ctpvx_infra::sim::faults::Faults) {
    faults.set_hang(Duration::from_secs(60));
    faults.set_timeout_rate(1.0);
}

/// Runs one batch of `queue` through `flow` as its function would run it with a Timeout of
/// [`TIMEOUT`], and checks that it returned before its deadline with every record retried
/// for lack of time, nothing parked.
async fn every_record_retried_in_time<F: BatchFlow>(
    flow: &F,
    store: &Arc<EmbeddedStore>,
    (queue, dlq): (&str, &str),
    records: usize,
) {
    let options = WorkerOptions {
        timeout: TIMEOUT,
        ..queue_options(queue, dlq, 10)
    };
    let started = Instant::now();
    let messages = worker::gather(store.as_ref(), &options).await;
    assert_eq!(messages.len(), records);
    let report = worker::run_batch(flow, store.as_ref(), store.as_ref(), &options, messages).await;
    let took = started.elapsed();
    assert!(took < TIMEOUT, "the batch outlived its function: {took:?}");
    let outcomes = &report.records().by_message;
    assert_eq!(outcomes.len(), records, "{outcomes:?}");
    for outcome in outcomes.values() {
        assert!(
            matches!(outcome, RecordOutcome::Retry(reason) if reason.contains("time ran out")),
            "{outcome:?}"
        );
    }
    assert_eq!(store.depth(dlq).await.unwrap().visible, 0);
}

async fn send(store: &EmbeddedStore, queue: &str, body: &str) {
    store.send(queue, body, &BTreeMap::new()).await.unwrap();
}

fn moved(item: &str, at_ms: i64) -> String {
    StockMessage::Moved {
        id: format!("mv-{at_ms}"),
        site: SITE.into(),
        item: item.into(),
        quantity_changed: 5,
        update_timestamp: None,
        reason: Some("Goods in".into()),
        received_at_ms: at_ms,
    }
    .to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_peoplevox_read_retries_every_stock_record_before_the_deadline() {
    let bed = testbed(&[SKU.to_string(), "SKU-0002".to_string()]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    // Movements are hints: the figure is read from Peoplevox, which hangs.
    send(&store, STOCK_QUEUE, &moved(SKU, 1_000)).await;
    send(&store, STOCK_QUEUE, &moved("SKU-0002", 1_001)).await;
    hang(bed.pvx.faults());
    every_record_retried_in_time(&flow, &store, (STOCK_QUEUE, STOCK_DLQ), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_commercetools_retries_every_despatch_before_the_deadline() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(2, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    for order in &orders {
        let number = order["orderNumber"].as_str().unwrap();
        let plan = DespatchPlan::everything(
            "Royal Mail",
            "Tracked 24",
            vec![PackagePlan::tracked(format!("TRK-{number}"))],
        );
        let despatch = bed.pvx.despatch(number, plan).unwrap();
        let message = ShipmentMessage {
            id: uuid::Uuid::new_v4().to_string(),
            event: "tracking".into(),
            despatch: despatch.number,
            order: None,
            tracking: None,
            package: None,
            carrier: None,
            service: None,
            service_code: None,
            received_at_ms: 0,
        };
        send(&store, SHIPMENTS_QUEUE, &message.to_json()).await;
    }
    // Peoplevox reports the despatches; commercetools, asked for their orders, hangs.
    hang(bed.ct.faults());
    every_record_retried_in_time(&flow, &store, (SHIPMENTS_QUEUE, SHIPMENTS_DLQ), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_commercetools_retries_every_status_before_the_deadline() {
    let (bed, store, orders) = ctpvx_tests::exported_orders(2, 1).await;
    let flow = status_flow(&bed, &store).await;
    for order in &orders {
        let message = StatusMessage::PeoplevoxStatus {
            id: uuid::Uuid::new_v4().to_string(),
            order: order["orderNumber"].as_str().unwrap().into(),
            status: Some("Picking".into()),
            modified: None,
            on_hold: Some(false),
            received_at_ms: now_epoch_ms(),
        };
        send(&store, STATUS_QUEUE, &message.to_json()).await;
    }
    hang(bed.ct.faults());
    every_record_retried_in_time(&flow, &store, (STATUS_QUEUE, STATUS_DLQ), 2).await;
}

/// A deadline `ms` from now, with a margin of 500 ms kept after the requests.
fn in_ms(ms: i64) -> Deadline {
    Deadline {
        end_ms: now_epoch_ms() + ms,
        margin: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn both_clients_give_up_a_hung_request_at_the_deadline_and_say_so() {
    let bed = testbed(&[SKU.to_string()]).await;
    let store = store();
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store).unwrap();
    hang(bed.pvx.faults());
    hang(bed.ct.faults());
    let started = Instant::now();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        deadline::scope(in_ms(3_000), pvx.get_data("Item types", 1, 10, "")),
    )
    .await
    .expect("the Peoplevox read outlived its deadline");
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = read.unwrap_err();
    assert!(err.is_deadline() && err.is_retryable(), "{err}");
    assert!(err.to_string().contains("time ran out"), "{err}");

    let started = Instant::now();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        deadline::scope(in_ms(3_000), ct.get_order("some-order")),
    )
    .await
    .expect("the commercetools read outlived its deadline");
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = read.unwrap_err();
    assert!(err.is_deadline() && err.is_retryable(), "{err}");

    // With less time left than a request needs, nothing is sent at all.
    bed.pvx.faults().clear();
    bed.pvx.reset_counters();
    let err = deadline::scope(in_ms(1_000), pvx.get_data("Item types", 1, 10, ""))
        .await
        .unwrap_err();
    assert!(err.is_deadline(), "{err}");
    assert!(bed.pvx.requests_by_operation().is_empty());
}

/// Waits until `done` holds, for at most `limit`.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_started_while_commercetools_is_down_retries_until_it_is_back() {
    let bed = testbed(&[SKU.to_string()]).await;
    bed.pvx.set_stock(SITE, SKU, 17, 20);
    let store = store();
    bed.ct.faults().set_error_rate(1.0);
    let options = StackOptions {
        visibility: Duration::from_secs(1),
        lazy_start: true,
        ..StackOptions::default()
    };
    let stack = LocalStack::start(&bed.config, &bed.secrets, store.clone(), options)
        .await
        .expect("the stack starts while commercetools is down");
    send(&store, STOCK_QUEUE, &moved(SKU, 1_000)).await;
    // The stock workers cannot build their flow: the batch is retried, not lost.
    let stock = stack.stock.clone();
    assert!(
        until(Duration::from_secs(30), || stock.build_failures() > 0).await,
        "no build was tried"
    );
    assert!(stack.build_failures() >= stock.build_failures());
    bed.ct.faults().clear();
    assert!(
        stack
            .wait_queues_drained(&[STOCK_QUEUE], Duration::from_secs(30))
            .await,
        "the retried batch was never handled"
    );
    let channel = bed.site_channels[SITE].clone();
    let on_stock = bed
        .ct
        .inventory_entry(SKU, Some(&channel))
        .map(|e| e.quantity_on_stock);
    stack.stop().await;
    assert_eq!(on_stock, Some(17));
    assert_eq!(store.depth(STOCK_DLQ).await.unwrap().visible, 0);
}
