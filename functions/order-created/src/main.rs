//! Lambda `order-created`: SQS batches of commercetools order messages → Peoplevox sales
//! orders; also the scheduled sweep that re-queues held orders whose items now exist.

mod handler;

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::lambda_init::{LambdaEnv, ORDERS_DLQ, ORDERS_QUEUE, STOCK_QUEUE};
use ctpvx_shared::store::Queue;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    env.require_queues(&[ORDERS_QUEUE, ORDERS_DLQ])?;
    // Exported orders trigger a stock recheck of their items when stock sync is configured.
    let stock_hints: Option<Arc<dyn Queue>> = (!env.config.stock.sites.is_empty()
        && env.require_queues(&[STOCK_QUEUE]).is_ok())
    .then(|| env.queue.clone() as Arc<dyn Queue>);
    let flow = app::order_export(&env.config, &env.stores, ct, pvx.clone())
        .await?
        .with_stock_hints(stock_hints);
    let deps = Arc::new(handler::Deps {
        flow,
        pvx,
        queue: env.queue,
        audit: env.stores.audit,
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { handler::handle(&deps, event).await }
    }))
    .await
}
