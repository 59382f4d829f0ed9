//! The soak's pipeline in this process: [`LocalStack`]'s workers over the embedded store or
//! moto, every queue call kept in the books ([`TallyQueue`]), batches killed after their side
//! effects and settling calls stalled until the worker's Lambda limits kill them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use ctpvx_shared::flows::nightly_reconcile::{
    DriftReport, NightlyReconcile, Progress as RunProgress, Quiet, RunOptions, WorkBudget,
};
use ctpvx_shared::queues::RECONCILE_MAX_RECEIVE_COUNT;
use ctpvx_shared::store::{AuditLog, Queue};

use crate::local::LocalStack;
use crate::local::drain::Drains;
use crate::local::lambda_limits::LambdaLimits;
use crate::local::worker::Chance;
use crate::reconcile_scenario;
use crate::testbed::Testbed;

use super::FaultRates;
use super::engine::{Engine, NetRun};
use super::tally::{Tally, TallyQueue};

/// The in-process pipeline and its fault switches.
pub struct InProcess {
    /// The workers and the webhook server.
    pub stack: LocalStack,
    /// The books of every queue call.
    pub tally: Arc<TallyQueue>,
    /// Batches killed after their side effects.
    pub kill: Arc<Chance>,
    /// Batches acknowledged after their visibility timeout.
    pub late: Arc<AtomicU64>,
    /// The workers' Lambda limits.
    pub limits: Arc<LambdaLimits>,
}

impl Drains for InProcess {
    fn queues(&self) -> &dyn Queue {
        self.stack.queue.as_ref()
    }
}

#[async_trait]
impl Engine for InProcess {
    fn url(&self) -> String {
        self.stack.server.url.clone()
    }

    fn audit(&self) -> Arc<dyn AuditLog> {
        self.stack.stores.audit.clone()
    }

    fn faults_on(&self, rates: &FaultRates) {
        self.kill.set_rate(rates.worker_kills);
        self.limits.stalls.set_rate(rates.settle_stalls);
    }

    fn faults_off(&self) {
        self.kill.set_rate(0.0);
        self.limits.stalls.set_rate(0.0);
    }

    async fn reconcile(&self, bed: &Testbed) -> anyhow::Result<NetRun> {
        let flow = reconcile_flow(bed, &self.stack).await?;
        let report = reconcile(&flow).await?;
        Ok(NetRun {
            updated: report.updated(),
            orders_requeued: report.orders.requeued,
            despatches_requeued: report.despatches.requeued,
            failed: report.failed(),
        })
    }

    fn tally(&self) -> Tally {
        self.tally.tally()
    }

    fn unsettled(&self) -> (Value, Vec<String>) {
        (
            json!(self.tally.unsettled_by_queue()),
            self.tally.unsettled_examples(5),
        )
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.stack.stop().await })
    }

    async fn add_figures(&self, figures: &mut Value) {
        let stock = self.stack.stock_totals.lock().await.clone();
        let orders = self.stack.totals.lock().await.clone();
        figures["orders"]["duplicate_events_skipped"] = json!(orders.duplicates);
        figures["stock"]["events"] = json!(stock.events);
        figures["stock"]["writes"] = json!(stock.writes + stock.created);
        figures["stock"]["stale"] = json!(stock.stale);
        figures["stock"]["conflicts"] = json!(stock.conflicts);
        let faults = &mut figures["faults"];
        faults["worker_batches_killed"] = json!(self.kill.hits());
        faults["worker_batches_late"] = json!(self.late.load(Ordering::Relaxed));
        faults["settle_stalls"] = json!(self.limits.stalls.hits());
        faults["deadline_kills"] = json!(self.limits.kills());
        faults["init_failures"] = json!(self.limits.init_failures());
        faults["flow_overruns"] = json!(self.limits.overruns());
    }
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
