//! Lambda `stock-delta`: SQS batches of Peoplevox stock events and rechecks → commercetools
//! inventory entries at the sellable quantity, per (sku, supply channel).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use ctpvx_shared::app;
use ctpvx_shared::aws::SqsQueue;
use ctpvx_shared::flows::stock_delta::StockDelta;
use ctpvx_shared::lambda_init::{LambdaEnv, STOCK_DLQ, STOCK_QUEUE};
use ctpvx_shared::lambda_sqs;
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
        async move {
            let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
            Ok::<_, Error>(handle(&deps, event.payload, deadline_ms).await)
        }
    }))
    .await
}

/// One batch: run the flow, park poisonous records with their reason, report the rest as
/// batch item failures so that only they come back.
async fn handle(deps: &Deps, event: SqsEvent, deadline_ms: i64) -> SqsBatchResponse {
    let (report, response) = lambda_sqs::handle(
        &deps.flow,
        deps.queue.as_ref(),
        deps.audit.as_ref(),
        STOCK_DLQ,
        event,
        deadline_ms,
    )
    .await;
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
    response
}
