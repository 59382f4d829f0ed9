//! What a Lambda reads at init in AWS: configuration, secrets and the AWS adapters, named by
//! environment variables that template.yaml sets.
//!
//! - `CTPVX_CONFIG`: the configuration TOML itself (or `CTPVX_CONFIG_FILE`: a path to it);
//! - `CTPVX_SECRET_ARN`: a Secrets Manager JSON secret with `ct_client_secret`, `pvx_password`,
//!   `webhook_token` (without it, the secrets come from the environment, for local runs);
//! - `CTPVX_STATE_TABLE`, `CTPVX_IDEMPOTENCY_TABLE`, `CTPVX_AUDIT_TABLE`: DynamoDB tables;
//! - `CTPVX_ORDERS_QUEUE_URL`, `CTPVX_ORDERS_DLQ_URL`, `CTPVX_STOCK_QUEUE_URL`, … (one per
//!   queue of [`QUEUE_URL_VARS`]): SQS queues; each function gets the ones it uses.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::{SetupError, Stores};
use crate::aws::{DynamoAuditLog, DynamoIdempotencyStore, DynamoStateStore, SqsQueue};
use crate::config::{Config, Secrets};

pub use crate::queues::{
    ORDERS_DLQ, ORDERS_QUEUE, RECONCILE_DLQ, RECONCILE_QUEUE, SHIPMENTS_DLQ, SHIPMENTS_QUEUE,
    STATUS_DLQ, STATUS_QUEUE, STOCK_DLQ, STOCK_QUEUE,
};

/// Everything a function builds once at init.
pub struct LambdaEnv {
    /// Validated configuration.
    pub config: Config,
    /// Secrets (never printed).
    pub secrets: Secrets,
    /// DynamoDB-backed stores.
    pub stores: Stores,
    /// SQS queues by logical name.
    pub queue: Arc<SqsQueue>,
}

/// Logical queue name → the environment variable holding its URL.
pub const QUEUE_URL_VARS: [(&str, &str); 10] = [
    (ORDERS_QUEUE, "CTPVX_ORDERS_QUEUE_URL"),
    (ORDERS_DLQ, "CTPVX_ORDERS_DLQ_URL"),
    (STOCK_QUEUE, "CTPVX_STOCK_QUEUE_URL"),
    (STOCK_DLQ, "CTPVX_STOCK_DLQ_URL"),
    (SHIPMENTS_QUEUE, "CTPVX_SHIPMENTS_QUEUE_URL"),
    (SHIPMENTS_DLQ, "CTPVX_SHIPMENTS_DLQ_URL"),
    (STATUS_QUEUE, "CTPVX_STATUS_QUEUE_URL"),
    (STATUS_DLQ, "CTPVX_STATUS_DLQ_URL"),
    (RECONCILE_QUEUE, "CTPVX_RECONCILE_QUEUE_URL"),
    (RECONCILE_DLQ, "CTPVX_RECONCILE_DLQ_URL"),
];

fn var(name: &str) -> Result<String, SetupError> {
    std::env::var(name).map_err(|_| SetupError(format!("environment variable {name} is not set")))
}

impl LambdaEnv {
    /// Loads configuration, secrets and adapters. Fails with a message that names what is
    /// missing, so a misconfigured deployment says why in its first log line.
    pub async fn load() -> Result<Self, SetupError> {
        let config = match std::env::var("CTPVX_CONFIG") {
            Ok(text) => Config::from_toml(&text),
            Err(_) => Config::from_file(std::path::Path::new(&var("CTPVX_CONFIG_FILE")?)),
        }
        .map_err(|e| SetupError(e.to_string()))?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let secrets = load_secrets(&sdk).await?;
        let (stores, queue) = aws_stores(&sdk)?;
        Ok(Self {
            config,
            secrets,
            stores,
            queue,
        })
    }

    /// Fails at init, naming the variable, when a queue this function needs has no URL.
    pub fn require_queues(&self, names: &[&str]) -> Result<(), SetupError> {
        for name in names {
            if !self.queue.knows(name) {
                let var = QUEUE_URL_VARS
                    .iter()
                    .find(|(queue, _)| queue == name)
                    .map_or("its URL variable", |(_, var)| var);
                return Err(SetupError(format!("no URL for queue `{name}`: set {var}")));
            }
        }
        Ok(())
    }
}

/// The secrets: from the Secrets Manager JSON secret named by `CTPVX_SECRET_ARN`, or, without
/// it, from the environment (local runs).
pub async fn load_secrets(sdk: &aws_config::SdkConfig) -> Result<Secrets, SetupError> {
    match std::env::var("CTPVX_SECRET_ARN") {
        Ok(arn) => {
            let client = crate::aws::aws_sdk_secretsmanager::Client::new(sdk);
            let map = crate::aws::secrets::load_json_secret(&client, &arn)
                .await
                .map_err(|e| SetupError(format!("secret {arn}: {e}")))?;
            Secrets::from_map(&map)
        }
        Err(_) => Secrets::from_env(),
    }
    .map_err(|e| SetupError(e.to_string()))
}

/// The DynamoDB stores and the SQS queues named by the environment (`CTPVX_STATE_TABLE`,
/// `CTPVX_IDEMPOTENCY_TABLE`, `CTPVX_AUDIT_TABLE`, and the queue URLs of
/// [`QUEUE_URL_VARS`] that are set): what a function, or an operator's `ctpvx … --aws`, works
/// on.
pub fn aws_stores(sdk: &aws_config::SdkConfig) -> Result<(Stores, Arc<SqsQueue>), SetupError> {
    let stores = Stores {
        state: Arc::new(DynamoStateStore::from_conf(sdk, var("CTPVX_STATE_TABLE")?)),
        idempotency: Arc::new(DynamoIdempotencyStore::from_conf(
            sdk,
            var("CTPVX_IDEMPOTENCY_TABLE")?,
        )),
        audit: Arc::new(DynamoAuditLog::from_conf(sdk, var("CTPVX_AUDIT_TABLE")?)),
    };
    let urls: BTreeMap<String, String> = QUEUE_URL_VARS
        .into_iter()
        .filter_map(|(name, env)| std::env::var(env).ok().map(|url| (name.to_string(), url)))
        .collect();
    Ok((stores, Arc::new(SqsQueue::from_conf(sdk, urls))))
}
