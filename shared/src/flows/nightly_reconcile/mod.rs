//! Flow `nightly-reconcile`: the net under the near-real-time flows. Whatever callbacks were
//! lost, a run brings commercetools back in line with the warehouse:
//!
//! 1. **Orders** ([`orders`]): commercetools orders of the last `order_days` without the
//!    export mark go back to the orders queue; the export flow exports each exactly once.
//! 2. **Despatches** ([`despatches`]): Peoplevox despatches since the last run's watermark
//!    without their commercetools delivery go to the shipments queue. Then **late tracking**
//!    ([`tracking`]): deliveries of the last `tracking_days` that still have a parcel without
//!    a tracking number are re-read in Peoplevox, and those it now shows more of (a tracking
//!    number or package whose callback was lost, days after the watermark passed them) go to
//!    the shipments queue too.
//! 3. **Statuses** ([`statuses`]): exported commercetools orders of the last `order_days` (and
//!    cancelled ones without the mark) are looked up in Peoplevox, 100 a request; a status
//!    callback that was lost, or a commercetools cancellation Peoplevox does not show, goes to
//!    the status queue as the message that was lost, and the status flow applies it under its
//!    own rules.
//! 4. **Stock**, per site ([`stock`]): every page of "Item inventory summary" (1,000 rows,
//!    through the request budget, leaving `budget_reserve` slots to the live flows) is
//!    compared with commercetools on the stock flow's own formula and facts, and only the
//!    entries that differ are written, with versions, through the stock flow's ledger.
//! 5. **commercetools-only entries**, per site ([`unmatched`]): the channel's inventory, read
//!    with an id cursor over concurrent id ranges, against the items Peoplevox listed.
//!
//! A run is resumable ([`run`]): its checkpoint is written after every page, an invocation
//! stops taking work `stop_before_deadline_s` before its deadline, and a message on the
//! reconcile queue ([`continuation`]) hands the run to the next invocation, which resumes
//! at the checkpoint. The drift report ([`report`]) goes to the audit log and the logs.

pub mod continuation;
mod despatches;
mod lost_returns;
pub mod metrics;
mod observer;
mod orders;
pub mod report;
pub mod run;
mod statuses;
mod stock;
mod stock_boundary;
mod tracking;
mod tracking_candidates;
mod unmatched;

use std::sync::Arc;

pub use continuation::{ContinuationReport, ContinueMessage};
pub use despatches::SWEEP_COLUMNS as DESPATCH_SWEEP_COLUMNS;
pub use observer::{Observer, Quiet};
pub use report::{DriftReport, SiteDrift};
pub use run::{RunState, Stage};

use crate::commercetools::{CtClient, CtError};
use crate::config::{ReconcileRules, ShipmentRules, StatusRules};
use crate::flows::shipment_confirmed::PackagesTemplate;
use crate::flows::stock_delta::StockDelta;
use crate::peoplevox::{PvxClient, PvxError};
use crate::store::{AuditEntry, AuditLog, Queue, StateStore, StoreError, now_epoch_ms};

/// Name of the flow in audit entries, logs and dead-letter attributes.
pub const FLOW: &str = "nightly-reconcile";

/// Why a unit of work failed (the run keeps its checkpoint and is retried).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// Peoplevox failed after its retries.
    #[error("Peoplevox: {0}")]
    Peoplevox(#[from] PvxError),
    /// commercetools failed after its retries.
    #[error("commercetools: {0}")]
    Commercetools(#[from] CtError),
    /// A queue failed.
    #[error("queue: {0}")]
    Queue(StoreError),
    /// Something the configuration does not allow.
    #[error("{0}")]
    Invalid(String),
}

impl ReconcileError {
    /// Whether the invocation's time ran out before a request could be sent.
    pub fn is_deadline(&self) -> bool {
        match self {
            Self::Peoplevox(e) => e.is_deadline(),
            Self::Commercetools(e) => e.is_deadline(),
            _ => false,
        }
    }
}

/// What a run is built from.
pub struct NightlyReconcileParts {
    /// commercetools client.
    pub ct: Arc<CtClient>,
    /// Peoplevox client, built with the reconciliation's budget reserve.
    pub pvx: Arc<PvxClient>,
    /// The stock flow: its formula, facts, ledger and writes.
    pub stock: Arc<StockDelta>,
    /// Checkpoints, seen items, watermarks; order links.
    pub state: Arc<dyn StateStore>,
    /// Drift reports.
    pub audit: Arc<dyn AuditLog>,
    /// The orders, shipments, status and reconcile queues.
    pub queue: Arc<dyn Queue>,
    /// `[reconcile]`.
    pub rules: ReconcileRules,
    /// `[shipments]`: the despatch report and packages template, and the carriers (the sweep
    /// of late tracking reads despatches as the shipment flow does).
    pub shipments: ShipmentRules,
    /// `[status]`: the status names, and the template the status sweep reads them from.
    pub status: StatusRules,
    /// Id of the OrderExport channel.
    pub export_channel_id: String,
    /// Pack SKUs (`orders.units_of_measure`): what a returned Peoplevox unit is on an order.
    pub skus: crate::mapping::SkuMap,
}

/// What to reconcile.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run id; default: `manual-<time>`. A scheduled run passes the schedule's time, so
    /// a retried start resumes the same run.
    pub id: Option<String>,
    /// Compare and report only.
    pub dry_run: bool,
    /// Only these sites (default: every `[stock.sites]` site).
    pub sites: Option<Vec<String>>,
    /// Skip the stock stages.
    pub skip_stock: bool,
    /// Skip the order sweep.
    pub skip_orders: bool,
    /// Skip the despatch sweep (and the sweep of late tracking with it).
    pub skip_despatches: bool,
    /// Skip the status sweep.
    pub skip_statuses: bool,
}

