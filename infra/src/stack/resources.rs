//! The template's resources made on moto, by type, as CloudFormation would make them:
//! `AWS::SQS::Queue` with its properties (the visibility timeout scaled with the stack's time,
//! the redrive policy set once every queue exists), `AWS::DynamoDB::Table` with its key schema
//! and TTL, `AWS::S3::Bucket`. Functions and the HTTP API get the names `Ref`/`Fn::GetAtt`
//! give for them; other types (alarms, dashboards, queue policies, log groups, IAM) are not
//! emulated and are listed as such.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::{Map, Value};

use ctpvx_shared::aws::aws_config::SdkConfig;
use ctpvx_shared::aws::aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use ctpvx_shared::aws::aws_sdk_sqs::types::QueueAttributeName;
use ctpvx_shared::aws::{aws_sdk_dynamodb, aws_sdk_sqs};

use ctpvx_shared::aws::provision::create_bucket;

use super::intrinsics::{ACCOUNT, REGION, Scope};

/// What was made: the scope now knows every resource's `Ref` and attributes.
#[derive(Debug, Default)]
pub struct Made {
    /// Resources of types the stack does not emulate: logical id → type.
    pub not_emulated: BTreeMap<String, String>,
}

/// The resources of `template` as a map (logical id → definition).
pub fn resources(template: &Value) -> anyhow::Result<&Map<String, Value>> {
    template["Resources"]
        .as_object()
        .context("template.yaml has no Resources")
}

/// Makes every emulated resource on the emulator `sdk` points at, with names starting with `prefix`, queues'
/// visibility timeouts divided by `time_scale`; fills `scope` with their attributes.
pub async fn make(
    template: &Value,
    scope: &mut Scope,
    sdk: &SdkConfig,
    prefix: &str,
    time_scale: u32,
) -> anyhow::Result<Made> {
    let mut made = Made::default();
    // Queue URLs by logical id, for the redrive policies once every queue exists.
    let mut queues = BTreeMap::new();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    // Path-style, as the functions address moto's S3.
    let s3 = ctpvx_shared::aws::config_store::client(sdk);
    let resources = resources(template)?;
    for (id, resource) in resources {
        let kind = resource["Type"].as_str().unwrap_or_default();
        let name = format!("{prefix}-{id}");
        let attributes = match kind {
            "AWS::SQS::Queue" => {
                let (url, arn) = make_queue(&sqs, &name, &resource["Properties"], time_scale)
                    .await
                    .with_context(|| format!("queue {id}"))?;
                queues.insert(id.clone(), url.clone());
                [
                    ("Ref", url.clone()),
                    ("QueueUrl", url),
                    ("Arn", arn),
                    ("QueueName", name),
                ]
                .map(|(k, v)| (k.to_string(), v))
                .into()
            }
            "AWS::DynamoDB::Table" => {
                make_table(&dynamodb, &name, &resource["Properties"])
                    .await
                    .with_context(|| format!("table {id}"))?;
                let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
                [("Ref", name), ("Arn", arn)]
                    .map(|(k, v)| (k.to_string(), v))
                    .into()
            }
            "AWS::S3::Bucket" => {
                // Bucket names are lower case.
                let bucket = name.to_lowercase();
                let versioned = resource["Properties"]["VersioningConfiguration"]["Status"]
                    .as_str()
                    == Some("Enabled");
                create_bucket(&s3, &bucket, versioned)
                    .await
                    .with_context(|| format!("bucket {id}"))?;
                [
                    ("Arn", format!("arn:aws:s3:::{bucket}")),
                    ("DomainName", format!("{bucket}.s3.amazonaws.com")),
                    ("Ref", bucket),
                ]
                .map(|(k, v)| (k.to_string(), v))
                .into()
            }
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => [
                (
                    "Arn",
                    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
                ),
                ("Ref", name),
            ]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
            "AWS::Serverless::HttpApi" => [("Ref", name.to_lowercase())]
                .map(|(k, v)| (k.to_string(), v))
                .into(),
            other => {
                made.not_emulated.insert(id.clone(), other.to_string());
                [("Ref", name)].map(|(k, v)| (k.to_string(), v)).into()
            }
        };
        scope.resources.insert(id.clone(), attributes);
    }
    // Redrive policies name other queues' ARNs: set once every queue exists.
    for (id, url) in &queues {
        let policy = &resources[id]["Properties"]["RedrivePolicy"];
        if policy.is_null() {
            continue;
        }
        let resolved = scope
            .resolve(policy)?
            .ok_or_else(|| anyhow!("{id}: RedrivePolicy resolves to nothing"))?;
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::RedrivePolicy, resolved.to_string())
            .send()
            .await
            .with_context(|| format!("redrive policy of {id}"))?;
    }
    Ok(made)
}

/// Creates a standard queue with the template's attributes; returns its URL and ARN.
async fn make_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    properties: &Value,
    time_scale: u32,
) -> anyhow::Result<(String, String)> {
    let mut request = sqs.create_queue().queue_name(name);
    let seconds = |key: &str| properties[key].as_u64();
    if let Some(visibility) = seconds("VisibilityTimeout") {
        let scaled = scale_seconds(visibility, time_scale).as_secs().max(1);
        request = request.attributes(QueueAttributeName::VisibilityTimeout, scaled.to_string());
    }
    for (key, attribute) in [
        (
            "MessageRetentionPeriod",
            QueueAttributeName::MessageRetentionPeriod,
        ),
        ("MaximumMessageSize", QueueAttributeName::MaximumMessageSize),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Some(value) = seconds(key) {
            request = request.attributes(attribute, value.to_string());
        }
    }
    let url = request
        .send()
        .await?
        .queue_url()
        .map(str::to_owned)
        .context("no queue URL")?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .context("no queue ARN")?;
    Ok((url, arn))
}

/// `seconds` of the template divided by the stack's time scale.
fn scale_seconds(seconds: u64, time_scale: u32) -> Duration {
    Duration::from_secs(seconds) / time_scale.max(1)
}

/// Creates a table with the template's key schema, attribute definitions, billing mode and TTL.
async fn make_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    properties: &Value,
) -> anyhow::Result<()> {
    let mut request = dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            properties["BillingMode"]
                .as_str()
                .unwrap_or("PAY_PER_REQUEST"),
        ));
    for key in properties["KeySchema"].as_array().into_iter().flatten() {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(key["AttributeName"].as_str().unwrap_or_default())
                .key_type(KeyType::from(key["KeyType"].as_str().unwrap_or_default()))
                .build()?,
        );
    }
    for attribute in properties["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute["AttributeName"].as_str().unwrap_or_default())
                .attribute_type(ScalarAttributeType::from(
                    attribute["AttributeType"].as_str().unwrap_or_default(),
                ))
                .build()?,
        );
    }
    request.send().await?;
    let ttl = &properties["TimeToLiveSpecification"];
    if ttl["Enabled"].as_bool() == Some(true) {
        dynamodb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl["AttributeName"].as_str().unwrap_or_default())
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}
