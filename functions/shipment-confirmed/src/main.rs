//! Lambda `shipment-confirmed`: SQS batches of Peoplevox despatch events → commercetools
//! deliveries with parcels and tracking, and the shipment state.

use ctpvx_shared::app;
use ctpvx_shared::flows::shipment_confirmed::ShipmentReport;
use ctpvx_shared::lambda_init::{LambdaEnv, SHIPMENTS_DLQ, SHIPMENTS_QUEUE};
use ctpvx_shared::lambda_sqs;
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = LambdaEnv::load().await?;
    env.require_queues(&[SHIPMENTS_QUEUE, SHIPMENTS_DLQ])?;
    let (ct, pvx) = app::clients(&env.config, &env.secrets, env.stores.state.clone())?;
    let flow = app::shipment_confirmed(&env.config, &env.stores, ct, pvx).await?;
    lambda_sqs::serve(flow, env.queue, env.stores.audit, SHIPMENTS_DLQ, log).await
}

fn log(report: &ShipmentReport) {
    tracing::info!(
        events = report.events,
        despatches = report.despatches,
        deliveries = report.deliveries_added,
        parcels = report.parcels_added,
        tracking = report.tracking_set,
        unchanged = report.unchanged,
        conflicts = report.conflicts,
        retried = report.retried,
        dead_lettered = report.dead_lettered,
        "shipment batch done"
    );
}
