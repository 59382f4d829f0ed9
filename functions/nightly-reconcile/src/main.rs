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
    let ct = Arc::new(
        CtClient::new(app::ct_settings(&env.config, &secrets))
            .map_err(|e| app::SetupError(format!("commercetools client: {e}")))?,
    );
    let pvx = app::reconcile_peoplevox(&env.config, &secrets, &env.stores)?;
    // Built at the first invocation, not here: it reads commercetools, which may be down;
    // built again when a new configuration version is pushed.
    let flow = {
        let (stores, pvx) = (env.stores.clone(), pvx.clone());
        let queue: Arc<dyn Queue> = env.queue.clone();
        LazyFlow::configured(nightly_reconcile::FLOW, env.feed.clone(), move |live| {
            let (stores, ct, pvx, queue) = (stores.clone(), ct.clone(), pvx.clone(), queue.clone());
            async move { app::nightly_reconcile_with(&live.config, &stores, ct, pvx, queue).await }
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
