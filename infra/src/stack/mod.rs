//! The shipped binaries run as AWS runs them, on this machine: `ctpvx stack` and
//! `ctpvx soak --stack`. template.yaml is read ([`template`]), its resources made on moto
//! ([`resources`]: queues, tables, buckets; secrets and the configuration from
//! [`parameters`]), each function's environment resolved as CloudFormation would
//! ([`intrinsics`], [`functions`]), and the six function binaries started under a local Lambda
//! Runtime API ([`instance`], [`pool`]: Timeout enforced by SIGKILL, a cold start after),
//! invoked by their events: SQS event source mappings ([`poller`]), HTTP API routes
//! ([`gateway`]) and EventBridge schedules ([`schedule`]). Time may be compressed: Timeouts,
//! visibility timeouts, batching windows and rates are divided by a scale, and each invocation
//! sees the shorter deadline.

pub mod build;
pub mod functions;
pub mod gateway;
pub mod instance;
pub mod intrinsics;
pub mod parameters;
pub mod poller;
pub mod pool;
pub mod resources;
pub mod schedule;
pub mod sqs_stall;
pub mod stores;
pub mod template;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The six function binaries (Cargo packages of `functions/*`), as template.yaml deploys them.
pub const FUNCTIONS: [&str; 6] = [
    "webhooks",
    "order-created",
    "stock-delta",
    "shipment-confirmed",
    "order-status",
    "nightly-reconcile",
];

use anyhow::{Context, bail};
use serde_json::{Value, json};

use ctpvx_shared::aws::aws_sdk_sqs;
use ctpvx_shared::aws::provision::emulator_sdk_config;

use crate::local::worker::Chance;
use functions::{EventSource, FunctionSpec};
use instance::{Launch, Outcome};
use intrinsics::{REGION, Scope};
use pool::Pool;

/// How long a function's init may take (Lambda allows 10 s; a loaded machine needs more).
const INIT_LIMIT: Duration = Duration::from_secs(30);
/// EventBridge retries a failed asynchronous invocation twice.
const SCHEDULE_RETRIES: u32 = 2;
/// Its first retry comes after about a minute (scaled).
const SCHEDULE_RETRY_DELAY: Duration = Duration::from_secs(60);

/// How to run the stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// template.yaml.
    pub template: PathBuf,
    /// Where the function binaries are (named as `Metadata.BuildProperties.Binary`).
    pub bin_dir: PathBuf,
    /// The moto server.
    pub aws_endpoint: String,
    /// Parameters, configuration and secrets.
    pub given: parameters::Given,
    /// Timeouts, visibility timeouts, batching windows and rates are divided by this.
    pub time_scale: u32,
    /// No invocation runs under less than this (or the unscaled Timeout, if shorter): on a
    /// loaded machine a deadline of a few hundred milliseconds measures the machine.
    pub min_timeout: Duration,
    /// Where the HTTP API listens (port 0: any free port).
    pub listen: SocketAddr,
    /// One log file per binary here; `None`: function output discarded.
    pub log_dir: Option<PathBuf>,
    /// `rate(…)` schedules fire on their own (scaled).
    pub run_rates: bool,
    /// Instances of a function without reserved concurrency, at most.
    pub max_instances: usize,
    /// A share of the queue-fed functions' settling SQS calls stall past their Timeout
    /// ([`sqs_stall`]); `None`: never.
    pub stalls: Option<Arc<Chance>>,
}

impl StackOptions {
    /// The scaled Timeout of `spec`.
    fn timeout_of(&self, spec: &FunctionSpec) -> Duration {
        (spec.timeout / self.time_scale.max(1))
            .max(self.min_timeout)
            .min(spec.timeout)
    }
}

/// A schedule of the template.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The function's logical id.
    pub function: String,
    /// The event's name.
    pub event: String,
    /// Its expression.
    pub expression: String,
    /// The rule's name (the event's `resources`).
    pub rule: String,
}

/// The running stack.
pub struct Stack {
    /// The HTTP API's base URL.
    pub url: String,
    /// The prefix of every resource name.
    pub name: String,
    /// The functions.
    pub functions: Vec<FunctionSpec>,
    /// The schedules.
    pub schedules: Vec<Schedule>,
    /// Resources made and not emulated.
    pub made: resources::Made,
    /// What the pollers received and deleted.
    pub books: Arc<poller::Books>,
    pools: BTreeMap<String, Arc<Pool>>,
    ticks: Arc<std::sync::Mutex<BTreeMap<String, time::OffsetDateTime>>>,
    time_scale: u32,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _gateway: gateway::Gateway,
    _proxies: Vec<sqs_stall::StallProxy>,
}

