//! Lambda `nightly-reconcile`: started by the EventBridge schedule, continued through the
//! reconcile queue. A scheduled event creates the run (its id is the schedule's time, so a
//! retried start resumes the same run) and hands it to the queue; each queue message resumes
//! the run at its checkpoint until the function's time is nearly out, then hands it on.

mod handler;

use std::sync::Arc;

use ctpvx_shared::app;
use ctpvx_shared::commercetools::CtClient;
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
    let ct = Arc::new(
        CtClient::new(app::ct_settings(&env.config, &env.secrets))
            .map_err(|e| app::SetupError(format!("commercetools client: {e}")))?,
    );
    let queue: Arc<dyn Queue> = env.queue.clone();
    let flow = app::nightly_reconcile(&env.config, &env.secrets, &env.stores, ct, queue).await?;
    let deps = Arc::new(handler::Deps {
        flow,
        queue: env.queue,
        audit: env.stores.audit,
    });
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move { handler::handle(&deps, event).await }
    }))
    .await
}
