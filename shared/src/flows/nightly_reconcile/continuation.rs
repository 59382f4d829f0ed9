//! Handing a run from one invocation to the next: a message on the reconcile queue names the
//! run; the invocation that receives it resumes at the checkpoint, works until its time is
//! nearly out, and sends the next message before it acknowledges its own. A crash leaves the
//! message to come back after the visibility timeout (the lease has lapsed by then), so the
//! run goes on from its last checkpoint; after the queue's receive count it is parked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DriftReport, FLOW, NightlyReconcile, Progress, Quiet, WorkBudget};
use crate::flows::batch::{BatchFlow, BatchOutcomes, InputRecord, RecordOutcome, RecordOutcomes};
use crate::queues::RECONCILE_QUEUE;
use crate::store::Queue;

/// The body of a continuation message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinueMessage {
    /// The run to resume.
    pub run: String,
}

/// What the continuation messages of a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ContinuationReport {
    /// Outcome per message.
    #[serde(flatten)]
    pub records: RecordOutcomes,
    /// Runs that finished.
    pub finished: usize,
    /// Runs checkpointed and handed on.
    pub handed_on: usize,
    /// Messages for runs another invocation holds, or already finished: dropped.
    pub dropped: usize,
    /// The reports of the runs that finished in this batch (for metrics).
    #[serde(skip)]
    pub reports: Vec<DriftReport>,
}

impl BatchOutcomes for ContinuationReport {
    fn records(&self) -> &RecordOutcomes {
        &self.records
    }
    fn absorb(&mut self, other: &Self) {
        self.finished += other.finished;
        self.handed_on += other.handed_on;
        self.dropped += other.dropped;
        self.reports.extend(other.reports.iter().cloned());
        self.records.absorb(&other.records);
    }
}

/// What one message came to, for the counts.
enum Handled {
    Finished(Box<DriftReport>),
    HandedOn,
    Dropped,
    Failed,
}

impl NightlyReconcile {
    /// Sends the message that makes the next invocation resume `run`.
    pub async fn hand_on(&self, queue: &dyn Queue, run: &str) -> Result<(), String> {
        let body = serde_json::to_string(&ContinueMessage { run: run.into() })
            .map_err(|e| e.to_string())?;
        queue
            .send(RECONCILE_QUEUE, &body, &BTreeMap::new())
            .await
            .map(|_| ())
            .map_err(|e| format!("handing run {run} on: {e}"))
    }

    /// Resumes the run a message names, until `deadline_ms` less the configured margin.
    async fn continue_run(
        &self,
        record: &InputRecord,
        deadline_ms: i64,
    ) -> (RecordOutcome, Handled) {
        let message: ContinueMessage = match serde_json::from_str(&record.body) {
            Ok(m) => m,
            Err(e) => {
                return (
                    RecordOutcome::DeadLetter(format!("not a reconcile continuation: {e}")),
                    Handled::Failed,
                );
            }
        };
        let margin = i64::try_from(self.parts.rules.stop_before_deadline_s * 1000).unwrap_or(0);
        let budget = WorkBudget {
            stop_at_ms: deadline_ms.saturating_sub(margin),
            max_units: self.units_per_invocation,
        };
        match self.resume(&message.run, budget, &Quiet).await {
            Ok(Progress::Finished(report)) => (RecordOutcome::Done, Handled::Finished(report)),
            Ok(Progress::Paused(run)) => {
                match self.hand_on(self.parts.queue.as_ref(), &run).await {
                    Ok(()) => (RecordOutcome::Done, Handled::HandedOn),
                    // The checkpoint stands; this message comes back and resumes it.
                    Err(reason) => (RecordOutcome::Retry(reason), Handled::Failed),
                }
            }
            // Another invocation holds the run and hands it on itself, or it is done.
            Ok(Progress::Busy | Progress::AlreadyFinished(_)) => {
                (RecordOutcome::Done, Handled::Dropped)
            }
            Ok(Progress::Unknown) => (
                RecordOutcome::DeadLetter(format!("no reconcile run `{}`", message.run)),
                Handled::Failed,
            ),
            Err(e) => (
                RecordOutcome::Retry(format!("run {}: {e}", message.run)),
                Handled::Failed,
            ),
        }
    }
}

#[async_trait::async_trait]
impl BatchFlow for NightlyReconcile {
    type Report = ContinuationReport;
    fn name(&self) -> &'static str {
        FLOW
    }
    async fn process(&self, records: &[InputRecord], deadline_ms: i64) -> ContinuationReport {
        let mut report = ContinuationReport::default();
        for record in records {
            let (outcome, what) = self.continue_run(record, deadline_ms).await;
            match what {
                Handled::Finished(run) => {
                    report.finished += 1;
                    report.reports.push(*run);
                }
                Handled::HandedOn => report.handed_on += 1,
                Handled::Dropped => report.dropped += 1,
                Handled::Failed => {}
            }
            report.records.set(&record.id, outcome);
        }
        report
    }
}
