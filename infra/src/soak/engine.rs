//! What runs the pipeline under the soak: the in-process workers ([`super::in_process`]) or
//! the shipped function binaries on the local stack ([`super::on_stack`]). The scenario, the
//! faults of the simulators, the net and the invariant checker are the same over both; this is
//! what differs.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::Value;

use ctpvx_shared::store::AuditLog;

use crate::local::drain::Drains;
use crate::testbed::Testbed;

use super::FaultRates;
use super::tally::Tally;

/// What one reconciliation run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetRun {
    /// Entries it wrote.
    pub updated: usize,
    /// Orders it re-queued.
    pub orders_requeued: usize,
    /// Despatches it re-queued.
    pub despatches_requeued: usize,
    /// Failures it reported.
    pub failed: usize,
}

/// The pipeline under the soak.
#[async_trait]
pub trait Engine: Drains + Send {
    /// The webhook ingress's base URL (the storefront posts there; Peoplevox calls back there).
    fn url(&self) -> String;
    /// The audit log.
    fn audit(&self) -> Arc<dyn AuditLog>;
    /// Switches the pipeline's own faults on (killed batches, stalled queue calls).
    fn faults_on(&self, rates: &FaultRates);
    /// Switches them off.
    fn faults_off(&self);
    /// One reconciliation run, started where the deployment starts it, run to its end.
    async fn reconcile(&self, bed: &Testbed) -> anyhow::Result<NetRun>;
    /// The books of the source queues.
    fn tally(&self) -> Tally;
    /// Messages neither applied nor parked: per queue, and a few ids.
    fn unsettled(&self) -> (Value, Vec<String>);
    /// Adds what only this engine knows to the run's figures.
    async fn add_figures(&self, figures: &mut Value);
    /// Stops the pipeline.
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}
