//! One process running the whole pipeline: ingress server, the orders, stock, shipments and
//! status queues with their dead-letter queues, and workers for each — on the embedded store,
//! or on DynamoDB tables and SQS queues ([`LocalStack::start_on`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ctpvx_shared::app::{self, SetupError, Stores};
use ctpvx_shared::commercetools::client::CtClient;
use ctpvx_shared::config::{Config, Secrets};
use ctpvx_shared::embedded::{DeadLetter, EmbeddedStore, QueueSpec};
use ctpvx_shared::flows::batch::BatchFlow;
use ctpvx_shared::flows::order_export::{BatchReport, CrashPoint, OrderExport, SweepReport};
use ctpvx_shared::flows::order_status::{OrderStatus, StatusReport};
use ctpvx_shared::flows::shipment_confirmed::{ShipmentConfirmed, ShipmentReport};
use ctpvx_shared::flows::stock_delta::{StockCrash, StockDelta, StockReport};
use ctpvx_shared::flows::{order_export, order_status, shipment_confirmed, stock_delta};
use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::peoplevox::client::PvxClient;
use ctpvx_shared::store::{AuditLog, Queue, QueueDepth, StoreError};
use ctpvx_shared::webhook::Webhooks;

use super::drain::Drains;
use super::lambda_limits::LambdaLimits;
use super::server::WebhookServer;
use super::worker::{self, Chance, FreshFlow, WorkerOptions};

pub use ctpvx_shared::queues::{
    ORDERS_DLQ, ORDERS_MAX_RECEIVE_COUNT, ORDERS_QUEUE, QUEUE_PAIRS, RECONCILE_DLQ,
    RECONCILE_QUEUE, SHIPMENTS_DLQ, SHIPMENTS_QUEUE, STATUS_DLQ, STATUS_QUEUE, STOCK_DLQ,
    STOCK_MAX_RECEIVE_COUNT, STOCK_QUEUE,
};

/// The orders event source's `BatchSize` in template.yaml.
pub const ORDERS_BATCH_SIZE: usize = 500;

/// Declares every queue and its dead-letter queue in the embedded store, with the redrive
/// policy template.yaml gives them in AWS.
pub fn declare_queues(store: &EmbeddedStore) -> Result<(), StoreError> {
    for (queue, dlq, max_receive_count) in QUEUE_PAIRS {
        store.declare_queue(dlq, QueueSpec::default())?;
        let redrive = DeadLetter {
            queue: dlq.into(),
            max_receive_count,
        };
        store.declare_queue(
            queue,
            QueueSpec {
                dead_letter: Some(redrive),
            },
        )?;
    }
    Ok(())
}

/// What every flow is built from: configuration, stores, both clients and the queues.
type Parts = (
    Arc<Config>,
    Stores,
    Arc<CtClient>,
    Arc<PvxClient>,
    Arc<dyn Queue>,
);

/// Where each instance of a flow gets its parts.
#[derive(Clone)]
struct PartsSource {
    /// The stack's own clients (whose request counters it reports).
    shared: Parts,
    secrets: Secrets,
}

impl PartsSource {
    /// The shared parts with new clients, as a cold start makes them: a new commercetools
    /// token and WSDL; the Peoplevox session and request budget live in the state store.
    fn fresh(&self) -> Result<Parts, SetupError> {
        let (config, stores, _, _, queue) = self.shared.clone();
        let (ct, pvx) = app::clients(&config, &self.secrets, stores.state.clone())?;
        Ok((config, stores, ct, pvx, queue))
    }
}

