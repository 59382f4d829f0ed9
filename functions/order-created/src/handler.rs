//! Event shapes in and out: an SQS batch (partial batch response) or an EventBridge schedule.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::flows::batch::{InputRecord, settle};
use ctpvx_shared::flows::order_export::{FLOW, OrderExport};
use ctpvx_shared::lambda_init::{ORDERS_DLQ, ORDERS_QUEUE};
use ctpvx_shared::store::AuditLog;
use lambda_runtime::{Error, LambdaEvent};

/// Built once at init.
pub struct Deps {
    pub flow: OrderExport,
    pub queue: Arc<SqsQueue>,
    pub audit: Arc<dyn AuditLog>,
}

/// Dispatches on the event's shape.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
    if event.payload.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(event.payload)?;
        let response = handle_sqs(deps, sqs, deadline_ms).await;
        return Ok(serde_json::to_value(response)?);
    }
    let schedule: EventBridgeEvent<serde_json::Value> = serde_json::from_value(event.payload)?;
    tracing::info!(source = ?schedule.source, "held-order sweep");
    let report = deps
        .flow
        .retry_held(deps.queue.as_ref(), ORDERS_QUEUE)
        .await?;
    Ok(serde_json::to_value(report)?)
}

async fn handle_sqs(deps: &Deps, event: SqsEvent, deadline_ms: i64) -> SqsBatchResponse {
    let records: Vec<InputRecord> = event
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
        .collect();
    let report = deps.flow.export_batch(&records, deadline_ms).await;
    tracing::info!(
        exported = report.exported,
        duplicates = report.duplicates,
        held = report.held,
        retried = report.retried,
        dead_lettered = report.dead_lettered,
        "batch done"
    );
    let failed = settle(
        deps.queue.as_ref(),
        deps.audit.as_ref(),
        FLOW,
        ORDERS_DLQ,
        &records,
        &report.outcomes,
    )
    .await;
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    response
}
