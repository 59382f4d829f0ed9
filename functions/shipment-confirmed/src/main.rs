//! Lambda `shipment-confirmed`: SQS batches of Peoplevox despatch events → commercetools
//! deliveries with parcels and tracking, and the shipment state.

use ctpvx_shared::app;
use ctpvx_shared::flows::shipment_confirmed;
use ctpvx_shared::invocation::LazyFlow;
use ctpvx_shared::lambda_init::{LambdaEnv, SHIPMENTS_DLQ, SHIPMENTS_QUEUE};
use ctpvx_shared::lambda_sqs::{self, PvxMeter};
use ctpvx_shared::queues;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[SHIPMENTS_QUEUE, SHIPMENTS_DLQ])?;
    let secrets = env.api_secrets().await?;
    let meter = PvxMeter::default();
    // Built at the first invocation, not here: it reads commercetools, which may be down;
    // built again, clients included, when a new configuration version is pushed.
    let flow = {
        let (stores, meter) = (env.stores.clone(), meter.clone());
        LazyFlow::configured(shipment_confirmed::FLOW, env.feed.clone(), move |live| {
            let (stores, secrets, meter) = (stores.clone(), secrets.clone(), meter.clone());
            async move {
                let (ct, pvx) = app::clients(&live.config, &secrets, stores.state.clone())?;
                meter.set(pvx.clone());
                app::shipment_confirmed(&live.config, &stores, ct, pvx).await
            }
        })
    };
    let retry = queues::retry_policy(SHIPMENTS_QUEUE);
    lambda_sqs::serve(flow, env.queue, env.stores.audit, retry, Some(meter)).await
}
