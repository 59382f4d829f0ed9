//! What one batch did, for logs, metrics and the demo summary.

use crate::flows::batch::RecordOutcomes;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    /// Outcome per record, and the retried / dead-lettered counts.
    #[serde(flatten)]
    pub records: RecordOutcomes,
    /// Orders newly exported to Peoplevox.
    pub exported: usize,
    /// Orders found already in Peoplevox after a crash, and only marked.
    pub recovered: usize,
    /// Records for orders already exported (or exported earlier in the batch).
    pub duplicates: usize,
    /// Orders held with a reason.
    pub held: usize,
    /// Orders cancelled in commercetools before export (not sent).
    pub cancelled: usize,
    /// Records this flow has nothing to do with.
    pub ignored: usize,
}

impl BatchReport {
    /// Adds another batch's counts (not its per-record outcomes) to these.
    pub fn absorb(&mut self, other: &BatchReport) {
        self.exported += other.exported;
        self.recovered += other.recovered;
        self.duplicates += other.duplicates;
        self.held += other.held;
        self.cancelled += other.cancelled;
        self.ignored += other.ignored;
        self.records.absorb(&other.records);
    }
}

impl crate::flows::batch::BatchOutcomes for BatchReport {
    fn records(&self) -> &RecordOutcomes {
        &self.records
    }
    fn absorb(&mut self, other: &Self) {
        BatchReport::absorb(self, other);
    }
}
