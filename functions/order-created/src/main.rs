//! Lambda `order-created`: SQS batches of commercetools order messages → Peoplevox sales
//! orders; also the scheduled sweep that re-queues held orders whose items now exist.

mod handler;

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::flows::order_export;
use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::lambda_init::{LambdaEnv, ORDERS_DLQ, ORDERS_QUEUE, STOCK_QUEUE};
use ctpvx_shared::lambda_sqs::PvxMeter;
use ctpvx_shared::store::Queue;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    let secrets = env.api_secrets().await?;
    let meter = PvxMeter::default();
    env.require_queues(&[ORDERS_QUEUE, ORDERS_DLQ])?;
    // Exported orders trigger a stock recheck of their items when stock sync is configured.
    let stock_queue: Option<Arc<dyn Queue>> = env
        .require_queues(&[STOCK_QUEUE])
        .is_ok()
        .then(|| env.queue.clone() as Arc<dyn Queue>);
    // Built at the first invocation, not here: it reads Peoplevox's template headers and the
    // commercetools export channel, and either may be down; built again, clients included,
    // when a new configuration version is pushed.
    let flow = {
        let (stores, meter) = (env.stores.clone(), meter.clone());
        LazyFlow::configured(order_export::FLOW, env.feed.clone(), move |live| {
            let (stores, secrets, meter) = (stores.clone(), secrets.clone(), meter.clone());
            let sites = !live.config.stock.sites.is_empty();
            if sites && stock_queue.is_none() {
                tracing::warn!(
                    "stock sites are configured but CTPVX_STOCK_QUEUE_URL is not set: exported orders trigger no stock recheck"
                );
            }
            let hints = stock_queue.clone().filter(|_| sites);
            async move {
                let (ct, pvx) = app::clients(&live.config, &secrets, stores.state.clone())?;
                meter.set(pvx.clone());
                let flow = app::order_export(&live.config, &stores, ct, pvx).await?;
                Ok(flow.with_stock_hints(hints))
            }
        })
    };
    let deps = Arc::new(handler::Deps {
        flow,
        pvx: meter,
        queue: env.queue,
        audit: env.stores.audit,
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { handler::handle(&deps, event).await }
    }))
    .await
}