impl Stack {
    /// Makes the resources, starts the pollers, the HTTP API and the rate schedules.
    /// Instances start at their first invocation.
    pub async fn start(options: StackOptions) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(&options.template)
            .with_context(|| format!("reading {}", options.template.display()))?;
        let template = template::parse(&text)?;
        let name = format!("ctpvx-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let sdk = emulator_sdk_config(&options.aws_endpoint).await;
        let values = parameters::resolve(&template, &options.given, &sdk, &name).await?;
        let mut scope = Scope::new(&name, values);
        if let Some(conditions) = template["Conditions"].as_object() {
            scope.evaluate_conditions(conditions)?;
        }
        let made = resources::make(&template, &mut scope, &sdk, &name, options.time_scale).await?;
        let functions = functions::read(&template, &scope)?;
        parameters::deliver_config(
            &sdk,
            functions.iter().map(|f| &f.environment),
            &options.given.config_text,
        )
        .await?;
        if let Some(dir) = &options.log_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut pools = BTreeMap::new();
        let mut proxies = Vec::new();
        for spec in &functions {
            let exe = options.bin_dir.join(&spec.binary);
            if !exe.exists() {
                bail!(
                    "{}: not built (cargo build -p {} or --bin-dir)",
                    exe.display(),
                    spec.binary
                );
            }
            let timeout = options.timeout_of(spec);
            let queue_fed = spec
                .events
                .iter()
                .any(|e| matches!(e.source, EventSource::Sqs(_)));
            // A queue-fed function's SQS calls go through a proxy that compresses the delays
            // it sets (and stalls some, for the soak).
            let sqs_endpoint = if queue_fed && (options.stalls.is_some() || options.time_scale > 1)
            {
                let stalls = options
                    .stalls
                    .clone()
                    .unwrap_or_else(|| Arc::new(Chance::new(0.0, 0)));
                let proxy = sqs_stall::StallProxy::start(
                    &options.aws_endpoint,
                    stalls,
                    timeout + Duration::from_secs(2),
                    options.time_scale,
                )
                .await?;
                let url = proxy.url.clone();
                proxies.push(proxy);
                Some(url)
            } else {
                None
            };
            let launch = Launch {
                exe,
                env: process_env(spec, &options.aws_endpoint, sqs_endpoint),
                function_arn: scope.resolve_string(&json!({"Fn::GetAtt": [spec.id, "Arn"]}))?,
                log: options
                    .log_dir
                    .as_ref()
                    .map(|d| d.join(format!("{}.log", spec.binary))),
                metrics: Default::default(),
                init_limit: INIT_LIMIT,
            };
            let concurrency = spec.reserved.unwrap_or(options.max_instances);
            pools.insert(
                spec.id.clone(),
                Arc::new(Pool::new(spec.clone(), launch, timeout, concurrency)),
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let books = Arc::new(poller::Books::default());
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let mut tasks = Vec::new();
        let mut routes = Vec::new();
        let mut schedules = Vec::new();
        let mut api_id = None;
        for spec in &functions {
            let pool = &pools[&spec.id];
            for event in &spec.events {
                match &event.source {
                    EventSource::Sqs(source) => tasks.extend(poller::start(
                        poller::Mapping {
                            source: source.clone(),
                            window: source.window / options.time_scale.max(1),
                        },
                        pool.clone(),
                        sqs.clone(),
                        books.clone(),
                        stop.clone(),
                    )),
                    EventSource::HttpApi { method, path } => {
                        api_id = api_id.or_else(|| {
                            let resource = &template["Resources"][&spec.id]["Properties"]["Events"]
                                [&event.name]["Properties"]["ApiId"];
                            scope.resolve_string(resource).ok()
                        });
                        routes.push(gateway::Route {
                            method: method.clone(),
                            path: path.clone(),
                            pool: pool.clone(),
                        });
                    }
                    EventSource::Schedule {
                        expression,
                        enabled,
                    } => {
                        let schedule = Schedule {
                            function: spec.id.clone(),
                            event: event.name.clone(),
                            expression: expression.clone(),
                            rule: format!("{}-{}{}", name, spec.id, event.name),
                        };
                        // Every expression is read, so that a bad one fails the start.
                        let period = schedule::rate(expression)?;
                        if options.run_rates
                            && *enabled
                            && let Some(period) = period
                        {
                            tasks.push(tokio::spawn(tick(
                                schedule.clone(),
                                pool.clone(),
                                period / options.time_scale.max(1),
                                options.time_scale,
                                stop.clone(),
                            )));
                        }
                        schedules.push(schedule);
                    }
                    EventSource::Other(kind) => {
                        tracing::warn!(function = %spec.id, event = %event.name, %kind, "event type not emulated");
                    }
                }
            }
        }
        let gateway =
            gateway::Gateway::start(api_id.as_deref().unwrap_or("local"), routes, options.listen)
                .await?;
        Ok(Self {
            url: gateway.url.clone(),
            name,
            functions,
            schedules,
            made,
            books,
            pools,
            ticks: Default::default(),
            time_scale: options.time_scale.max(1),
            stop,
            tasks,
            _gateway: gateway,
            _proxies: proxies,
        })
    }

    /// The value of environment variable `var` in any function's environment.
    pub fn environment_value(&self, var: &str) -> Option<&str> {
        self.functions
            .iter()
            .find_map(|f| f.environment.get(var).map(String::as_str))
    }

    /// The schedule of the function built from `binary` (its first, when it has several).
    pub fn schedule_of(&self, binary: &str) -> Option<&Schedule> {
        let function = self.functions.iter().find(|f| f.binary == binary)?;
        self.schedules.iter().find(|s| s.function == function.id)
    }

    /// Fires `schedule` now, as EventBridge would at a tick (retrying a failed invocation
    /// twice, after a scaled minute); returns the last outcome.
    pub async fn trigger(&self, schedule: &Schedule) -> anyhow::Result<Outcome> {
        let pool = self
            .pools
            .get(&schedule.function)
            .with_context(|| format!("no function {}", schedule.function))?;
        let time = self.next_tick(&schedule.rule);
        Ok(fire(schedule, pool, &time, self.time_scale).await)
    }

    /// A tick time for `rule` after its last one (a run's id is its tick's time, to the
    /// second: two ticks must not share one).
    fn next_tick(&self, rule: &str) -> String {
        let mut ticks = self.ticks.lock().unwrap_or_else(|e| e.into_inner());
        let now = time::OffsetDateTime::now_utc();
        let at = match ticks.get(rule) {
            Some(last) if now < *last + time::Duration::SECOND => *last + time::Duration::SECOND,
            _ => now,
        };
        ticks.insert(rule.to_string(), at);
        schedule::tick_time(at)
    }

    /// Invocations killed at their deadline so far, over every function.
    pub fn timeout_kills(&self) -> u64 {
        self.pools.values().map(|p| p.timeout_kills()).sum()
    }

    /// The sums of the metrics the function built from `binary` printed so far.
    pub fn metrics_of(&self, binary: &str) -> BTreeMap<String, f64> {
        self.pools
            .values()
            .find(|p| p.spec.binary == binary)
            .and_then(|p| p.metrics().lock().ok().map(|m| m.clone()))
            .unwrap_or_default()
    }

    /// What each function did, by binary.
    pub fn figures(&self) -> Value {
        let by_binary: serde_json::Map<String, Value> = self
            .pools
            .values()
            .map(|p| {
                let figures = p.figures();
                (
                    figures.binary.clone(),
                    serde_json::to_value(figures).unwrap_or_default(),
                )
            })
            .collect();
        json!({
            "functions": by_binary,
            "not_emulated": self.made.not_emulated,
            "time_scale": self.time_scale,
        })
    }

    /// Stops the pollers and schedules, then every instance.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        for pool in self.pools.values() {
            pool.stop().await;
        }
    }
}

