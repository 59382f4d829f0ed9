//! Per-record outcomes of a queue batch, and settling them the way SQS partial batch responses
//! work: done records are deleted, retryable ones stay for another receive (and reach the
//! dead-letter queue through the redrive policy), poisonous ones go to the dead-letter queue at
//! once with the reason attached.

use std::collections::BTreeMap;

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

/// A flow's report on a batch: per-record outcomes plus counts that add up across batches.
pub trait BatchOutcomes: Default + Clone + Send + Sync + 'static {
    /// Outcome per message id.
    fn outcomes(&self) -> &BTreeMap<String, RecordOutcome>;
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
pub async fn settle(
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    flow: &str,
    dead_letter_queue: &str,
    records: &[InputRecord],
    outcomes: &BTreeMap<String, RecordOutcome>,
) -> Vec<String> {
    let mut failed = Vec::new();
    for record in records {
        match outcomes.get(&record.id) {
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
