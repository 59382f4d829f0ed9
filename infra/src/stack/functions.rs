//! The template's functions as the local stack runs them: which binary, its Timeout and memory,
//! its reserved concurrency, its environment (`Globals.Function.Environment.Variables` merged
//! with its own, every intrinsic resolved), and the events that invoke it (SQS event source
//! mappings, HTTP API routes, EventBridge schedules), all read from the template.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::Value;

use super::intrinsics::Scope;
use super::resources::resources;

/// Lambda's default Timeout (s) when neither the function nor Globals set one.
const DEFAULT_TIMEOUT_S: u64 = 3;
/// Lambda's default memory (MB).
const DEFAULT_MEMORY_MB: u64 = 128;

/// One function of the template.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// Logical id (`WebhooksFunction`).
    pub id: String,
    /// Its name once deployed (what `Ref` gives).
    pub name: String,
    /// The Cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Its Timeout, as the template says (unscaled).
    pub timeout: Duration,
    /// Its MemorySize (passed on in the environment; not enforced).
    pub memory_mb: u64,
    /// ReservedConcurrentExecutions, when set.
    pub reserved: Option<usize>,
    /// Its environment, resolved.
    pub environment: BTreeMap<String, String>,
    /// Its LoggingConfig (Globals' merged with its own), resolved.
    pub logging: Value,
    /// What invokes it.
    pub events: Vec<EventSpec>,
}

/// One event of a function.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The event's name in the template (`Orders`, `Nightly`).
    pub name: String,
    /// What it is.
    pub source: EventSource,
}

/// The event types the stack emulates.
#[derive(Debug, Clone)]
pub enum EventSource {
    /// An SQS event source mapping.
    Sqs(SqsSource),
    /// An HTTP API route.
    HttpApi {
        /// `POST`, `GET`, … (or `ANY`).
        method: String,
        /// `/webhooks/peoplevox/{token}/{event}`.
        path: String,
    },
    /// An EventBridge schedule.
    Schedule {
        /// `rate(15 minutes)` or `cron(0 2 * * ? *)`.
        expression: String,
        /// `Enabled: false` schedules never fire on their own.
        enabled: bool,
    },
    /// A type the stack does not emulate.
    Other(String),
}

/// An SQS event source mapping's settings.
#[derive(Debug, Clone)]
pub struct SqsSource {
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN (the records' `eventSourceARN`).
    pub queue_arn: String,
    /// BatchSize (Lambda's default 10).
    pub batch_size: usize,
    /// MaximumBatchingWindowInSeconds (unscaled).
    pub window: Duration,
    /// FunctionResponseTypes holds ReportBatchItemFailures.
    pub report_failures: bool,
    /// ScalingConfig.MaximumConcurrency (Lambda's floor is 2).
    pub max_concurrency: Option<usize>,
}

/// Every `AWS::Serverless::Function` of `template`, resolved in `scope`.
pub fn read(template: &Value, scope: &Scope) -> anyhow::Result<Vec<FunctionSpec>> {
    let globals = &template["Globals"]["Function"];
    let mut out = Vec::new();
    for (id, resource) in resources(template)? {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        out.push(read_one(id, resource, globals, scope).with_context(|| format!("function {id}"))?);
    }
    Ok(out)
}

fn read_one(
    id: &str,
    resource: &Value,
    globals: &Value,
    scope: &Scope,
) -> anyhow::Result<FunctionSpec> {
    let properties = &resource["Properties"];
    let setting = |key: &str| {
        (!properties[key].is_null())
            .then(|| &properties[key])
            .or((!globals[key].is_null()).then(|| &globals[key]))
    };
    let number = |key: &str| -> anyhow::Result<Option<u64>> {
        setting(key)
            .map(|v| scope.resolve_string(v)?.parse::<u64>().map_err(Into::into))
            .transpose()
    };
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .context("no Metadata.BuildProperties.Binary")?
        .to_string();
    let mut variables = BTreeMap::new();
    for source in [globals, properties] {
        if let Some(vars) = source["Environment"]["Variables"].as_object() {
            for (name, value) in vars {
                match scope.resolve(value)? {
                    Some(Value::String(s)) => variables.insert(name.clone(), s),
                    Some(Value::Null) | None => variables.remove(name),
                    Some(other) => variables.insert(name.clone(), other.to_string()),
                };
            }
        }
    }
    let mut logging = serde_json::Map::new();
    for source in [globals, properties] {
        if let Some(Value::Object(config)) = scope.resolve(&source["LoggingConfig"])? {
            logging.extend(config);
        }
    }
    let mut events = Vec::new();
    if let Some(declared) = properties["Events"].as_object() {
        for (name, event) in declared {
            let source = read_event(event, scope).with_context(|| format!("event {name}"))?;
            events.push(EventSpec {
                name: name.clone(),
                source,
            });
        }
    }
    Ok(FunctionSpec {
        id: id.to_string(),
        name: scope.resolve_string(&serde_json::json!({"Ref": id}))?,
        binary,
        timeout: Duration::from_secs(number("Timeout")?.unwrap_or(DEFAULT_TIMEOUT_S)),
        memory_mb: number("MemorySize")?.unwrap_or(DEFAULT_MEMORY_MB),
        reserved: number("ReservedConcurrentExecutions")?.map(|n| n as usize),
        environment: variables,
        logging: Value::Object(logging),
        events,
    })
}

fn read_event(event: &Value, scope: &Scope) -> anyhow::Result<EventSource> {
    let properties = &event["Properties"];
    let text = |key: &str| -> anyhow::Result<Option<String>> {
        (!properties[key].is_null())
            .then(|| scope.resolve_string(&properties[key]))
            .transpose()
    };
    Ok(match event["Type"].as_str().unwrap_or_default() {
        "SQS" => {
            let queue_arn = text("Queue")?.context("no Queue")?;
            let queue_url = scope
                .resources
                .values()
                .find(|attributes| attributes.get("Arn") == Some(&queue_arn))
                .and_then(|attributes| attributes.get("QueueUrl"))
                .cloned()
                .ok_or_else(|| anyhow!("no queue the stack made has the ARN {queue_arn}"))?;
            let responses = scope.resolve(&properties["FunctionResponseTypes"])?;
            SqsSource {
                queue_url,
                queue_arn,
                batch_size: text("BatchSize")?.map_or(Ok(10), |s| s.parse())?,
                window: Duration::from_secs(
                    text("MaximumBatchingWindowInSeconds")?.map_or(Ok(0), |s| s.parse())?,
                ),
                report_failures: responses
                    .as_ref()
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|t| t == "ReportBatchItemFailures")),
                max_concurrency: scope
                    .resolve(&properties["ScalingConfig"]["MaximumConcurrency"])?
                    .and_then(|v| v.as_u64())
                    .map(|n| n as usize),
            }
            .into()
        }
        "HttpApi" => EventSource::HttpApi {
            method: text("Method")?
                .unwrap_or_else(|| "ANY".into())
                .to_uppercase(),
            path: text("Path")?.unwrap_or_else(|| "$default".into()),
        },
        "Schedule" | "ScheduleV2" => EventSource::Schedule {
            expression: text("Schedule")?
                .or(text("ScheduleExpression")?)
                .context("no Schedule")?,
            enabled: !matches!(properties["Enabled"], Value::Bool(false))
                && properties["State"].as_str() != Some("DISABLED"),
        },
        other => EventSource::Other(other.to_string()),
    })
}

impl From<SqsSource> for EventSource {
    fn from(source: SqsSource) -> Self {
        EventSource::Sqs(source)
    }
}