/// Invokes `pool` with the scheduled event of `schedule` at `time`, retrying failures.
async fn fire(schedule: &Schedule, pool: &Pool, time: &str, time_scale: u32) -> Outcome {
    let event = schedule::scheduled_event(&schedule.rule, time).to_string();
    let mut outcome = pool.invoke(&event).await;
    for attempt in 0..SCHEDULE_RETRIES {
        if matches!(outcome, Outcome::Response(_)) {
            break;
        }
        tracing::warn!(rule = %schedule.rule, ?outcome, "scheduled invocation failed; retried");
        tokio::time::sleep(SCHEDULE_RETRY_DELAY * (attempt + 1) / time_scale.max(1)).await;
        outcome = pool.invoke(&event).await;
    }
    outcome
}

/// Fires a `rate(…)` schedule every `period` until `stop`.
async fn tick(
    schedule: Schedule,
    pool: Arc<Pool>,
    period: Duration,
    time_scale: u32,
    stop: Arc<AtomicBool>,
) {
    let period = period.max(Duration::from_secs(1));
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(period).await;
        let time = schedule::tick_time(time::OffsetDateTime::now_utc());
        fire(&schedule, &pool, &time, time_scale).await;
    }
}

/// The environment Lambda gives a function's process: its own variables, the runtime's, and
/// AWS pointed at moto (SQS through `sqs_endpoint` when set).
fn process_env(
    spec: &FunctionSpec,
    aws_endpoint: &str,
    sqs_endpoint: Option<String>,
) -> Vec<(String, String)> {
    let logging = &spec.logging;
    let log_group = match logging["LogGroup"].as_str() {
        Some(group) => group.to_string(),
        None => format!("/aws/lambda/{}", spec.name),
    };
    let mut env: Vec<(String, String)> = spec
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = |v: &Value, default: &str| v.as_str().unwrap_or(default).to_string();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", aws_endpoint.to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", log_group),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_string()),
        ("AWS_LAMBDA_LOG_FORMAT", text(&logging["LogFormat"], "Text")),
        (
            "AWS_LAMBDA_LOG_LEVEL",
            text(&logging["ApplicationLogLevel"], "INFO"),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        (
            "AWS_EXECUTION_ENV",
            "AWS_Lambda_provided.al2023".to_string(),
        ),
        ("_HANDLER", "bootstrap".to_string()),
        ("TZ", ":UTC".to_string()),
    ] {
        env.push((k.to_string(), v));
    }
    if let Some(sqs) = sqs_endpoint {
        env.push(("AWS_ENDPOINT_URL_SQS".to_string(), sqs));
    }
    env
}
