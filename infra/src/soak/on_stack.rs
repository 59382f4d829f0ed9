//! The soak's pipeline as shipped: the six function binaries on the local stack
//! ([`crate::stack`]), wired as template.yaml declares them, on moto. The storefront's order
//! messages and Peoplevox's callbacks go through the HTTP API to the webhooks binary, the
//! queue-fed binaries take their batches from the event source mappings, and the nightly
//! reconciliation is started by its Schedule event. The pipeline's own fault: a share of the
//! queue-fed functions' settling SQS calls stall past their Timeout ([`crate::stack::sqs_stall`]),
//! so that the stack kills those invocations (SIGKILL) and their batches come back after the
//! visibility timeout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use ctpvx_shared::app::Stores;
use ctpvx_shared::queues::RECONCILE_QUEUE;
use ctpvx_shared::store::{AuditLog, Queue};

use crate::local::drain::Drains;
use crate::local::worker::Chance;
use crate::stack::instance::Outcome;
use crate::stack::parameters::Given;
use crate::stack::{Stack, StackOptions};
use crate::testbed::Testbed;

use super::FaultRates;
use super::engine::{Engine, NetRun};
use super::tally::Tally;

/// The binary whose schedule starts the nightly reconciliation.
const RECONCILE_BINARY: &str = "nightly-reconcile";
/// How long one reconciliation run may take to finish.
const RECONCILE_LIMIT: Duration = Duration::from_secs(600);

/// Where the stack comes from.
#[derive(Debug, Clone)]
pub struct StackSource {
    /// The moto server.
    pub aws: String,
    /// template.yaml.
    pub template: PathBuf,
    /// The function binaries.
    pub bin_dir: PathBuf,
    /// One log file per binary here.
    pub log_dir: Option<PathBuf>,
}

/// The stack and what the soak reads through it.
pub struct OnStack {
    /// The running stack.
    pub stack: Stack,
    queue: Arc<dyn Queue>,
    stores: Stores,
    stalls: Arc<Chance>,
}

impl OnStack {
    /// Starts the stack for `bed` with `config_text` (the soak's client settings),
    /// template.yaml's times divided by `time_scale`.
    pub async fn start(
        bed: &Testbed,
        config_text: String,
        source: &StackSource,
        time_scale: u32,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let stalls = Arc::new(Chance::new(0.0, seed ^ 0x5a11));
        let stack = Stack::start(StackOptions {
            template: source.template.clone(),
            bin_dir: source.bin_dir.clone(),
            aws_endpoint: source.aws.clone(),
            given: Given {
                config_text,
                secrets: bed.secret_map(),
                parameters: BTreeMap::new(),
            },
            time_scale,
            min_timeout: Duration::from_secs(2),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            log_dir: source.log_dir.clone(),
            run_rates: true,
            max_instances: 4,
            stalls: Some(stalls.clone()),
        })
        .await?;
        let (stores, queue) = crate::stack::stores::of(&stack, &source.aws).await?;
        Ok(Self {
            stack,
            queue,
            stores,
            stalls,
        })
    }

    /// The state store (Peoplevox subscriptions are recorded there).
    pub fn stores(&self) -> &Stores {
        &self.stores
    }
}

impl Drains for OnStack {
    fn queues(&self) -> &dyn Queue {
        self.queue.as_ref()
    }
}

#[async_trait]
impl Engine for OnStack {
    fn url(&self) -> String {
        self.stack.url.clone()
    }

    fn audit(&self) -> Arc<dyn AuditLog> {
        self.stores.audit.clone()
    }

    fn faults_on(&self, rates: &FaultRates) {
        self.stalls.set_rate(rates.settle_stalls);
    }

    fn faults_off(&self) {
        self.stalls.set_rate(0.0);
    }

    async fn reconcile(&self, _bed: &Testbed) -> anyhow::Result<NetRun> {
        let schedule = self
            .stack
            .schedule_of(RECONCILE_BINARY)
            .context("the template has no schedule for the nightly reconciliation")?
            .clone();
        let before = self.stack.metrics_of(RECONCILE_BINARY);
        match self.stack.trigger(&schedule).await? {
            Outcome::Response(_) => {}
            other => bail!("the nightly reconciliation did not start: {other:?}"),
        }
        // The run continues through the reconcile queue until it finishes.
        let started = Instant::now();
        if !self
            .wait_queues_drained(&[RECONCILE_QUEUE], RECONCILE_LIMIT)
            .await
        {
            bail!(
                "the reconciliation run did not finish within {:?}",
                started.elapsed()
            );
        }
        let after = self.stack.metrics_of(RECONCILE_BINARY);
        let grew = |name: &str| {
            (after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0))
                .max(0.0) as usize
        };
        Ok(NetRun {
            updated: grew("ReconcileUpdated"),
            orders_requeued: grew("ReconcileOrdersRequeued"),
            despatches_requeued: grew("ReconcileDespatchesRequeued"),
            failed: grew("ReconcileFailed"),
        })
    }

    fn tally(&self) -> Tally {
        let books = self.stack.books.figures();
        Tally {
            sent: books.received,
            settled: books.deleted,
            unsettled: books.received - books.deleted,
        }
    }

    fn unsettled(&self) -> (Value, Vec<String>) {
        let books = self.stack.books.figures();
        (json!(books.unsettled_by_queue), books.unsettled_examples)
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.stack.stop().await })
    }

    async fn add_figures(&self, figures: &mut Value) {
        let stock = self.stack.metrics_of("stock-delta");
        figures["stock"]["events"] = json!(stock.get("Events").copied().unwrap_or(0.0));
        figures["faults"]["settle_stalls"] = json!(self.stalls.hits());
        figures["faults"]["deadline_kills"] = json!(self.stack.timeout_kills());
        figures["stack"] = self.stack.figures();
    }
}
