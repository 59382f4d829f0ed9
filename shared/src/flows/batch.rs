//! Per-record outcomes of a queue batch, and settling them the way SQS partial batch responses
//! work: done records are deleted, retryable ones stay for another receive (and reach the
//! dead-letter queue through the redrive policy), poisonous ones go to the dead-letter queue at
//! once with the reason attached.

use std::collections::BTreeMap;

use crate::commercetools::CtError;
use crate::store::{AuditEntry, AuditLog, Queue, now_epoch_ms};

/// One queue message handed to a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// The queue's message id (SQS `messageId`).
    pub id: String,
    /// The body as received.
    pub body: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Handled (applied, duplicate, held or ignored): delete it.
    Done,
    /// Failed for a reason that may pass: let the queue deliver it again.
    Retry(String),
    /// Can never succeed as it is: park it in the dead-letter queue with this reason.
    DeadLetter(String),
}

impl RecordOutcome {
    /// The reason of a retry or a dead letter.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Done => None,
            Self::Retry(reason) | Self::DeadLetter(reason) => Some(reason),
        }
    }

    /// The audit outcome of a record that did not end done.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry(_) => "retry",
            Self::DeadLetter(_) => "refused",
        }
    }
}

/// The outcome of every record of a batch, and how many will be retried or were parked: the
/// part every flow's report shares.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordOutcomes {
    /// Outcome per queue message id.
    #[serde(skip)]
    pub by_message: BTreeMap<String, RecordOutcome>,
    /// Records left for another delivery.
    pub retried: usize,
    /// Records parked in the dead-letter queue.
    pub dead_lettered: usize,
}

impl RecordOutcomes {
    /// Sets the outcome of one message (replacing, and uncounting, an earlier one).
    pub fn set(&mut self, message_id: &str, outcome: RecordOutcome) {
        if let Some(old) = self.by_message.insert(message_id.to_string(), outcome) {
            self.count(&old, -1);
        }
        if let Some(new) = self.by_message.get(message_id).cloned() {
            self.count(&new, 1);
        }
    }

    /// Sets the outcome of one message unless it already has a worse one (a message about
    /// several things fares as its worst: parked, then retried, then done).
    pub fn set_worst(&mut self, message_id: &str, outcome: RecordOutcome) {
        let rank = |o: &RecordOutcome| match o {
            RecordOutcome::Done => 0,
            RecordOutcome::Retry(_) => 1,
            RecordOutcome::DeadLetter(_) => 2,
        };
        let worse = self
            .by_message
            .get(message_id)
            .is_none_or(|old| rank(&outcome) > rank(old));
        if worse {
            self.set(message_id, outcome);
        }
    }

    /// Adds another batch's counts (not its per-message outcomes).
    pub fn absorb(&mut self, other: &Self) {
        self.retried += other.retried;
        self.dead_lettered += other.dead_lettered;
    }

    fn count(&mut self, outcome: &RecordOutcome, by: isize) {
        let counter = match outcome {
            RecordOutcome::Retry(_) => &mut self.retried,
            RecordOutcome::DeadLetter(_) => &mut self.dead_lettered,
            RecordOutcome::Done => return,
        };
        *counter = counter.saturating_add_signed(by);
    }
}

/// A flow's report on a batch: per-record outcomes plus counts that add up across batches.
pub trait BatchOutcomes: Default + Clone + Send + Sync + serde::Serialize + 'static {
    /// The records' outcomes.
    fn records(&self) -> &RecordOutcomes;
    /// Adds another batch's counts to these.
    fn absorb(&mut self, other: &Self);
}

/// A flow that consumes queue batches: what a Lambda handler and a local worker drive.
#[async_trait::async_trait]
pub trait BatchFlow: Send + Sync + 'static {
    /// Its report.
    type Report: BatchOutcomes;
    /// Name in audit entries and dead-letter attributes.
    fn name(&self) -> &'static str;
    /// Handles one batch; `deadline_ms` is when the worker's time runs out (epoch ms).
    async fn process(&self, records: &[InputRecord], deadline_ms: i64) -> Self::Report;
}

