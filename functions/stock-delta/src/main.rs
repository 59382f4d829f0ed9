//! Lambda `stock-delta`: SQS batches of Peoplevox stock events and rechecks → commercetools
//! inventory entries at the sellable quantity, per (sku, supply channel).

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::flows::stock_delta;
use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::lambda_init::{LambdaEnv, STOCK_DLQ, STOCK_QUEUE};
use ctpvx_shared::lambda_sqs::{self, PvxMeter};
use ctpvx_shared::queues;
use ctpvx_shared::store::Queue;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[STOCK_QUEUE, STOCK_DLQ])?;
    let secrets = env.api_secrets().await?;
    let meter = PvxMeter::default();
    // The stock queue also carries the confirming re-reads the flow schedules.
    let confirm_queue: Arc<dyn Queue> = env.queue.clone();
    // Built at the first invocation, not here: it reads commercetools, which may be down;
    // built again, clients included, when a new configuration version is pushed.
    let flow = {
        let (stores, meter) = (env.stores.clone(), meter.clone());
        LazyFlow::configured(stock_delta::FLOW, env.feed.clone(), move |live| {
            let (stores, secrets, meter, queue) = (
                stores.clone(),
                secrets.clone(),
                meter.clone(),
                confirm_queue.clone(),
            );
            async move {
                let (ct, pvx) = app::clients(&live.config, &secrets, stores.state.clone())?;
                meter.set(pvx.clone());
                app::stock_delta(&live.config, &stores, ct, pvx, Some(queue)).await
            }
        })
    };
    let retry = queues::retry_policy(STOCK_QUEUE);
    lambda_sqs::serve(flow, env.queue, env.stores.audit, retry, Some(meter)).await
}
