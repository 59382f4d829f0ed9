//! Per-record outcomes of a queue batch: what a flow reports for each message, which
//! [`crate::flows::settle`] turns into deletes, retries, re-queued copies and dead letters.

use std::collections::BTreeMap;

use crate::commercetools::CtError;

/// One queue message handed to a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// The queue's message id (SQS `messageId`).
    pub id: String,
    /// The body as received.
    pub body: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
    /// How many times the flow has re-queued it after its receives ran out (the
    /// [`REQUEUES_ATTRIBUTE`] of the copy; 0 for a message as first sent).
    pub requeues: u32,
    /// The receipt handle of this receive, with which a retry sets its own delay; `None`
    /// when the batch did not come from a queue (benchmarks, tests).
    pub receipt: Option<String>,
}

/// Message attribute that counts the re-queues of a copy (see [`crate::flows::settle`]).
pub const REQUEUES_ATTRIBUTE: &str = "ctpvx-requeues";

/// The re-queue count a message carries in its [`REQUEUES_ATTRIBUTE`]; 0 when absent or
/// unreadable.
pub fn requeues_of(attribute: Option<&str>) -> u32 {
    attribute.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
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
