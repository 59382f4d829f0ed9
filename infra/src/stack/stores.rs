//! The tables and queues the functions of a running stack use, as the functions name them in
//! their environment (`CTPVX_STATE_TABLE`, …, and the queue URL variables of
//! [`QUEUE_URL_VARS`]): for an operator's or a test's own look at them, as `ctpvx … --aws`
//! looks at a deployment's.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;

use ctpvx_shared::app::Stores;
use ctpvx_shared::aws::provision::emulator_sdk_config;
use ctpvx_shared::aws::{DynamoAuditLog, DynamoIdempotencyStore, DynamoStateStore, SqsQueue};
use ctpvx_shared::lambda_init::QUEUE_URL_VARS;

use super::Stack;

/// The stores and the queues (by logical name) of `stack`, on moto at `endpoint`.
pub async fn of(stack: &Stack, endpoint: &str) -> anyhow::Result<(Stores, Arc<SqsQueue>)> {
    let sdk = emulator_sdk_config(endpoint).await;
    let urls: BTreeMap<String, String> = QUEUE_URL_VARS
        .iter()
        .filter_map(|(queue, var)| {
            Some((queue.to_string(), stack.environment_value(var)?.to_string()))
        })
        .collect();
    let table = |var: &str| -> anyhow::Result<String> {
        stack
            .environment_value(var)
            .map(str::to_string)
            .with_context(|| format!("no function of the template has {var}"))
    };
    let stores = Stores {
        state: Arc::new(DynamoStateStore::from_conf(
            &sdk,
            table("CTPVX_STATE_TABLE")?,
        )),
        idempotency: Arc::new(DynamoIdempotencyStore::from_conf(
            &sdk,
            table("CTPVX_IDEMPOTENCY_TABLE")?,
        )),
        audit: Arc::new(DynamoAuditLog::from_conf(&sdk, table("CTPVX_AUDIT_TABLE")?)),
    };
    Ok((stores, Arc::new(SqsQueue::from_conf(&sdk, urls))))
}