/// Message attribute that carries the reason on a dead-lettered message.
pub const REASON_ATTRIBUTE: &str = "ctpvx-reason";

/// Parks the poisonous records in `dead_letter_queue` (with the reason as an attribute and an
/// audit entry) and returns the ids the queue must deliver again: the retryable ones, plus any
/// poisonous one that could not be parked (so nothing is lost).
///
/// A record that failed on its last allowed receive (`max_receive_count`, the queue's redrive
/// count) is parked here with its last reason, rather than left for the redrive, which would
/// move it to the dead-letter queue without saying why.
pub async fn settle(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    flow: &str,
    dead_letter_queue: &str,
    max_receive_count: u32,
    records: &[InputRecord],
    outcomes: &BTreeMap<String, RecordOutcome>,
) -> Vec<String> {
    let mut failed = Vec::new();
    for record in records {
        let last_chance = record.receive_count >= max_receive_count;
        let outcome = match outcomes.get(&record.id) {
            Some(RecordOutcome::Retry(reason)) if last_chance => {
                Some(RecordOutcome::DeadLetter(format!(
                    "{reason} (given up after {} receives)",
                    record.receive_count
                )))
            }
            other => other.cloned(),
        };
        match outcome.as_ref() {
            Some(RecordOutcome::Done) => {}
            Some(RecordOutcome::Retry(reason)) => {
                tracing::warn!(message_id = %record.id, receive_count = record.receive_count, %reason, "record will be retried");
                failed.push(record.id.clone());
            }
            Some(RecordOutcome::DeadLetter(reason)) => {
                let attributes = BTreeMap::from([
                    (REASON_ATTRIBUTE.to_string(), reason.clone()),
                    ("ctpvx-flow".to_string(), flow.to_string()),
                    ("ctpvx-source-message-id".to_string(), record.id.clone()),
                ]);
                match queue
                    .send(dead_letter_queue, &record.body, &attributes)
                    .await
                {
                    Ok(_) => {
                        tracing::warn!(message_id = %record.id, %reason, "record dead-lettered");
                        let entry = AuditEntry {
                            entity: format!("message#{}", record.id),
                            at_ms: now_epoch_ms(),
                            flow: flow.to_string(),
                            outcome: "dead-lettered".into(),
                            reason: Some(reason.clone()),
                            detail: serde_json::json!({ "queue": dead_letter_queue }),
                        };
                        if let Err(e) = audit.append(&entry).await {
                            tracing::error!(message_id = %record.id, error = %e, "audit append failed");
                        }
                    }
                    Err(e) => {
                        tracing::error!(message_id = %record.id, error = %e, "dead-lettering failed; record stays in its queue");
                        failed.push(record.id.clone());
                    }
                }
            }
            None => {
                // A record the flow did not report on must not be deleted unseen.
                failed.push(record.id.clone());
            }
        }
    }
    failed
}

/// How a commercetools order write that failed for good ends for its records: a transient
/// failure, a lost answer or a conflict that outlasted the attempts is retried (SQS delivers it
/// again); anything else is refused, saying what was refused.
pub fn failed_write(e: &CtError, what: &str) -> RecordOutcome {
    if e.is_retryable() || e.outcome_unknown() {
        RecordOutcome::Retry(e.to_string())
    } else if matches!(e, CtError::ConcurrentModification { .. }) {
        RecordOutcome::Retry("the order kept changing under us".into())
    } else {
        RecordOutcome::DeadLetter(format!("commercetools refused {what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_outcome_a_message_ends_with() {
        let mut r = RecordOutcomes::default();
        r.set("a", RecordOutcome::Retry("x".into()));
        r.set("a", RecordOutcome::DeadLetter("y".into()));
        r.set_worst("b", RecordOutcome::Done);
        r.set_worst("b", RecordOutcome::Retry("z".into()));
        r.set_worst("b", RecordOutcome::Done);
        assert_eq!((r.retried, r.dead_lettered), (1, 1));
        assert_eq!(r.by_message["b"], RecordOutcome::Retry("z".into()));
        let mut total = RecordOutcomes::default();
        total.absorb(&r);
        total.absorb(&r);
        assert_eq!((total.retried, total.dead_lettered), (2, 2));
    }
}