/// How much one invocation may do.
#[derive(Debug, Clone, Copy)]
pub struct WorkBudget {
    /// Take no new unit after this (epoch ms).
    pub stop_at_ms: i64,
    /// At most this many units (pages, sweeps); tests use it to interrupt a run.
    pub max_units: Option<u32>,
}

impl WorkBudget {
    /// No limit: a local run goes to the end.
    pub fn unlimited() -> Self {
        Self {
            stop_at_ms: i64::MAX,
            max_units: None,
        }
    }

    fn exhausted(&self, units: u32) -> bool {
        now_epoch_ms() >= self.stop_at_ms || self.max_units.is_some_and(|m| units >= m)
    }
}

/// Where a resumed run ended.
#[derive(Debug)]
pub enum Progress {
    /// Every stage is done; the report is final.
    Finished(Box<DriftReport>),
    /// The run had finished before (a repeated message); its report.
    AlreadyFinished(Box<DriftReport>),
    /// Out of time (or units): checkpointed, to be continued.
    Paused(String),
    /// Another invocation works on it.
    Busy,
    /// No such run.
    Unknown,
}

/// The flow.
pub struct NightlyReconcile {
    parts: NightlyReconcileParts,
    units_per_invocation: Option<u32>,
    /// Whether the tenant has the packages template, learnt on the first despatch read.
    packages: PackagesTemplate,
}

/// Units done in this invocation, and the budget they are counted against.
struct Work<'a> {
    budget: WorkBudget,
    units: u32,
    observer: &'a dyn Observer,
}

impl Work<'_> {
    fn exhausted(&self) -> bool {
        self.budget.exhausted(self.units)
    }
}

/// A sweep read a commercetools page at a time, with what its pages need.
enum Paged<'a> {
    /// Unexported orders created between the two times.
    Orders { after: &'a str, before: &'a str },
    /// Exported or cancelled orders created between the two times.
    Statuses { after: &'a str, before: &'a str },
    /// Orders modified since `after` whose deliveries may lack tracking.
    Tracking {
        after: &'a str,
        window: &'a tracking_candidates::Window,
    },
}

impl NightlyReconcile {
    /// Runs a paged sweep: one page at a time (each a unit, handled and checkpointed by its
    /// stage), until the last page or the budget is spent.
    async fn page_by_page(
        &self,
        sweep: Paged<'_>,
        current: &mut run::Versioned,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let (stage, pages): (run::Stage, fn(&run::Versioned) -> u64) = match sweep {
            Paged::Orders { .. } => (run::Stage::Orders, |c| {
                u64::from(c.state.report.orders.pages)
            }),
            Paged::Statuses { .. } => (run::Stage::Statuses, |c| {
                u64::from(c.state.report.statuses.pages)
            }),
            Paged::Tracking { .. } => (run::Stage::Tracking, |c| {
                u64::from(c.state.report.tracking.pages)
            }),
        };
        work.observer.stage(&stage, pages(current), None);
        loop {
            if work.exhausted() {
                return Ok(StageEnd::OutOfTime);
            }
            let last = match &sweep {
                Paged::Orders { after, before } => {
                    self.order_page(current, after, before, work).await?
                }
                Paged::Statuses { after, before } => {
                    self.status_page(current, after, before, work).await?
                }
                Paged::Tracking { after, window } => {
                    self.tracking_page(current, after, window, work).await?
                }
            };
            work.units += 1;
            work.observer.progress(&stage, pages(current), None);
            if last {
                return Ok(StageEnd::Done);
            }
        }
    }
}

/// How a stage left off.
enum StageEnd {
    Done,
    OutOfTime,
}

