//! What one batch did, for logs, metrics and the demo summary.

use std::collections::BTreeMap;

use crate::flows::batch::RecordOutcome;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    /// Outcome per queue message id.
    #[serde(skip)]
    pub outcomes: BTreeMap<String, RecordOutcome>,
    /// Orders newly exported to Peoplevox.
    pub exported: usize,
    /// Orders found already in Peoplevox after a crash, and only marked.
    pub recovered: usize,
    /// Records for orders already exported (or exported earlier in the batch).
    pub duplicates: usize,
    /// Orders held with a reason.
    pub held: usize,
    /// Records this flow has nothing to do with.
    pub ignored: usize,
    /// Records parked in the dead-letter queue.
    pub dead_lettered: usize,
    /// Records left for another delivery.
    pub retried: usize,
}

impl BatchReport {
    /// Adds another batch's counts (not its per-record outcomes) to these.
    pub fn absorb(&mut self, other: &BatchReport) {
        self.exported += other.exported;
        self.recovered += other.recovered;
        self.duplicates += other.duplicates;
        self.held += other.held;
        self.ignored += other.ignored;
        self.dead_lettered += other.dead_lettered;
        self.retried += other.retried;
    }

    /// Records the outcome of one message.
    pub fn set(&mut self, message_id: &str, outcome: RecordOutcome) {
        match &outcome {
            RecordOutcome::Retry(_) => self.retried += 1,
            RecordOutcome::DeadLetter(_) => self.dead_lettered += 1,
            RecordOutcome::Done => {}
        }
        self.outcomes.insert(message_id.to_string(), outcome);
    }
}

impl crate::flows::batch::BatchOutcomes for BatchReport {
    fn outcomes(&self) -> &BTreeMap<String, RecordOutcome> {
        &self.outcomes
    }
    fn absorb(&mut self, other: &Self) {
        BatchReport::absorb(self, other);
    }
}
