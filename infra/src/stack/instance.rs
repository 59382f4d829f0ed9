//! One execution environment of a function: its binary started as Lambda starts it (a Runtime
//! API of its own on loopback, `AWS_LAMBDA_RUNTIME_API` pointing at it, the function's
//! environment), handed one invocation at a time with its deadline, and killed (SIGKILL) when
//! an invocation passes it. Its stdout and stderr go to the function's log file; its EMF lines
//! (the metrics CloudWatch would take from the logs) are summed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

use ctpvx_shared::store::now_epoch_ms;

use crate::local::runtime_api::{ApiEvent, RuntimeApi};

/// Metric name → sum, over every EMF line a function's instances printed.
pub type MetricSums = Arc<Mutex<BTreeMap<String, f64>>>;

/// How to start an instance.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The binary.
    pub exe: PathBuf,
    /// Its whole environment (nothing of the stack's own is inherited).
    pub env: Vec<(String, String)>,
    /// The function's ARN (the invocations' `Lambda-Runtime-Invoked-Function-Arn`).
    pub function_arn: String,
    /// Where its output goes (appended); `None`: discarded.
    pub log: Option<PathBuf>,
    /// Where its metrics are summed.
    pub metrics: MetricSums,
    /// How long its init may take (Lambda's init phase).
    pub init_limit: Duration,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function answered (`…/response`) with this body.
    Response(String),
    /// The function reported an error (`…/error`) with this body.
    Error(String),
    /// The invocation passed its deadline and the process was killed.
    TimedOut,
    /// The process died during the invocation.
    Crashed(String),
    /// A new instance could not start (its init failed or took too long).
    InitFailed(String),
}

/// A running instance, ready for an invocation.
pub struct Instance {
    api: RuntimeApi,
    child: tokio::process::Child,
}

impl Instance {
    /// Starts the binary and waits until it asks for its first invocation (a cold start).
    pub async fn start(launch: &Launch) -> anyhow::Result<Self> {
        let mut api = RuntimeApi::start_for(&launch.function_arn).await?;
        let mut child = tokio::process::Command::new(&launch.exe)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped with the stack: only this process, which the stack started.
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", launch.exe.display()))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(copy_lines(out, launch.log.clone(), launch.metrics.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(copy_lines(err, launch.log.clone(), launch.metrics.clone()));
        }
        let started = tokio::select! {
            event = api.wait(launch.init_limit) => event,
            status = child.wait() => bail!("exited during its init ({})", status.map(|s| s.to_string()).unwrap_or_default()),
        };
        match started {
            Some(ApiEvent::Ready(_)) => Ok(Self { api, child }),
            Some(ApiEvent::InitError(body)) => {
                let _ = child.kill().await;
                bail!("its init failed: {body}")
            }
            None => {
                let _ = child.kill().await;
                bail!("not ready within {:?}", launch.init_limit)
            }
        }
    }

    /// Hands it `payload` with `timeout` to run; kills it when the deadline passes.
    pub async fn invoke(&mut self, payload: &str, timeout: Duration) -> Outcome {
        let deadline_ms = now_epoch_ms() + i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        self.api.invoke(payload, deadline_ms);
        let answer = tokio::select! {
            answer = self.api.answer(timeout) => answer,
            status = self.child.wait() => {
                return Outcome::Crashed(status.map(|s| s.to_string()).unwrap_or_default());
            }
        };
        match answer {
            Some(answer) if answer.error => Outcome::Error(answer.body),
            Some(answer) => Outcome::Response(answer.body),
            None => {
                // As Lambda does at the deadline: the process goes, whatever it was doing.
                let _ = self.child.kill().await;
                Outcome::TimedOut
            }
        }
    }

    /// Stops it (SIGKILL).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Copies `stream` line by line to `log` and sums the metrics of its EMF lines.
async fn copy_lines(stream: impl AsyncRead + Unpin, log: Option<PathBuf>, metrics: MetricSums) {
    let mut file = match &log {
        Some(path) => open_log(path).await,
        None => None,
    };
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.contains("\"_aws\"") {
            add_metrics(&line, &metrics);
        }
        if let Some(file) = file.as_mut() {
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
        }
    }
}

async fn open_log(path: &Path) -> Option<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .ok()
}

/// Adds the values of the metrics an EMF line declares.
fn add_metrics(line: &str, metrics: &MetricSums) {
    let Ok(emf) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    let declared = emf["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["Metrics"].as_array().into_iter().flatten())
        .filter_map(|m| m["Name"].as_str());
    let mut sums = metrics.lock().unwrap_or_else(|e| e.into_inner());
    for name in declared {
        if let Some(value) = emf[name].as_f64() {
            *sums.entry(name.to_string()).or_default() += value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_add_up() {
        let metrics = MetricSums::default();
        let line = ctpvx_shared::metrics::batch_metrics("stock-delta", 10, 2, 3);
        add_metrics(&line, &metrics);
        add_metrics(&line, &metrics);
        add_metrics("{\"_aws\": not json", &metrics);
        let sums = metrics.lock().unwrap().clone();
        assert_eq!(sums.get("Events"), Some(&20.0));
        assert_eq!(sums.get("PeoplevoxRequests"), Some(&6.0));
    }
}
