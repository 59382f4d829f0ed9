//! Lambda `order-status`: SQS batches of Peoplevox status and return events and commercetools
//! cancellations → commercetools order states, exceptions and returns, and cancellations to
//! Peoplevox.

use ctpvx_shared::app;
use ctpvx_shared::lambda_init::{LambdaEnv, STATUS_DLQ, STATUS_QUEUE};
use ctpvx_shared::lambda_sqs;
use ctpvx_shared::queues;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[STATUS_QUEUE, STATUS_DLQ])?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    let flow = app::order_status(&env.config, &env.stores, ct, pvx.clone()).await?;
    let retry = queues::retry_policy(STATUS_QUEUE);
    lambda_sqs::serve(flow, env.queue, env.stores.audit, retry, Some(pvx)).await
}
