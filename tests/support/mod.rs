//! Helpers shared by the end-to-end tests: a test bed with both simulators, a flow over an
//! embedded store, and batch runners that behave as the SQS event source does.

use std::sync::Arc;
use std::time::Duration;

use ctpvx_infra::aws_emulator::EmulatorEndpoints;
use ctpvx_infra::local::stack::declare_queues;
use ctpvx_infra::local::worker::{self, WorkerOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::Dialect;
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::app::{self, Stores};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::order_export::{BatchReport, OrderExport};
use ctpvx_shared::flows::order_status::{OrderStatus, StatusReport};
use ctpvx_shared::flows::shipment_confirmed::{ShipmentConfirmed, ShipmentReport};
use ctpvx_shared::flows::stock_delta::{StockDelta, StockReport};
use ctpvx_shared::store::Queue;

mod counting_queue;
pub use counting_queue::{CountingQueue, SendCalls};

/// The deployment's queue names, short.
pub use ctpvx_shared::queues::{
    ORDERS_DLQ as DLQ, ORDERS_QUEUE as Q, SHIPMENTS_DLQ, SHIPMENTS_QUEUE, STATUS_DLQ, STATUS_QUEUE,
    STOCK_DLQ, STOCK_QUEUE,
};

/// A test bed with a compressed Peoplevox budget (15 requests per 300 ms) and `items` known.
pub async fn testbed(items: &[String]) -> Testbed {
    testbed_in(Dialect::default(), items).await
}

/// [`testbed`] whose simulated Peoplevox tenant speaks `dialect`.
pub async fn testbed_in(dialect: Dialect, items: &[String]) -> Testbed {
    Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(300),
        items: items.to_vec(),
        dialect,
        ..TestbedOptions::default()
    })
    .await
    .expect("test bed starts")
}

/// Secrets with the test bed's webhook and callback tokens (the API secrets are dummies).
pub fn ingress_secrets() -> ctpvx_shared::config::Secrets {
    use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, DEMO_WEBHOOK_TOKEN};
    let map = [
        ("ct_client_secret", "unused"),
        ("pvx_password", "unused"),
        ("webhook_token", DEMO_WEBHOOK_TOKEN),
        ("pvx_callback_token", DEMO_CALLBACK_TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), secrecy::SecretString::from(v.to_string())))
    .collect();
    ctpvx_shared::config::Secrets::from_map(&map).expect("test secrets")
}

/// An in-memory store with every queue and its DLQ, declared as the local runner does.
pub fn store() -> Arc<EmbeddedStore> {
    let store = EmbeddedStore::in_memory().expect("store");
    declare_queues(&store).expect("queues");
    store
}

/// The order export flow over `store`, against the test bed.
pub async fn flow(bed: &Testbed, store: &Arc<EmbeddedStore>) -> OrderExport {
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone()).expect("clients");
    app::order_export(&bed.config, &stores, ct, pvx)
        .await
        .expect("flow")
}

/// The stock flow over `store`, against the test bed (confirming re-reads go to `store`).
pub async fn stock_flow(bed: &Testbed, store: &Arc<EmbeddedStore>) -> StockDelta {
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone()).expect("clients");
    let queue: Arc<dyn Queue> = store.clone();
    app::stock_delta(&bed.config, &stores, ct, pvx, Some(queue))
        .await
        .expect("stock flow")
}

/// The shipment flow over `store`, against the test bed.
pub async fn shipment_flow(bed: &Testbed, store: &Arc<EmbeddedStore>) -> ShipmentConfirmed {
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone()).expect("clients");
    app::shipment_confirmed(&bed.config, &stores, ct, pvx)
        .await
        .expect("shipment flow")
}

/// Receives one batch from the shipments queue and runs it through the flow.
pub async fn run_shipment_batch(
    flow: &ShipmentConfirmed,
    store: &Arc<EmbeddedStore>,
    batch_size: usize,
) -> ShipmentReport {
    let options = queue_options(SHIPMENTS_QUEUE, SHIPMENTS_DLQ, batch_size);
    let messages = worker::gather(store.as_ref(), &options).await;
    worker::run_batch(flow, store.as_ref(), store.as_ref(), &options, messages).await
}

