//! Creating the tables and queues the adapters expect, by name: for tests against an emulator
//! (moto) and for local tooling. Production resources come from `template.yaml`.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::store::StoreError;

use super::error::sdk_error;

/// The TTL attribute of every table.
const TTL_ATTRIBUTE: &str = "expiration";

/// How long to wait for a new table to become ACTIVE (instant on moto, seconds on AWS).
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// An `SdkConfig` for a local emulator at `endpoint`: region `eu-west-1` and the dummy
/// credentials `test`/`test`, set here rather than read from the environment, so that a
/// developer's real AWS profile can never be used by accident.
pub async fn emulator_sdk_config(endpoint: &str) -> SdkConfig {
    let credentials =
        aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "ctpvx-emulator");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

/// Creates the idempotency table (pk `id`), on-demand, TTL on `expiration`.
pub async fn create_idempotency_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), StoreError> {
    create_table(client, name, "id", None).await
}

/// Creates the state table (pk `pk`, sk `sk`), on-demand, TTL on `expiration`.
pub async fn create_state_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), StoreError> {
    create_table(client, name, "pk", Some("sk")).await
}

/// Creates the audit table (pk `pk`, sk `sk`), on-demand, TTL on `expiration`.
pub async fn create_audit_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), StoreError> {
    create_table(client, name, "pk", Some("sk")).await
}

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Backend(format!("key schema: {e}")))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Backend(format!("attribute definition: {e}")))
}

/// Creates a table with string keys (an existing one is kept), waits until it is ACTIVE and
/// switches TTL on.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    pk: &str,
    sk: Option<&str>,
) -> Result<(), StoreError> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(pk, KeyType::Hash)?)
        .attribute_definitions(string_attribute(pk)?);
    if let Some(sk) = sk {
        req = req
            .key_schema(key_element(sk, KeyType::Range)?)
            .attribute_definitions(string_attribute(sk)?);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(sdk_error(&format!("create table {name}"), e)),
    }
    wait_active(client, name).await?;
    enable_ttl(client, name).await
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), StoreError> {
    let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("describe table {name}"), e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Backend(format!(
                "table {name} not ACTIVE after {TABLE_ACTIVE_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), StoreError> {
    let current = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("describe TTL of {name}"), e))?;
    let status = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    // Asking again while enabled is a ValidationException on AWS.
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| StoreError::Backend(format!("TTL specification: {e}")))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("enable TTL on {name}"), e))?;
    Ok(())
}

/// A source queue and the dead-letter queue its redrive policy points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePair {
    /// URL of the source queue.
    pub url: String,
    /// URL of the dead-letter queue.
    pub dead_letter_url: String,
    /// ARN of the dead-letter queue.
    pub dead_letter_arn: String,
}

/// Creates (or finds, with the same attributes) the standard queue `name` and its
/// dead-letter queue `dead_letter_name`; a message moves there after `max_receive_count`
/// receives (SQS allows 1..=1000).
pub async fn create_queue_pair(
    client: &aws_sdk_sqs::Client,
    name: &str,
    dead_letter_name: &str,
    max_receive_count: u32,
) -> Result<QueuePair, StoreError> {
    let dead_letter_url = client
        .create_queue()
        .queue_name(dead_letter_name)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("create queue {dead_letter_name}"), e))?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Backend(format!("create queue {dead_letter_name}: no URL")))?;
    let attrs = client
        .get_queue_attributes()
        .queue_url(&dead_letter_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("queue ARN of {dead_letter_name}"), e))?;
    let dead_letter_arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| StoreError::Backend(format!("queue {dead_letter_name}: no QueueArn")))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": max_receive_count.to_string(),
    });
    let url = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| sdk_error(&format!("create queue {name}"), e))?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Backend(format!("create queue {name}: no URL")))?;
    Ok(QueuePair {
        url,
        dead_letter_url,
        dead_letter_arn,
    })
}

/// Creates (or finds) the versioned bucket `name` that holds the configuration, as the stack's
/// `ConfigBucket` is made, in the client's region.
pub async fn create_config_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
) -> Result<(), StoreError> {
    create_bucket(client, name, true).await
}

/// Creates (or finds) the bucket `name` in the client's region, keeping versions when
/// `versioned`.
pub async fn create_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
    versioned: bool,
) -> Result<(), StoreError> {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        VersioningConfiguration,
    };
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let mut create = client.create_bucket().bucket(name);
    // us-east-1 is the one region that takes no location constraint.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    if let Err(e) = create.send().await {
        let owned = e
            .as_service_error()
            .is_some_and(|s| s.is_bucket_already_owned_by_you());
        if !owned {
            return Err(sdk_error(&format!("create bucket {name}"), e));
        }
    }
    if !versioned {
        return Ok(());
    }
    client
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error(&format!("versioning of bucket {name}"), e))?;
    Ok(())
}
