//! Lambda `order-created`: SQS batches of commercetools order messages → Peoplevox sales
//! orders; also the scheduled sweep that re-queues held orders whose items now exist.

mod handler;

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::flows::order_export;
use ctpvx_shared::invocation::LazyFlow;
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
    // Built at the first invocation, not here: it reads Peoplevox's template headers and the
    // commercetools export channel, and either may be down.
    let flow = {
        let (config, stores, pvx) = (env.config.clone(), env.stores.clone(), pvx.clone());
        LazyFlow::new(order_export::FLOW, move || {
            let (config, stores, ct, pvx, hints) = (
                config.clone(),
                stores.clone(),
                ct.clone(),
                pvx.clone(),
                stock_hints.clone(),
            );
            async move {
                let flow = app::order_export(&config, &stores, ct, pvx).await?;
                Ok(flow.with_stock_hints(hints))
            }
        })
    };
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