/// The status flow over `store`, against the test bed.
pub async fn status_flow(bed: &Testbed, store: &Arc<EmbeddedStore>) -> OrderStatus {
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = app::clients(&bed.config, &bed.secrets, store.clone()).expect("clients");
    app::order_status(&bed.config, &stores, ct, pvx)
        .await
        .expect("status flow")
}

/// Receives one batch from the status queue and runs it through the flow.
pub async fn run_status_batch(
    flow: &OrderStatus,
    store: &Arc<EmbeddedStore>,
    batch_size: usize,
) -> StatusReport {
    let options = queue_options(STATUS_QUEUE, STATUS_DLQ, batch_size);
    let messages = worker::gather(store.as_ref(), &options).await;
    worker::run_batch(flow, store.as_ref(), store.as_ref(), &options, messages).await
}

/// Worker options for tests on the orders queue: batches of `batch_size`, 1 s visibility.
pub fn worker_options(batch_size: usize) -> WorkerOptions {
    queue_options(Q, DLQ, batch_size)
}

/// Worker options for tests on any queue: 1 s visibility, so that retries come back soon,
/// and a batch's time as long as a test may need (a batch out of time retries its records).
pub fn queue_options(queue: &str, dlq: &str, batch_size: usize) -> WorkerOptions {
    WorkerOptions {
        retry: ctpvx_shared::flows::settle::RetryPolicy {
            dead_letter_queue: dlq.into(),
            ..ctpvx_shared::queues::retry_policy(queue)
        },
        batch_size,
        visibility: Duration::from_secs(1),
        timeout: Duration::from_secs(30),
        idle_pause: Duration::from_millis(20),
        kill: None,
        late: None,
    }
}

/// Receives one batch (up to `batch_size`) from the stock queue and runs it through the flow.
pub async fn run_stock_batch(
    flow: &StockDelta,
    store: &Arc<EmbeddedStore>,
    batch_size: usize,
) -> StockReport {
    let options = queue_options(STOCK_QUEUE, STOCK_DLQ, batch_size);
    let messages = worker::gather(store.as_ref(), &options).await;
    worker::run_batch(flow, store.as_ref(), store.as_ref(), &options, messages).await
}

/// Receives one batch (up to `batch_size`) and runs it through the flow.
pub async fn run_one_batch(
    flow: &OrderExport,
    store: &Arc<EmbeddedStore>,
    batch_size: usize,
) -> BatchReport {
    let options = worker_options(batch_size);
    let messages = worker::gather(store.as_ref(), &options).await;
    worker::run_batch(flow, store.as_ref(), store.as_ref(), &options, messages).await
}

/// Runs batches until the queue is empty (waiting out visibility timeouts), at most `limit`.
pub async fn drain(
    flow: &OrderExport,
    store: &Arc<EmbeddedStore>,
    batch_size: usize,
    limit: Duration,
) {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        let depth = store.depth(Q).await.expect("depth");
        if depth.visible == 0 && depth.in_flight == 0 {
            return;
        }
        if depth.visible == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        run_one_batch(flow, store, batch_size).await;
    }
    panic!("queue not drained within {limit:?}");
}

/// Inserts scenario orders `range` into the commercetools simulator and returns their JSON.
pub fn seed_orders(
    bed: &Testbed,
    range: std::ops::Range<usize>,
    lines: usize,
    catalog: &[String],
) -> Vec<serde_json::Value> {
    range
        .map(|i| {
            let order = scenario::order(i, lines, catalog);
            bed.ct
                .insert_order_json(order.clone())
                .expect("insert order");
            order
        })
        .collect()
}

/// Sends one Platform message per order to the queue.
pub async fn enqueue(store: &Arc<EmbeddedStore>, orders: &[serde_json::Value]) {
    for (n, order) in orders.iter().enumerate() {
        let body = scenario::platform_message(
            order,
            &format!("msg-{n}-{}", order["id"].as_str().unwrap_or("")),
        );
        store
            .send(Q, &body, &Default::default())
            .await
            .expect("send");
    }
}

