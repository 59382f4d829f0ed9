//! What one status batch did, for logs, metrics and the demo. Every refused or conflicting
//! update is counted here (the metric) and has an audit entry (the reason).

use crate::flows::batch::RecordOutcomes;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusReport {
    /// Outcome per record, and the retried / dead-lettered counts.
    #[serde(flatten)]
    pub records: RecordOutcomes,
    /// Records read.
    pub events: usize,
    /// Orders whose states or status fields were changed.
    pub updates: usize,
    /// Events the order already showed (duplicates).
    pub unchanged: usize,
    /// Late or reordered events that would have moved an order back: ignored.
    pub backwards_ignored: usize,
    /// Events refused under the ownership rules (e.g. the order is not exported yet).
    pub refused: usize,
    /// Conflicts recorded for a person (cancellations after picking, statuses after a
    /// cancellation, cancellations Peoplevox refused).
    pub conflicts: usize,
    /// Status names nobody mapped: audited, nothing changed.
    pub unknown_statuses: usize,
    /// Orders set Partial with their short lines named.
    pub short_picks: usize,
    /// Orders put on backorder.
    pub backorders: usize,
    /// Orders whose on-hold flag changed their shipment state.
    pub holds: usize,
    /// commercetools cancellations pushed to Peoplevox.
    pub cancellations_pushed: usize,
    /// commercetools cancellations of orders never exported (nothing to tell Peoplevox).
    pub cancellations_local: usize,
    /// Peoplevox returns recorded as `returnInfo`.
    pub returns_recorded: usize,
    /// Returns already recorded (repeated events).
    pub returns_unchanged: usize,
    /// Version conflicts met (resolved by re-reading).
    pub version_conflicts: usize,
    /// Status events whose status or hold flag was read from Peoplevox (their callback left it
    /// out).
    pub read_from_peoplevox: usize,
    /// Hold flags older than the one the order shows (a retried or overtaken callback):
    /// ignored, the event's stage still counts.
    pub stale_holds: usize,
    /// Events for Peoplevox orders that are not ours (another sales channel): skipped, audited.
    pub not_ours: usize,
}

impl StatusReport {
    /// Adds another batch's counts (not its per-record outcomes).
    pub fn absorb(&mut self, other: &Self) {
        self.events += other.events;
        self.updates += other.updates;
        self.unchanged += other.unchanged;
        self.backwards_ignored += other.backwards_ignored;
        self.refused += other.refused;
        self.conflicts += other.conflicts;
        self.unknown_statuses += other.unknown_statuses;
        self.short_picks += other.short_picks;
        self.backorders += other.backorders;
        self.holds += other.holds;
        self.cancellations_pushed += other.cancellations_pushed;
        self.cancellations_local += other.cancellations_local;
        self.returns_recorded += other.returns_recorded;
        self.returns_unchanged += other.returns_unchanged;
        self.version_conflicts += other.version_conflicts;
        self.read_from_peoplevox += other.read_from_peoplevox;
        self.stale_holds += other.stale_holds;
        self.not_ours += other.not_ours;
        self.records.absorb(&other.records);
    }
}

impl crate::flows::batch::BatchOutcomes for StatusReport {
    fn records(&self) -> &RecordOutcomes {
        &self.records
    }
    fn absorb(&mut self, other: &Self) {
        StatusReport::absorb(self, other);
    }
}
