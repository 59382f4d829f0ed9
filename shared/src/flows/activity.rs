//! What each queue-fed flow did, per hour: one audit entry per settled batch (entity
//! `activity#<flow>#<hour>`), so that an operator's overview counts a flow's events, failures,
//! retries and parked records over the last hour or day by reading 25 hour partitions, on the
//! embedded store as on DynamoDB, without a metrics service.

use std::time::Duration;

use crate::store::{AuditEntry, AuditLog, StoreError};

/// What the audit entries of batches are called (`outcome`).
pub const BATCH_OUTCOME: &str = "batch";

/// One hour, ms.
pub const HOUR_MS: i64 = 3_600_000;

/// What one batch came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchCounts {
    /// Records in the batch (a record received again after a retry counts again).
    pub events: u64,
    /// Records left to their queue to come back after a backoff.
    pub retried: u64,
    /// Records sent back to their own queue as a fresh copy.
    pub requeued: u64,
    /// Records parked in the dead-letter queue.
    pub parked: u64,
}

impl BatchCounts {
    /// Records that did not end done: retried, re-queued or parked.
    pub fn failed(&self) -> u64 {
        self.retried + self.requeued + self.parked
    }

    /// Adds another batch's counts.
    pub fn add(&mut self, other: &Self) {
        self.events += other.events;
        self.retried += other.retried;
        self.requeued += other.requeued;
        self.parked += other.parked;
    }
}

/// The audit entity of a flow's batches in the hour that holds `at_ms`.
pub fn entity(flow: &str, at_ms: i64) -> String {
    format!("activity#{flow}#{}", at_ms.div_euclid(HOUR_MS))
}

/// The longest a batch waits for its activity entry: the batch's work is done, and a store that
/// hangs must not keep its answer from the runtime until the invocation times out (which would
/// deliver the whole batch again).
pub const RECORD_TIMEOUT: Duration = Duration::from_secs(1);

/// Appends the entry of one settled batch; a failed or slow append is logged, never fatal (the
/// batch's work is done and the EMF metrics still count it).
pub async fn record(audit: &dyn AuditLog, flow: &str, at_ms: i64, counts: BatchCounts) {
    let entry = AuditEntry {
        entity: entity(flow, at_ms),
        at_ms,
        flow: flow.to_string(),
        outcome: BATCH_OUTCOME.into(),
        reason: None,
        detail: serde_json::to_value(counts).unwrap_or_default(),
    };
    match tokio::time::timeout(RECORD_TIMEOUT, audit.append(&entry)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(flow, error = %e, "batch activity not recorded"),
        Err(_) => tracing::warn!(flow, "batch activity not recorded in time"),
    }
}

/// Entries read per hour at most: a flow settling more batches than this in an hour is shown
/// as "at least".
pub const MAX_BATCHES_PER_HOUR: usize = 20_000;

/// A flow's batches over the last hour and the last day before `now_ms`, summed, in one read of
/// the day's 25 hour partitions; and whether an hour held more batches than were read (the
/// sums are then a floor: the newest batches of such an hour are the ones read).
pub async fn last_hour_and_day(
    audit: &dyn AuditLog,
    flow: &str,
    now_ms: i64,
) -> Result<(BatchCounts, BatchCounts, bool), StoreError> {
    let (hour_from, day_from) = (now_ms - HOUR_MS, now_ms - 24 * HOUR_MS);
    let (mut hour, mut day) = (BatchCounts::default(), BatchCounts::default());
    let mut truncated = false;
    for bucket in day_from.div_euclid(HOUR_MS)..=now_ms.div_euclid(HOUR_MS) {
        let entries = audit
            .list_recent(&entity(flow, bucket * HOUR_MS), MAX_BATCHES_PER_HOUR)
            .await?;
        truncated |= entries.len() >= MAX_BATCHES_PER_HOUR;
        for e in entries.iter().filter(|e| e.at_ms >= day_from) {
            if let Ok(counts) = serde_json::from_value::<BatchCounts>(e.detail.clone()) {
                day.add(&counts);
                if e.at_ms >= hour_from {
                    hour.add(&counts);
                }
            }
        }
    }
    Ok((hour, day, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_is_one_partition() {
        assert_eq!(entity("order-export", 0), "activity#order-export#0");
        assert_eq!(
            entity("order-export", HOUR_MS - 1),
            entity("order-export", 0)
        );
        assert_ne!(entity("order-export", HOUR_MS), entity("order-export", 0));
    }
}
