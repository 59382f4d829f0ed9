//! Event shapes in and out: an SQS batch (partial batch response) or an EventBridge schedule.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::deadline;
use ctpvx_shared::flows::order_export::OrderExport;
use ctpvx_shared::invocation::{LazyFlow, flow_deadline};
use ctpvx_shared::lambda_init::ORDERS_QUEUE;
use ctpvx_shared::lambda_sqs::{self, PvxMeter};
use ctpvx_shared::queues;
use ctpvx_shared::store::AuditLog;
use lambda_runtime::{Error, LambdaEvent};

/// Built once at init (the flow at its first invocation).
pub struct Deps {
    pub flow: LazyFlow<OrderExport>,
    /// Counts the flow's Peoplevox requests for the batch metrics.
    pub pvx: PvxMeter,
    pub queue: Arc<SqsQueue>,
    pub audit: Arc<dyn AuditLog>,
}

/// Dispatches on the event's shape.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    let deadline_ms = lambda_sqs::deadline_ms(&event);
    if event.payload.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(event.payload)?;
        let response = handle_sqs(deps, sqs, deadline_ms).await;
        return Ok(serde_json::to_value(response)?);
    }
    let schedule: EventBridgeEvent<serde_json::Value> = serde_json::from_value(event.payload)?;
    tracing::info!(source = ?schedule.source, "held-order sweep");
    // A sweep that fails (the flow cannot be built yet, say) is an error: EventBridge retries
    // it, and the next tick sweeps anyway.
    let report = deadline::scope(flow_deadline(deadline_ms), async {
        let flow = deps.flow.get().await?;
        flow.retry_held(deps.queue.as_ref(), ORDERS_QUEUE)
            .await
            .map_err(Error::from)
    })
    .await?;
    Ok(serde_json::to_value(report)?)
}

async fn handle_sqs(deps: &Deps, event: SqsEvent, deadline_ms: i64) -> SqsBatchResponse {
    let retry = queues::retry_policy(ORDERS_QUEUE);
    let (_, response) = lambda_sqs::handle(
        &deps.flow,
        deps.queue.as_ref(),
        deps.audit.as_ref(),
        &retry,
        event,
        deadline_ms,
        Some(&deps.pvx),
    )
    .await;
    response
}
