//! What one shipment batch did, for logs, metrics and the demo.

use crate::flows::batch::RecordOutcomes;

/// Counts and per-record outcomes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShipmentReport {
    /// Outcome per record, and the retried / dead-lettered counts.
    #[serde(flatten)]
    pub records: RecordOutcomes,
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
    /// Despatches of Peoplevox orders that are not ours (another sales channel): skipped,
    /// audited.
    pub not_ours: usize,
    /// Despatches booked over units that deliveries made by hand (in the Merchant Center)
    /// already had: delivered all the same, the overlap audited and shown on the order for a
    /// person.
    pub hand_made_overlaps: usize,
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
        self.not_ours += other.not_ours;
        self.hand_made_overlaps += other.hand_made_overlaps;
        self.records.absorb(&other.records);
    }
}

impl crate::flows::batch::BatchOutcomes for ShipmentReport {
    fn records(&self) -> &RecordOutcomes {
        &self.records
    }
    fn absorb(&mut self, other: &Self) {
        ShipmentReport::absorb(self, other);
    }
}