/// Makes instances of a flow, each built by `build` when first needed: one per execution
/// environment. The first runs on the stack's own clients, every later one (a cold start
/// after a killed invocation) on new ones.
fn lazy<F, B, Fut>(name: &'static str, source: &PartsSource, build: B) -> FreshFlow<F>
where
    F: Send + Sync + 'static,
    B: Fn(Parts) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<F, SetupError>> + Send + 'static,
{
    let source = source.clone();
    let first = Arc::new(AtomicBool::new(true));
    Arc::new(move || {
        let warm = first.swap(false, Ordering::Relaxed);
        let (source, build) = (source.clone(), build.clone());
        LazyFlow::new(name, move || {
            let parts = if warm {
                Ok(source.shared.clone())
            } else {
                source.fresh()
            };
            let build = build.clone();
            async move { build(parts?).await }
        })
    })
}

/// The flow's instance shared by the stack's workers, and how to make new ones.
struct Instances<F> {
    warm: Arc<LazyFlow<F>>,
    fresh: FreshFlow<F>,
}

impl<F: Send + Sync> Instances<F> {
    fn new(fresh: FreshFlow<F>) -> Self {
        Self {
            warm: Arc::new(fresh()),
            fresh,
        }
    }
}

/// What every worker of the stack shares.
struct Shared<'a> {
    queue: &'a Arc<dyn Queue>,
    audit: &'a Arc<dyn AuditLog>,
    limits: &'a Option<Arc<LambdaLimits>>,
    stop: &'a Arc<AtomicBool>,
}

/// Starts `count` (at least one) workers of a flow on the store's queues.
fn spawn_workers<F: BatchFlow + 'static>(
    count: usize,
    flow: &Instances<F>,
    shared: &Shared<'_>,
    options: WorkerOptions,
    totals: &Arc<tokio::sync::Mutex<F::Report>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count.max(1))
        .map(|_| {
            tokio::spawn(worker::run(
                flow.warm.clone(),
                flow.fresh.clone(),
                shared.queue.clone(),
                shared.audit.clone(),
                options.clone(),
                shared.limits.clone(),
                shared.stop.clone(),
                totals.clone(),
            ))
        })
        .collect()
}

/// How the stack runs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the webhook server listens (port 0: any free port).
    pub listen: SocketAddr,
    /// Concurrent order workers (the function's reserved concurrency).
    pub workers: usize,
    /// Concurrent stock workers.
    pub stock_workers: usize,
    /// Concurrent workers of the shipments queue and of the status queue (Lambda scales
    /// these with their queues too; one each is enough for the demo's trickle).
    pub event_workers: usize,
    /// Largest batch of the stock, shipments and status queues.
    pub batch_size: usize,
    /// Largest batch of the orders queue: the orders event source's `BatchSize` (template.yaml),
    /// one SaveData pair.
    pub orders_batch_size: usize,
    /// Visibility timeout.
    pub visibility: Duration,
    /// Time a batch may take; `None`: the Timeout of the function that reads its queue in AWS
    /// ([`ctpvx_shared::queues::function_timeout`]).
    pub timeout: Option<Duration>,
    /// Builds each flow at its workers' first batch, as a Lambda does at its first
    /// invocation, instead of at the start (which then fails when a flow cannot be built).
    pub lazy_start: bool,
    /// How long an idle worker waits before polling its queue again (SQS long polling
    /// answers as soon as a message arrives; a shorter pause comes closer to that).
    pub idle_pause: Duration,
    /// Test hook: order workers die at this point.
    pub crash: Option<CrashPoint>,
    /// Test hook: stock workers die at this point.
    pub stock_crash: Option<StockCrash>,
    /// Fault injection: every worker dies after its side effects on a share of batches.
    pub kill: Option<Arc<Chance>>,
    /// Counts batches acknowledged after their visibility timeout (see [`WorkerOptions::late`]).
    pub late: Option<Arc<AtomicU64>>,
    /// Lambda's limits enforced on every worker: its function's Timeout (scaled, and in place
    /// of [`StackOptions::timeout`]), killed at it, a cold start after.
    pub lambda: Option<Arc<LambdaLimits>>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 2,
            stock_workers: 2,
            event_workers: 1,
            batch_size: 100,
            orders_batch_size: ORDERS_BATCH_SIZE,
            visibility: Duration::from_secs(2),
            timeout: None,
            lazy_start: false,
            idle_pause: Duration::from_millis(50),
            crash: None,
            stock_crash: None,
            kill: None,
            late: None,
            lambda: None,
        }
    }
}

