//! Fresh DynamoDB tables, SQS queues, a configuration bucket and secrets on an emulator (moto),
//! made as template.yaml makes them: the state, idempotency and audit tables, every queue with
//! its dead-letter queue and redrive count. For the soak and the tests; never pointed at a real account.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;

use ctpvx_shared::app::Stores;
use ctpvx_shared::aws::config_store::{self, ConfigObject};
use ctpvx_shared::aws::provision::{
    create_audit_table, create_config_bucket, create_idempotency_table, create_queue_pair,
    create_state_table, emulator_sdk_config,
};
use ctpvx_shared::aws::{
    DynamoAuditLog, DynamoIdempotencyStore, DynamoStateStore, SqsQueue, aws_sdk_dynamodb,
    aws_sdk_secretsmanager, aws_sdk_sqs,
};
use ctpvx_shared::lambda_init::{DEFAULT_CONFIG_KEY, QUEUE_URL_VARS};
use ctpvx_shared::store::Queue;

/// Where the emulator serves each service. One moto server serves both; two servers (one per
/// service) let the queues and the tables each have a Python process, and so a core, of their
/// own: a default-size soak keeps one moto process saturated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorEndpoints {
    /// DynamoDB (the state, idempotency and audit tables).
    pub dynamodb: String,
    /// SQS (every queue and its dead-letter queue).
    pub sqs: String,
}

impl EmulatorEndpoints {
    /// Both services at one endpoint.
    pub fn one(endpoint: &str) -> Self {
        Self {
            dynamodb: endpoint.to_string(),
            sqs: endpoint.to_string(),
        }
    }
}

impl std::fmt::Display for EmulatorEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dynamodb == self.sqs {
            write!(f, "DynamoDB + SQS at {}", self.dynamodb)
        } else {
            write!(f, "DynamoDB at {}, SQS at {}", self.dynamodb, self.sqs)
        }
    }
}

/// Creates uniquely named tables and queues at `endpoints` and returns the stores over them.
pub async fn fresh_stores(
    endpoints: &EmulatorEndpoints,
) -> anyhow::Result<(Stores, Arc<dyn Queue>)> {
    let endpoint = &endpoints.dynamodb;
    let config = emulator_sdk_config(endpoint).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let unique = |kind: &str| format!("ctpvx-{kind}-{run}");
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let (state, idempotency, audit) = (unique("state"), unique("idem"), unique("audit"));
    create_state_table(&dynamodb, &state)
        .await
        .with_context(|| format!("state table at {endpoint}"))?;
    create_idempotency_table(&dynamodb, &idempotency)
        .await
        .context("idempotency table")?;
    create_audit_table(&dynamodb, &audit)
        .await
        .context("audit table")?;
    let sqs = if endpoints.sqs == endpoints.dynamodb {
        aws_sdk_sqs::Client::new(&config)
    } else {
        aws_sdk_sqs::Client::new(&emulator_sdk_config(&endpoints.sqs).await)
    };
    let mut urls = BTreeMap::new();
    for (queue, dlq, max_receive_count) in ctpvx_shared::queues::QUEUE_PAIRS {
        let pair = create_queue_pair(&sqs, &unique(queue), &unique(dlq), max_receive_count)
            .await
            .with_context(|| format!("queue pair {queue} at {}", endpoints.sqs))?;
        urls.insert(queue.to_string(), pair.url);
        urls.insert(dlq.to_string(), pair.dead_letter_url);
    }
    let stores = Stores {
        state: Arc::new(DynamoStateStore::new(dynamodb.clone(), state)),
        idempotency: Arc::new(DynamoIdempotencyStore::new(dynamodb.clone(), idempotency)),
        audit: Arc::new(DynamoAuditLog::new(dynamodb, audit)),
    };
    Ok((stores, Arc::new(SqsQueue::new(sqs, urls))))
}

/// Creates uniquely named tables, queues, a configuration bucket holding `config_text` and
/// the two Secrets Manager JSON secrets (the API secret and the webhook secret, each holding
/// its keys of `secrets`: name → value) at `endpoint`, and returns the environment a function
/// binary reads them from (template.yaml's variables), with the endpoint, a region and dummy
/// credentials.
pub async fn function_env(
    endpoint: &str,
    config_text: &str,
    secrets: &[(&str, String)],
) -> anyhow::Result<Vec<(String, String)>> {
    let sdk = emulator_sdk_config(endpoint).await;
    let unique = |kind: &str| format!("ctpvx-fn-{kind}-{}", uuid::Uuid::new_v4().simple());
    let mut env = vec![
        ("AWS_ENDPOINT_URL".to_string(), endpoint.to_string()),
        ("AWS_REGION".into(), "eu-west-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
    ];
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (state, idempotency, audit) = (unique("state"), unique("idem"), unique("audit"));
    create_state_table(&dynamodb, &state).await?;
    create_idempotency_table(&dynamodb, &idempotency).await?;
    create_audit_table(&dynamodb, &audit).await?;
    env.push(("CTPVX_STATE_TABLE".into(), state));
    env.push(("CTPVX_IDEMPOTENCY_TABLE".into(), idempotency));
    env.push(("CTPVX_AUDIT_TABLE".into(), audit));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let var_of = |queue: &str| {
        QUEUE_URL_VARS
            .iter()
            .find(|(name, _)| *name == queue)
            .map(|(_, var)| var.to_string())
    };
    for (queue, dlq, max_receive_count) in ctpvx_shared::queues::QUEUE_PAIRS {
        let pair = create_queue_pair(&sqs, &unique(queue), &unique(dlq), max_receive_count).await?;
        env.extend(var_of(queue).map(|var| (var, pair.url)));
        env.extend(var_of(dlq).map(|var| (var, pair.dead_letter_url)));
    }
    let object = pushed_config(&sdk, &unique("config"), config_text).await?;
    env.push(("CTPVX_CONFIG_BUCKET".into(), object.bucket));
    env.push(("CTPVX_CONFIG_KEY".into(), object.key));
    let secretsmanager = aws_sdk_secretsmanager::Client::new(&sdk);
    for (var, keys) in [
        ("CTPVX_API_SECRET_ARN", ["ct_client_secret", "pvx_password"]),
        (
            "CTPVX_WEBHOOK_SECRET_ARN",
            ["webhook_token", "pvx_callback_token"],
        ),
    ] {
        let body: serde_json::Map<String, serde_json::Value> = secrets
            .iter()
            .filter(|(k, _)| keys.contains(k))
            .map(|(k, v)| (k.to_string(), v.clone().into()))
            .collect();
        let created = secretsmanager
            .create_secret()
            .name(unique("secret"))
            .secret_string(serde_json::Value::Object(body).to_string())
            .send()
            .await?;
        let arn = created
            .arn()
            .ok_or_else(|| anyhow::anyhow!("moto returned no secret ARN"))?;
        env.push((var.into(), arn.to_string()));
    }
    Ok(env)
}

/// Creates the versioned bucket `bucket` and pushes `config_text` into it, as
/// `ctpvx config push` does.
pub async fn pushed_config(
    sdk: &ctpvx_shared::aws::aws_config::SdkConfig,
    bucket: &str,
    config_text: &str,
) -> anyhow::Result<ConfigObject> {
    let s3 = config_store::client(sdk);
    create_config_bucket(&s3, bucket)
        .await
        .with_context(|| format!("configuration bucket {bucket}"))?;
    let object = ConfigObject {
        bucket: bucket.to_string(),
        key: DEFAULT_CONFIG_KEY.to_string(),
    };
    config_store::push(&s3, &object, config_text).await?;
    Ok(object)
}
