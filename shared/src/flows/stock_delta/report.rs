//! What one stock batch did, for logs, metrics, the demo and the benchmarks.

use std::collections::BTreeMap;

use crate::flows::batch::RecordOutcome;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StockReport {
    /// Outcome per queue message id.
    #[serde(skip)]
    pub outcomes: BTreeMap<String, RecordOutcome>,
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
    /// Records parked in the dead-letter queue.
    pub dead_lettered: usize,
    /// Records left for another delivery.
    pub retried: usize,
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

impl crate::flows::batch::BatchOutcomes for StockReport {
    fn outcomes(&self) -> &BTreeMap<String, RecordOutcome> {
        &self.outcomes
    }
    fn absorb(&mut self, other: &Self) {
        StockReport::absorb(self, other);
    }
}
