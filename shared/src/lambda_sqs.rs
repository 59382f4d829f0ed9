//! An SQS batch in a Lambda: the event's records handed to a flow, poisonous ones parked in the
//! dead-letter queue with their reason, the retryable ones reported as batch item failures so
//! that only they come back. Every queue-fed function does exactly this.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::flows::batch::{BatchFlow, BatchOutcomes, InputRecord, settle};
use crate::store::{AuditLog, Queue};

/// The records of an SQS event.
pub fn records(event: SqsEvent) -> Vec<InputRecord> {
    event
        .records
        .into_iter()
        .map(|m| InputRecord {
            id: m.message_id.unwrap_or_default(),
            receive_count: m
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            body: m.body.unwrap_or_default(),
        })
        .collect()
}

/// Runs one batch through `flow` and settles it; returns the flow's report and the answer
/// for Lambda.
pub async fn handle<F: BatchFlow>(
    flow: &F,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    dead_letter_queue: &str,
    event: SqsEvent,
    deadline_ms: i64,
) -> (F::Report, SqsBatchResponse) {
    let records = records(event);
    let report = flow.process(&records, deadline_ms).await;
    let failed = settle(
        queue,
        audit,
        flow.name(),
        dead_letter_queue,
        &records,
        report.outcomes(),
    )
    .await;
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    (report, response)
}
