//! What one shipment batch did, for logs, metrics and the demo.

use std::collections::BTreeMap;

use crate::flows::batch::RecordOutcome;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShipmentReport {
    /// Outcome per queue message id.
    #[serde(skip)]
    pub outcomes: BTreeMap<String, RecordOutcome>,
    /// Records read.
    pub events: usize,
    /// Distinct despatches the batch was about.
    pub despatches: usize,
    /// Deliveries added.
    pub deliveries_added: usize,
    /// Parcels added to existing deliveries.
    pub parcels_added: usize,
    /// Tracking data set on existing parcels.
    pub tracking_set: usize,
    /// Orders whose deliveries were already complete: nothing sent.
    pub unchanged: usize,
    /// Version conflicts met (resolved by re-reading).
    pub conflicts: usize,
    /// Records parked in the dead-letter queue.
    pub dead_lettered: usize,
    /// Records left for another delivery.
    pub retried: usize,
}

impl ShipmentReport {
    /// Adds another batch's counts (not its per-record outcomes).
    pub fn absorb(&mut self, other: &Self) {
        self.events += other.events;
        self.despatches += other.despatches;
        self.deliveries_added += other.deliveries_added;
        self.parcels_added += other.parcels_added;
        self.tracking_set += other.tracking_set;
        self.unchanged += other.unchanged;
        self.conflicts += other.conflicts;
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

impl crate::flows::batch::BatchOutcomes for ShipmentReport {
    fn outcomes(&self) -> &BTreeMap<String, RecordOutcome> {
        &self.outcomes
    }
    fn absorb(&mut self, other: &Self) {
        ShipmentReport::absorb(self, other);
    }
}
