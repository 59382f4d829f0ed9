//! Lambda `stock-delta`: SQS batches of Peoplevox stock events and rechecks → commercetools
//! inventory entries at the sellable quantity, per (sku, supply channel).

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::flows::stock_delta::StockReport;
use ctpvx_shared::lambda_init::{LambdaEnv, STOCK_DLQ, STOCK_QUEUE};
use ctpvx_shared::lambda_sqs;
use ctpvx_shared::store::Queue;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[STOCK_QUEUE, STOCK_DLQ])?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    // The stock queue also carries the confirming re-reads the flow schedules.
    let confirm_queue: Arc<dyn Queue> = env.queue.clone();
    let flow = app::stock_delta(&env.config, &env.stores, ct, pvx, Some(confirm_queue)).await?;
    lambda_sqs::serve(flow, env.queue, env.stores.audit, STOCK_DLQ, log).await
}

fn log(report: &StockReport) {
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
}