/// Whether the commercetools order carries the export mark with `number` as externalId, once.
pub fn exported_once_in_ct(bed: &Testbed, order_id: &str, number: &str) -> bool {
    let order = bed.ct.order(order_id).expect("order exists");
    let marks: Vec<_> = order
        .sync_info
        .iter()
        .filter(|s| s.external_id.as_deref() == Some(number))
        .collect();
    marks.len() == 1 && order.sync_info.len() == 1
}

/// A test bed whose Peoplevox has stock of a 5-item catalogue at UK-DC and EU-DC, with orders
/// `0..n` (of `lines` lines) exported by the order flow.
pub async fn exported_orders(
    n: usize,
    lines: usize,
) -> (Testbed, Arc<EmbeddedStore>, Vec<serde_json::Value>) {
    exported_orders_in(Dialect::default(), n, lines).await
}

/// [`exported_orders`] against a Peoplevox tenant of `dialect`.
pub async fn exported_orders_in(
    dialect: Dialect,
    n: usize,
    lines: usize,
) -> (Testbed, Arc<EmbeddedStore>, Vec<serde_json::Value>) {
    let catalog = scenario::catalog(5);
    let bed = testbed_in(dialect, &catalog).await;
    for site in ["UK-DC", "EU-DC"] {
        for item in &catalog {
            bed.pvx.set_stock(site, item, 1000, 1000);
        }
    }
    let store = store();
    let orders = seed_orders(&bed, 0..n, lines, &catalog);
    enqueue(&store, &orders).await;
    let export = flow(&bed, &store).await;
    let report = run_one_batch(&export, &store, 100).await;
    assert_eq!(report.exported, n, "{report:?}");
    (bed, store, orders)
}

/// The nightly reconciliation over `store`, against the test bed, with `config` (the test
/// bed's, adjusted by the test).
pub async fn reconcile_flow(
    bed: &Testbed,
    config: &ctpvx_shared::config::Config,
    store: &Arc<EmbeddedStore>,
) -> ctpvx_shared::flows::nightly_reconcile::NightlyReconcile {
    let stores = Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    reconcile_flow_on(bed, config, stores, store.clone()).await
}

/// The nightly reconciliation over any stores and queues.
pub async fn reconcile_flow_on(
    bed: &Testbed,
    config: &ctpvx_shared::config::Config,
    stores: Stores,
    queue: Arc<dyn Queue>,
) -> ctpvx_shared::flows::nightly_reconcile::NightlyReconcile {
    let ct = Arc::new(
        ctpvx_shared::commercetools::CtClient::new(app::ct_settings(config, &bed.secrets))
            .expect("commercetools client"),
    );
    app::nightly_reconcile(config, &bed.secrets, &stores, ct, queue)
        .await
        .expect("reconcile flow")
}

/// Fresh DynamoDB tables and SQS queues (every queue with its DLQ and redrive count) on the
/// moto server at `CTPVX_TEST_AWS_ENDPOINT`, as template.yaml makes them.
pub async fn aws_stores() -> (Stores, Arc<dyn Queue>) {
    let endpoint = moto_endpoint()
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see tests/contract_stores.rs");
    ctpvx_infra::aws_emulator::fresh_stores(&EmulatorEndpoints::one(&endpoint))
        .await
        .expect("tables and queues on moto")
}

/// The moto server the test command started, if any.
pub fn moto_endpoint() -> Option<String> {
    env_endpoint("CTPVX_TEST_AWS_ENDPOINT")
}

/// The moto servers for a run with its queues apart from its tables: SQS at
/// `CTPVX_TEST_AWS_SQS_ENDPOINT` (the test command starts a second server for it), or at the
/// one moto server when that is not set.
pub fn moto_endpoints() -> Option<EmulatorEndpoints> {
    let dynamodb = moto_endpoint()?;
    let sqs = env_endpoint("CTPVX_TEST_AWS_SQS_ENDPOINT").unwrap_or_else(|| dynamodb.clone());
    Some(EmulatorEndpoints { dynamodb, sqs })
}

fn env_endpoint(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|e| !e.trim().is_empty())
}

/// Every inventory write (create or update) the commercetools simulator received.
pub fn inventory_writes(bed: &Testbed) -> u64 {
    bed.ct
        .requests_by_route()
        .iter()
        .filter(|(route, _)| route.starts_with("POST") && route.contains("/inventory"))
        .map(|(_, n)| n)
        .sum()
}
