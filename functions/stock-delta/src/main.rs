//! Lambda `stock-delta`: SQS batches of Peoplevox stock events and rechecks → commercetools
//! inventory entries at the sellable quantity, per (sku, supply channel).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ctpvx_shared::app;
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::flows::batch::{InputRecord, settle};
use ctpvx_shared::flows::stock_delta::{FLOW, StockDelta};
use ctpvx_shared::lambda_init::{LambdaEnv, STOCK_DLQ, STOCK_QUEUE};
use ctpvx_shared::store::{AuditLog, Queue};
use lambda_runtime::{Error, LambdaEvent, service_fn};

struct Deps {
    flow: StockDelta,
    queue: Arc<SqsQueue>,
    audit: Arc<dyn AuditLog>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[STOCK_QUEUE, STOCK_DLQ])?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    let confirm_queue: Arc<dyn Queue> = env.queue.clone();
    let flow = app::stock_delta(&env.config, &env.stores, ct, pvx, Some(confirm_queue)).await?;
    let deps = Arc::new(Deps {
        flow,
        queue: env.queue,
        audit: env.stores.audit,
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let deps = deps.clone();
        async move { Ok::<_, Error>(handle(&deps, event.payload).await) }
    }))
    .await
}

/// One batch: run the flow, park poisonous records with their reason, report the rest as
/// batch item failures so that only they come back.
async fn handle(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
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
    let report = deps.flow.run_batch(&records).await;
    tracing::info!(
        events = report.events,
        pairs = report.pairs,
        writes = report.writes,
        created = report.created,
        unchanged = report.skipped_unchanged,
        stale = report.stale,
        rereads = report.rereads,
        conflicts = report.conflicts,
        retried = report.retried,
        dead_lettered = report.dead_lettered,
        "stock batch done"
    );
    let failed = settle(
        deps.queue.as_ref(),
        deps.audit.as_ref(),
        FLOW,
        STOCK_DLQ,
        &records,
        &report.outcomes,
    )
    .await;
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    response
}