impl NightlyReconcile {
    /// The flow from its parts.
    pub fn new(parts: NightlyReconcileParts) -> Self {
        Self {
            parts,
            units_per_invocation: None,
            packages: PackagesTemplate::default(),
        }
    }

    /// Test hook: an invocation resumed from the queue stops after this many units, as if
    /// its time had run out.
    pub fn with_units_per_invocation(mut self, units: Option<u32>) -> Self {
        self.units_per_invocation = units;
        self
    }

    /// The Peoplevox client (its request counter feeds the metrics).
    pub fn peoplevox(&self) -> &PvxClient {
        &self.parts.pvx
    }

    /// The stages a run of `options` goes through.
    fn stages(&self, options: &RunOptions) -> Result<Vec<Stage>, ReconcileError> {
        let rules = &self.parts.rules;
        let mut stages = Vec::new();
        if rules.orders && !options.skip_orders {
            stages.push(Stage::Orders);
        }
        if rules.despatches && !options.skip_despatches {
            stages.push(Stage::Despatches);
            if rules.tracking_days > 0 {
                stages.push(Stage::Tracking);
            }
        }
        if rules.statuses && !options.skip_statuses {
            stages.push(Stage::Statuses);
        }
        if rules.stock && !options.skip_stock {
            let known = self.parts.stock.site_channels();
            let sites: Vec<String> = match &options.sites {
                Some(sites) => {
                    if let Some(unknown) = sites.iter().find(|s| !known.contains_key(*s)) {
                        return Err(ReconcileError::Invalid(format!(
                            "site `{unknown}` is not in [stock.sites] (known: {})",
                            known.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                    sites.clone()
                }
                None => known.keys().cloned().collect(),
            };
            for site in &sites {
                stages.push(Stage::Stock { site: site.clone() });
            }
            for site in sites {
                stages.push(Stage::Unmatched { site });
            }
        }
        Ok(stages)
    }

    /// Creates a run (or finds the one with this id) and returns its checkpoint.
    pub async fn start(&self, options: &RunOptions) -> Result<RunState, ReconcileError> {
        let now = now_epoch_ms();
        let id = options
            .id
            .clone()
            .unwrap_or_else(|| format!("manual-{now}"));
        if id.is_empty() || id.len() > 128 || id.contains('#') {
            return Err(ReconcileError::Invalid(format!(
                "run id `{id}` must be 1..=128 characters without `#`"
            )));
        }
        let stages = self.stages(options)?;
        let state = RunState {
            id: id.clone(),
            dry_run: options.dry_run,
            stages,
            cursor: run::Cursor {
                page: 1,
                ..run::Cursor::default()
            },
            report: DriftReport {
                run: id,
                dry_run: options.dry_run,
                started_at_ms: now,
                ..DriftReport::default()
            },
            lease: None,
        };
        let created = run::create(self.parts.state.as_ref(), state).await?;
        Ok(created.state)
    }

    /// Works on a run until it is finished or the budget is spent; the checkpoint is written
    /// after every unit, so a crash loses at most the unit in hand.
    pub async fn resume(
        &self,
        id: &str,
        budget: WorkBudget,
        observer: &dyn Observer,
    ) -> Result<Progress, ReconcileError> {
        let state = self.parts.state.as_ref();
        let holder = uuid::Uuid::new_v4().to_string();
        // The lease never outlives the holder: at most a little past its hard deadline.
        let cap = budget.stop_at_ms.saturating_add(
            i64::try_from(self.parts.rules.stop_before_deadline_s * 1000 + 30_000)
                .unwrap_or(i64::MAX),
        );
        let mut current = match run::lease(state, id, &holder, cap).await? {
            run::Leased::Taken(current) => *current,
            run::Leased::Busy => return Ok(Progress::Busy),
            run::Leased::Unknown => return Ok(Progress::Unknown),
            run::Leased::Finished(done) => {
                return Ok(Progress::AlreadyFinished(Box::new(done.report)));
            }
        };
        let mut work = Work {
            budget,
            units: 0,
            observer,
        };
        let result = self.work(&mut current, &mut work).await;
        match result {
            Ok(true) => {
                let report = self.finish(&mut current).await?;
                Ok(Progress::Finished(Box::new(report)))
            }
            Ok(false) if work.units == 0 && work.budget.max_units != Some(0) => {
                // Handing on without progress would loop for ever: say why instead, so the
                // message is retried and then parked with this reason.
                run::release(state, &mut current).await?;
                Err(ReconcileError::Invalid(format!(
                    "run {id}: no time left for any work (stop {} ms from now); give the function more time than reconcile.stop_before_deadline_s ({} s) plus a page",
                    work.budget.stop_at_ms - now_epoch_ms(),
                    self.parts.rules.stop_before_deadline_s
                )))
            }
            Ok(false) => {
                run::release(state, &mut current).await?;
                Ok(Progress::Paused(id.to_string()))
            }
            Err(e) if e.is_deadline() && work.units > 0 => {
                // The invocation's time ran out in the middle of a unit (a page waiting for
                // the budget, say): the units before it are checkpointed, so the run is handed
                // on like one out of time, not retried as a failure.
                tracing::info!(run = id, error = %e, "reconcile unit cut at the deadline; handing the run on");
                run::release_after_failure(state, id, &holder).await?;
                Ok(Progress::Paused(id.to_string()))
            }
            Err(e) => {
                // The work done so far is checkpointed; the next attempt resumes after it.
                if let Err(release) = run::release_after_failure(state, id, &holder).await {
                    tracing::warn!(run = id, error = %release, "reconcile lease not released");
                }
                Err(e)
            }
        }
    }

    /// Starts a run and works on it to the end, in this process (the operator's command).
    pub async fn run_to_end(
        &self,
        options: &RunOptions,
        observer: &dyn Observer,
    ) -> Result<DriftReport, ReconcileError> {
        let state = self.start(options).await?;
        loop {
            match self
                .resume(&state.id, WorkBudget::unlimited(), observer)
                .await?
            {
                Progress::Finished(report) | Progress::AlreadyFinished(report) => {
                    return Ok(*report);
                }
                Progress::Paused(_) => continue,
                Progress::Busy => {
                    return Err(ReconcileError::Invalid(format!(
                        "run {} is being worked on by another invocation",
                        state.id
                    )));
                }
                Progress::Unknown => {
                    return Err(ReconcileError::Invalid(format!(
                        "run {} vanished",
                        state.id
                    )));
                }
            }
        }
    }

    /// Runs stages until done (`true`) or out of budget (`false`).
    async fn work(
        &self,
        current: &mut run::Versioned,
        work: &mut Work<'_>,
    ) -> Result<bool, ReconcileError> {
        loop {
            let Some(stage) = current.state.stage().cloned() else {
                return Ok(true);
            };
            if work.exhausted() {
                return Ok(false);
            }
            let end = match &stage {
                Stage::Orders => self.sweep_orders(current, work).await?,
                Stage::Despatches => self.sweep_despatches(current, work).await?,
                Stage::Tracking => self.sweep_tracking(current, work).await?,
                Stage::Statuses => self.sweep_statuses(current, work).await?,
                Stage::Stock { site } => self.stock_stage(current, site, work).await?,
                Stage::Unmatched { site } => self.unmatched_stage(current, site, work).await?,
            };
            match end {
                StageEnd::Done => {
                    current.state.next_stage();
                    run::save(self.parts.state.as_ref(), current).await?;
                }
                StageEnd::OutOfTime => return Ok(false),
            }
        }
    }

    /// Closes the run: the report gets its end time, goes to the audit log and the logs.
    async fn finish(&self, current: &mut run::Versioned) -> Result<DriftReport, ReconcileError> {
        let report = &mut current.state.report;
        report.finished_at_ms = Some(now_epoch_ms());
        current.state.lease = None;
        run::save(self.parts.state.as_ref(), current).await?;
        let report = current.state.report.clone();
        let summary = report.summary();
        tracing::info!(run = %report.run, %summary, "reconcile finished");
        let detail = serde_json::to_value(&report).unwrap_or_default();
        for (entity, outcome, detail) in [
            (report_entity(&report.run), "report", detail),
            (
                RUNS_ENTITY.to_string(),
                "finished",
                serde_json::json!({ "run": report.run, "summary": summary }),
            ),
        ] {
            let entry = AuditEntry {
                entity,
                at_ms: now_epoch_ms(),
                flow: FLOW.into(),
                outcome: outcome.into(),
                reason: None,
                detail,
            };
            if let Err(e) = self.parts.audit.append(&entry).await {
                tracing::error!(run = %report.run, error = %e, "drift report not written to the audit log");
            }
        }
        Ok(report)
    }
}

/// The audit entity that lists every finished run.
pub const RUNS_ENTITY: &str = "reconcile-runs";

/// The audit entity of one run's drift report.
pub fn report_entity(run: &str) -> String {
    format!("reconcile#{run}")
}

/// The drift report of a finished run (`None` while it runs, or for an unknown run).
pub async fn drift_report(
    audit: &dyn crate::store::AuditLog,
    run: &str,
) -> Result<Option<DriftReport>, crate::store::StoreError> {
    let Some(entry) = audit.list_recent(&report_entity(run), 1).await?.pop() else {
        return Ok(None);
    };
    serde_json::from_value(entry.detail)
        .map(Some)
        .map_err(|e| crate::store::StoreError::Corrupt(format!("drift report of {run}: {e}")))
}
