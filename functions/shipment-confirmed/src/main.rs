//! Lambda `shipment-confirmed`: SQS batches of Peoplevox despatch events → commercetools
//! deliveries with parcels and tracking, and the shipment state.

use ctpvx_shared::app;
use ctpvx_shared::lambda_init::{LambdaEnv, SHIPMENTS_DLQ, SHIPMENTS_QUEUE};
use ctpvx_shared::lambda_sqs;
use ctpvx_shared::queues;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[SHIPMENTS_QUEUE, SHIPMENTS_DLQ])?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    let flow = app::shipment_confirmed(&env.config, &env.stores, ct, pvx.clone()).await?;
    let retry = queues::retry_policy(SHIPMENTS_QUEUE);
    lambda_sqs::serve(flow, env.queue, env.stores.audit, retry, Some(pvx)).await
}
