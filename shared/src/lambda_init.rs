//! What a Lambda reads at init in AWS: configuration, secrets and the AWS adapters, named by
//! environment variables that template.yaml sets.
//!
//! - `CTPVX_CONFIG_BUCKET` and `CTPVX_CONFIG_KEY`: the S3 object holding the configuration
//!   TOML (`crate::aws::config_store`), looked at again every `CTPVX_CONFIG_REFRESH_S`
//!   seconds (60 by default). Without a bucket, `CTPVX_CONFIG_FILE` names a file (local runs,
//!   `cargo lambda watch`);
//! - `CTPVX_API_SECRET_ARN`: a Secrets Manager JSON secret with `ct_client_secret` and
//!   `pvx_password`, read by the flows; `CTPVX_WEBHOOK_SECRET_ARN`: one with `webhook_token`
//!   and `pvx_callback_token`, read by the webhooks function. Without them, the secrets come
//!   from the environment (local runs);
//! - `CTPVX_STATE_TABLE`, `CTPVX_IDEMPOTENCY_TABLE`, `CTPVX_AUDIT_TABLE`: DynamoDB tables;
//! - `CTPVX_ORDERS_QUEUE_URL`, `CTPVX_ORDERS_DLQ_URL`, `CTPVX_STOCK_QUEUE_URL`, … (one per
//!   queue of [`QUEUE_URL_VARS`]): SQS queues; each function gets the ones it uses.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{SetupError, Stores};
use crate::aws::config_store::{self, ConfigObject, S3ConfigFeed};
use crate::aws::{DynamoAuditLog, DynamoIdempotencyStore, DynamoStateStore, SqsQueue};
use crate::config::{ApiSecrets, Config, ConfigFeed, FixedConfig, Secrets, WebhookSecrets};

pub use crate::queues::{
    ORDERS_DLQ, ORDERS_QUEUE, RECONCILE_DLQ, RECONCILE_QUEUE, SHIPMENTS_DLQ, SHIPMENTS_QUEUE,
    STATUS_DLQ, STATUS_QUEUE, STOCK_DLQ, STOCK_QUEUE,
};

/// The configuration object's key when `CTPVX_CONFIG_KEY` is not set (the template's default).
pub const DEFAULT_CONFIG_KEY: &str = "ctpvx.toml";
/// How often a function looks for a new configuration version by default, in seconds.
pub const DEFAULT_CONFIG_REFRESH_S: u64 = 60;

/// Everything a function builds once at init.
pub struct LambdaEnv {
    /// The newest valid configuration: the flows, and their API clients, are built from it and
    /// built again when its version changes.
    pub feed: Arc<dyn ConfigFeed>,
    /// The AWS SDK's configuration.
    pub sdk: aws_config::SdkConfig,
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
    /// Loads configuration and adapters. Fails with a message that names what is missing, so
    /// a misconfigured deployment says why in its first log line.
    pub async fn load() -> Result<Self, SetupError> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let feed = load_config(&sdk).await?;
        let (stores, queue) = aws_stores(&sdk)?;
        Ok(Self {
            feed,
            sdk,
            stores,
            queue,
        })
    }

    /// The API credentials (the flows' secret).
    pub async fn api_secrets(&self) -> Result<ApiSecrets, SetupError> {
        api_secrets(&self.sdk).await
    }

    /// The caller tokens (the webhooks function's secret).
    pub async fn webhook_secrets(&self) -> Result<WebhookSecrets, SetupError> {
        webhook_secrets(&self.sdk).await
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

/// The configuration: from the S3 object named by `CTPVX_CONFIG_BUCKET`/`CTPVX_CONFIG_KEY`
/// (refreshed), else from the file `CTPVX_CONFIG_FILE` (fixed).
async fn load_config(sdk: &aws_config::SdkConfig) -> Result<Arc<dyn ConfigFeed>, SetupError> {
    if let Some(bucket) = std::env::var("CTPVX_CONFIG_BUCKET")
        .ok()
        .filter(|b| !b.is_empty())
    {
        let object = ConfigObject {
            bucket,
            key: std::env::var("CTPVX_CONFIG_KEY").unwrap_or_else(|_| DEFAULT_CONFIG_KEY.into()),
        };
        let refresh = match std::env::var("CTPVX_CONFIG_REFRESH_S") {
            Ok(s) => s.parse::<u64>().map_err(|_| {
                SetupError(format!(
                    "CTPVX_CONFIG_REFRESH_S must be a whole number of seconds, not {s:?}"
                ))
            })?,
            Err(_) => DEFAULT_CONFIG_REFRESH_S,
        };
        let feed = S3ConfigFeed::load(
            config_store::client(sdk),
            object,
            Duration::from_secs(refresh),
        )
        .await
        .map_err(|e| SetupError(e.to_string()))?;
        return Ok(Arc::new(feed));
    }
    let path = std::env::var("CTPVX_CONFIG_FILE").map_err(|_| {
        SetupError(
            "no configuration: set CTPVX_CONFIG_BUCKET (and CTPVX_CONFIG_KEY) to the stack's configuration bucket, or CTPVX_CONFIG_FILE to a file".into(),
        )
    })?;
    let config =
        Config::from_file(std::path::Path::new(&path)).map_err(|e| SetupError(e.to_string()))?;
    tracing::info!(configuration = %path, "configuration loaded from a file");
    Ok(Arc::new(FixedConfig::new(config, path)))
}

/// The API credentials: from the Secrets Manager JSON secret named by `CTPVX_API_SECRET_ARN`,
/// or, without it, from the environment.
pub async fn api_secrets(sdk: &aws_config::SdkConfig) -> Result<ApiSecrets, SetupError> {
    match std::env::var("CTPVX_API_SECRET_ARN") {
        Ok(arn) => ApiSecrets::from_map(&secret_map(sdk, &arn).await?),
        Err(_) => ApiSecrets::from_env(),
    }
    .map_err(|e| SetupError(e.to_string()))
}

/// The caller tokens: from the Secrets Manager JSON secret named by
/// `CTPVX_WEBHOOK_SECRET_ARN`, or, without it, from the environment.
pub async fn webhook_secrets(sdk: &aws_config::SdkConfig) -> Result<WebhookSecrets, SetupError> {
    match std::env::var("CTPVX_WEBHOOK_SECRET_ARN") {
        Ok(arn) => WebhookSecrets::from_map(&secret_map(sdk, &arn).await?),
        Err(_) => WebhookSecrets::from_env(),
    }
    .map_err(|e| SetupError(e.to_string()))
}

/// Both halves, for the operator CLI (`--aws`).
pub async fn load_secrets(sdk: &aws_config::SdkConfig) -> Result<Secrets, SetupError> {
    Ok(Secrets {
        api: api_secrets(sdk).await?,
        hooks: webhook_secrets(sdk).await?,
    })
}

/// The fields of the Secrets Manager JSON secret `arn`.
async fn secret_map(
    sdk: &aws_config::SdkConfig,
    arn: &str,
) -> Result<BTreeMap<String, secrecy::SecretString>, SetupError> {
    let client = crate::aws::aws_sdk_secretsmanager::Client::new(sdk);
    crate::aws::secrets::load_json_secret(&client, arn)
        .await
        .map_err(|e| SetupError(format!("secret {arn}: {e}")))
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