/// The running pipeline.
pub struct LocalStack {
    /// Webhook server.
    pub server: WebhookServer,
    /// State store, idempotency store and audit log.
    pub stores: Stores,
    /// The queues.
    pub queue: Arc<dyn Queue>,
    /// The flow (also for the held-order sweep).
    pub flow: Arc<LazyFlow<OrderExport>>,
    /// The stock flow.
    pub stock: Arc<LazyFlow<StockDelta>>,
    /// The shipment flow.
    pub shipments: Arc<LazyFlow<ShipmentConfirmed>>,
    /// Everything the shipment workers did.
    pub shipment_totals: Arc<tokio::sync::Mutex<ShipmentReport>>,
    /// The status flow.
    pub statuses: Arc<LazyFlow<OrderStatus>>,
    /// Everything the status workers did.
    pub status_totals: Arc<tokio::sync::Mutex<StatusReport>>,
    /// commercetools client (its request counter).
    pub ct: Arc<CtClient>,
    /// Peoplevox client (its request counter).
    pub pvx: Arc<PvxClient>,
    /// Everything the order workers did.
    pub totals: Arc<tokio::sync::Mutex<BatchReport>>,
    /// Everything the stock workers did.
    pub stock_totals: Arc<tokio::sync::Mutex<StockReport>>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalStack {
    /// On the embedded store: declares the queues, then [`LocalStack::start_on`].
    pub async fn start(
        config: &Config,
        secrets: &Secrets,
        store: Arc<EmbeddedStore>,
        options: StackOptions,
    ) -> Result<Self, SetupError> {
        declare_queues(&store).map_err(|e| SetupError(format!("embedded store: {e}")))?;
        let stores = Stores {
            state: store.clone(),
            idempotency: store.clone(),
            audit: store.clone(),
        };
        Self::start_on(config, secrets, stores, store, options).await
    }

    /// On stores and queues that exist (every queue with its dead-letter queue): builds
    /// clients and flows (checking templates and channels; at the first batch with
    /// [`StackOptions::lazy_start`]), starts the server and workers.
    pub async fn start_on(
        config: &Config,
        secrets: &Secrets,
        stores: Stores,
        queue: Arc<dyn Queue>,
        options: StackOptions,
    ) -> Result<Self, SetupError> {
        let (ct, pvx) = app::clients(config, secrets, stores.state.clone())?;
        let stock_configured = !config.stock.sites.is_empty();
        let parts = PartsSource {
            shared: (
                Arc::new(config.clone()),
                stores.clone(),
                ct.clone(),
                pvx.clone(),
                queue.clone(),
            ),
            secrets: secrets.clone(),
        };
        let flow = Instances::new(lazy(
            order_export::FLOW,
            &parts,
            move |(c, s, ct, pvx, q)| {
                let (crash, hints) = (options.crash, stock_configured.then_some(q));
                async move {
                    let flow = app::order_export(&c, &s, ct, pvx).await?;
                    Ok(flow.crash_at(crash).with_stock_hints(hints))
                }
            },
        ));
        let stock = Instances::new(lazy(
            stock_delta::FLOW,
            &parts,
            move |(c, s, ct, pvx, q)| {
                let crash = options.stock_crash;
                async move {
                    let flow = app::stock_delta(&c, &s, ct, pvx, Some(q)).await?;
                    Ok(flow.crash_at(crash))
                }
            },
        ));
        let shipments = Instances::new(lazy(
            shipment_confirmed::FLOW,
            &parts,
            |(c, s, ct, pvx, _)| async move { app::shipment_confirmed(&c, &s, ct, pvx).await },
        ));
        let statuses = Instances::new(lazy(
            order_status::FLOW,
            &parts,
            |(c, s, ct, pvx, _)| async move { app::order_status(&c, &s, ct, pvx).await },
        ));
        if !options.lazy_start {
            flow.warm.get().await?;
            stock.warm.get().await?;
            shipments.warm.get().await?;
            statuses.warm.get().await?;
        }
        let hooks = Arc::new(Webhooks::new(queue.clone(), secrets, &config.webhook));
        let server = WebhookServer::start(hooks, options.listen)
            .await
            .map_err(|e| SetupError(format!("webhook server on {}: {e}", options.listen)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let totals = Arc::new(tokio::sync::Mutex::new(BatchReport::default()));
        let stock_totals = Arc::new(tokio::sync::Mutex::new(StockReport::default()));
        let shipment_totals = Arc::new(tokio::sync::Mutex::new(ShipmentReport::default()));
        let status_totals = Arc::new(tokio::sync::Mutex::new(StatusReport::default()));
        let worker_options = |queue: &str| WorkerOptions {
            retry: ctpvx_shared::queues::retry_policy(queue),
            batch_size: if queue == ORDERS_QUEUE {
                options.orders_batch_size
            } else {
                options.batch_size
            },
            visibility: options.visibility,
            timeout: match (&options.lambda, options.timeout) {
                (Some(limits), _) => limits.timeout(queue),
                (None, Some(timeout)) => timeout,
                (None, None) => ctpvx_shared::queues::function_timeout(queue),
            },
            idle_pause: options.idle_pause,
            kill: options.kill.clone(),
            late: options.late.clone(),
        };
        let audit = stores.audit.clone();
        let shared = Shared {
            queue: &queue,
            audit: &audit,
            limits: &options.lambda,
            stop: &stop,
        };
        let mut workers = spawn_workers(
            options.workers,
            &flow,
            &shared,
            worker_options(ORDERS_QUEUE),
            &totals,
        );
        workers.extend(spawn_workers(
            options.stock_workers,
            &stock,
            &shared,
            worker_options(STOCK_QUEUE),
            &stock_totals,
        ));
        workers.extend(spawn_workers(
            options.event_workers.max(1),
            &shipments,
            &shared,
            worker_options(SHIPMENTS_QUEUE),
            &shipment_totals,
        ));
        workers.extend(spawn_workers(
            options.event_workers.max(1),
            &statuses,
            &shared,
            worker_options(STATUS_QUEUE),
            &status_totals,
        ));
        Ok(Self {
            server,
            stores,
            queue,
            flow: flow.warm,
            stock: stock.warm,
            stock_totals,
            shipments: shipments.warm,
            shipment_totals,
            statuses: statuses.warm,
            status_totals,
            ct,
            pvx,
            totals,
            stop,
            workers,
        })
    }

    /// Depth of a queue.
    pub async fn depth(&self, queue: &str) -> QueueDepth {
        self.queue.depth(queue).await.unwrap_or_default()
    }

    /// Waits until the orders queue is empty (nothing visible, nothing in flight) or `limit`
    /// passes; returns whether it drained.
    pub async fn wait_drained(&self, limit: Duration) -> bool {
        self.wait_queues_drained(&[ORDERS_QUEUE], limit).await
    }

    /// Waits until every one of `queues` is empty at the same time, or `limit` passes.
    /// The embedded queue counts a delayed message (a confirming re-read) as in flight until
    /// it is due, so this also waits for those.
    pub async fn wait_queues_drained(&self, queues: &[&str], limit: Duration) -> bool {
        super::drain::wait_drained(self.queue.as_ref(), queues, limit).await
    }

    /// Re-queues held orders whose items now exist.
    pub async fn sweep_held(&self) -> Result<SweepReport, String> {
        let flow = self.flow.get().await.map_err(|e| e.to_string())?;
        flow.retry_held(self.queue.as_ref(), ORDERS_QUEUE).await
    }

    /// Flow builds that failed so far, over every flow (a start during an outage).
    pub fn build_failures(&self) -> u64 {
        self.flow.build_failures()
            + self.stock.build_failures()
            + self.shipments.build_failures()
            + self.statuses.build_failures()
    }

    /// Stops the workers after their current batch.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = w.await;
        }
    }
}

impl Drains for LocalStack {
    fn queues(&self) -> &dyn Queue {
        self.queue.as_ref()
    }
}
