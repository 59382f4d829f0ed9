//! What one stock batch did, for logs, metrics, the demo and the benchmarks.

use crate::flows::batch::RecordOutcomes;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StockReport {
    /// Outcome per record, and the retried / dead-lettered counts.
    #[serde(flatten)]
    pub records: RecordOutcomes,
    /// Records read.
    pub events: usize,
    /// Distinct (site, item) pairs the batch touched.
    pub pairs: usize,
    /// commercetools entries changed by a delta.
    pub writes: usize,
    /// commercetools entries created.
    pub created: usize,
    /// Entries already at their target: nothing written.
    pub skipped_unchanged: usize,
    /// Pairs with nothing to do: every event older than the ledger's figure.
    pub stale: usize,
    /// Events superseded by a newer one in the same batch.
    pub coalesced: usize,
    /// Pairs whose availability was re-read from Peoplevox.
    pub rereads: usize,
    /// Version conflicts met (and resolved by re-reading).
    pub conflicts: usize,
    /// Confirming re-reads scheduled.
    pub confirms_scheduled: usize,
    /// Hinted pairs Peoplevox reports no such item for at the site: nothing changed.
    pub absent: usize,
}

impl StockReport {
    /// Adds another batch's counts (not its per-record outcomes).
    pub fn absorb(&mut self, other: &StockReport) {
        self.events += other.events;
        self.pairs += other.pairs;
        self.writes += other.writes;
        self.created += other.created;
        self.skipped_unchanged += other.skipped_unchanged;
        self.stale += other.stale;
        self.coalesced += other.coalesced;
        self.rereads += other.rereads;
        self.conflicts += other.conflicts;
        self.confirms_scheduled += other.confirms_scheduled;
        self.absent += other.absent;
        self.records.absorb(&other.records);
    }
}

impl crate::flows::batch::BatchOutcomes for StockReport {
    fn records(&self) -> &RecordOutcomes {
        &self.records
    }
    fn absorb(&mut self, other: &Self) {
        StockReport::absorb(self, other);
    }
}
