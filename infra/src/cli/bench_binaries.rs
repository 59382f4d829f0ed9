//! `ctpvx bench` figures of the six Lambda binaries: release size (x86-64; the arm64 target
//! the template deploys is not installed here and cannot be downloaded) and the time from
//! process start to ready to serve — the part of a cold start that is ours: runtime, logging,
//! configuration, the AWS SDK's set-up, the secret, the clients, and each flow's start-up
//! checks against commercetools and Peoplevox (channels, types, templates).
//!
//! Each binary is started as Lambda starts it, with template.yaml's environment: a fake
//! Runtime API ([`RuntimeApi`]), AWS on a moto server ([`Moto`]), commercetools and Peoplevox
//! simulated on loopback (plain HTTP: the TLS handshakes of the real endpoints are not in the
//! figure). Ready is the first `GET …/invocation/next`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use ctpvx_infra::local::runtime_api::{ApiEvent, RuntimeApi};
use ctpvx_infra::stack::FUNCTIONS;
use ctpvx_infra::testbed::Testbed;

use crate::cli::bench_moto::Moto;

/// How long a function may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace this binary was built from (for `cargo build` and `.venv`).
pub fn workspace() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if built.join("Cargo.toml").exists() {
        built
    } else {
        PathBuf::from(".")
    }
}

/// Builds (unless `build` is false), measures sizes and start-to-ready times (`runs` each).
pub async fn run(build: bool, runs: usize) -> anyhow::Result<Value> {
    let root = workspace();
    let release = if build {
        ctpvx_infra::stack::build::build_functions(&root, &FUNCTIONS, true).await?
    } else {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
            .join("release")
    };
    let mut sizes = serde_json::Map::new();
    for f in FUNCTIONS {
        let bytes = std::fs::metadata(release.join(f))
            .with_context(|| format!("{}: build it with cargo build --release", f))?
            .len();
        sizes.insert(f.into(), json!({"bytes": bytes, "mb": bytes as f64 / 1e6}));
    }
    let ready = match Moto::start(&root.join(".venv")).await {
        Ok(moto) => ready_all(&moto, &release, runs.max(1)).await?,
        Err(reason) => json!({"skipped": reason}),
    };
    Ok(json!({
        "target": "x86_64-unknown-linux-gnu",
        "arm64": "not measured: the aarch64-unknown-linux-gnu target is not installed and cannot be downloaded here",
        "profile": "release (lto = fat, codegen-units = 1, opt-level = s, strip = true)",
        "mb": "10^6 bytes",
        "size": sizes,
        "ready": ready,
    }))
}

/// Start-to-ready of every function against one test bed and one moto server.
async fn ready_all(moto: &Moto, release: &Path, runs: usize) -> anyhow::Result<Value> {
    let bed = Testbed::start(Default::default()).await?;
    let secrets = bed.secret_values();
    let env = moto.provision(&bed.config_text, &secrets).await?;
    let secret_ms = secret_round_trip_ms(moto, &env).await?;
    let mut by_function = serde_json::Map::new();
    for f in FUNCTIONS {
        let mut times = Vec::with_capacity(runs);
        let mut init_requests = Vec::with_capacity(runs);
        for _ in 0..runs {
            bed.ct.reset_counters();
            bed.pvx.reset_counters();
            match ready_once(&release.join(f), f, &env).await {
                Ok(time) => times.push(time),
                // One function that does not start must not hide the others' figures.
                Err(e) => {
                    by_function.insert(f.into(), json!({"error": format!("{e:#}")}));
                    break;
                }
            }
            init_requests.push(json!({
                "commercetools": bed.ct.requests_by_route(),
                "peoplevox": bed.pvx.requests_by_operation(),
            }));
        }
        if times.len() < runs {
            continue;
        }
        let mut sorted = times.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        by_function.insert(
            f.into(),
            json!({
                "runs": runs,
                "median_ms": ms(sorted[sorted.len() / 2]),
                "min_ms": ms(sorted[0]),
                "max_ms": ms(sorted[sorted.len() - 1]),
                "first_ms": ms(times[0]),
                "all_ms": times.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "init_requests_first_run": init_requests[0],
                "init_requests_last_run": init_requests[runs - 1],
            }),
        );
    }
    Ok(json!({
        "aws": "moto server on loopback (AWS_ENDPOINT_URL): Secrets Manager GetSecretValue at init; DynamoDB and SQS clients built, not called, except order-created's template cache read",
        "moto_get_secret_ms_median": secret_ms,
        "commercetools_and_peoplevox": "simulators on loopback, plain HTTP, answering at once",
        "by_function": by_function,
    }))
}

/// What moto itself takes to answer the GetSecretValue every init makes (median of 5 on a
/// warm connection): a floor under every start-to-ready figure that AWS would not have.
async fn secret_round_trip_ms(moto: &Moto, env: &[(String, String)]) -> anyhow::Result<f64> {
    let arn = env
        .iter()
        .find(|(k, _)| k == "CTPVX_API_SECRET_ARN")
        .map(|(_, v)| v.clone())
        .context("no secret provisioned")?;
    let sdk = ctpvx_shared::aws::provision::emulator_sdk_config(&moto.endpoint).await;
    let client = ctpvx_shared::aws::aws_sdk_secretsmanager::Client::new(&sdk);
    let mut times = Vec::new();
    for _ in 0..6 {
        let started = Instant::now();
        client.get_secret_value().secret_id(&arn).send().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The first call opens the connection.
    times.remove(0);
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Starts `exe` once as Lambda would and returns the time to its first `invocation/next`.
async fn ready_once(exe: &Path, name: &str, env: &[(String, String)]) -> anyhow::Result<Duration> {
    let mut api = RuntimeApi::start().await?;
    let mut command = tokio::process::Command::new(exe);
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("ctpvx-{name}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/ctpvx-{name}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    // Logs go to stdout (discarded); stderr carries only a panic or an init failure.
    let event = tokio::select! {
        event = api.wait(READY_TIMEOUT) => Some(event),
        _ = child.wait() => None,
    };
    let Some(event) = event else {
        let output = child.wait_with_output().await?;
        anyhow::bail!(
            "{name} exited before it was ready ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    match event {
        Some(ApiEvent::Ready(at)) => Ok(at.saturating_duration_since(spawned)),
        Some(ApiEvent::InitError(body)) => anyhow::bail!("{name} failed its init: {body}"),
        None => anyhow::bail!("{name} was not ready within {READY_TIMEOUT:?}"),
    }
}
