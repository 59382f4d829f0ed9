//! An SQS batch in a Lambda: the event's records handed to a flow, poisonous ones parked in the
//! dead-letter queue with their reason, the retryable ones reported as batch item failures so
//! that only they come back. Every queue-fed function does exactly this.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

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

/// Serves a queue-fed flow until the runtime stops: every invocation is one batch, handled by
/// [`handle`] against `dead_letter_queue`; `log` writes the batch summary.
pub async fn serve<F: BatchFlow>(
    flow: F,
    queue: Arc<dyn Queue>,
    audit: Arc<dyn AuditLog>,
    dead_letter_queue: &'static str,
    log: fn(&F::Report),
) -> Result<(), Error> {
    let flow = Arc::new(flow);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (flow, queue, audit) = (flow.clone(), queue.clone(), audit.clone());
        async move {
            let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
            let (report, response) = handle(
                flow.as_ref(),
                queue.as_ref(),
                audit.as_ref(),
                dead_letter_queue,
                event.payload,
                deadline_ms,
            )
            .await;
            log(&report);
            Ok::<_, Error>(response)
        }
    }))
    .await
}
