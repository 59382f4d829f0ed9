//! Lambda `nightly-reconcile`: started by the EventBridge schedule, continued through the
//! reconcile queue. A scheduled event creates the run (its id is the schedule's time, so a
//! retried start resumes the same run) and hands it to the queue; each queue message resumes
//! the run at its checkpoint until the function's time is nearly out, then hands it on.

mod handler;

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::commercetools::CtClient;
use ctpvx_shared::flows::nightly_reconcile;
use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::lambda_init::{
    LambdaEnv, ORDERS_QUEUE, RECONCILE_DLQ, RECONCILE_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE,
};
use ctpvx_shared::lambda_sqs::PvxMeter;
use ctpvx_shared::store::Queue;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[
        RECONCILE_QUEUE,
        RECONCILE_DLQ,
        ORDERS_QUEUE,
        SHIPMENTS_QUEUE,
        STATUS_QUEUE,
    ])?;
    let secrets = env.api_secrets().await?;
    let meter = PvxMeter::default();
    // Built at the first invocation, not here: it reads commercetools, which may be down;
    // built again, clients included, when a new configuration version is pushed.
    let flow = {
        let (stores, meter) = (env.stores.clone(), meter.clone());
        let queue: Arc<dyn Queue> = env.queue.clone();
        LazyFlow::configured(nightly_reconcile::FLOW, env.feed.clone(), move |live| {
            let (stores, secrets, meter, queue) = (
                stores.clone(),
                secrets.clone(),
                meter.clone(),
                queue.clone(),
            );
            async move {
                let ct = Arc::new(
                    CtClient::new(app::ct_settings(&live.config, &secrets))
                        .map_err(|e| app::SetupError(format!("commercetools client: {e}")))?,
                );
                let pvx = app::reconcile_peoplevox(&live.config, &secrets, &stores)?;
                meter.set(pvx.clone());
                app::nightly_reconcile_with(&live.config, &stores, ct, pvx, queue).await
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
