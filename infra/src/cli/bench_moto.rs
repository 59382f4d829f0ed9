//! A moto server for the cold-start runs, started from the workspace's Python venv on a free
//! loopback port and stopped (killed) when dropped, with what a deployment has: the three
//! DynamoDB tables, every queue with its dead-letter queue, and the Secrets Manager JSON
//! secret. The functions reach it through `AWS_ENDPOINT_URL`, as through AWS.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long moto may take to answer after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    // Killed on drop (`kill_on_drop`): only this process, which this bench started.
    _child: tokio::process::Child,
}

impl Moto {
    /// Starts `moto_server` from `venv` (`.venv` of the workspace); `Err` says why it could
    /// not, for a section that is then skipped.
    pub async fn start(venv: &Path) -> Result<Self, String> {
        let exe = venv.join("bin/moto_server");
        if !exe.exists() {
            return Err(format!(
                "{} not found (infra/dev/test-all.sh creates the venv)",
                exe.display()
            ));
        }
        Self::launch(
            tokio::process::Command::new(&exe),
            &exe.display().to_string(),
        )
        .await
    }

    /// Starts infra/dev/moto_server.py (moto with its SQS and DynamoDB calls made atomic, as
    /// the soak needs) with `python`, the interpreter of a venv that has moto.
    pub async fn start_atomic(python: &Path, script: &Path) -> Result<Self, String> {
        if !python.exists() {
            return Err(format!(
                "{} not found (infra/dev/test-all.sh creates the venv; or give --aws)",
                python.display()
            ));
        }
        let mut command = tokio::process::Command::new(python);
        command.arg(script);
        Self::launch(command, &script.display().to_string()).await
    }

    /// Starts `command` with `-H 127.0.0.1 -p PORT` on a free port and waits until it answers.
    async fn launch(mut command: tokio::process::Command, exe: &str) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let mut child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {exe}: {e}"))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("moto_server exited during start-up ({status})"));
            }
            let probe = http
                .get(format!("{endpoint}/moto-api/"))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return Ok(Self {
                    endpoint,
                    _child: child,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!(
            "moto_server did not answer within {START_TIMEOUT:?}"
        ))
    }

    /// Creates the tables, queues, the configuration bucket holding `config_text` and the JSON
    /// secrets holding `secrets` (name → value); returns the environment a function reads them
    /// from (template.yaml's variables) plus the AWS endpoint, region and dummy credentials.
    pub async fn provision(
        &self,
        config_text: &str,
        secrets: &[(&str, String)],
    ) -> anyhow::Result<Vec<(String, String)>> {
        ctpvx_infra::aws_emulator::function_env(&self.endpoint, config_text, secrets).await
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(ctpvx_infra::sandbox::free_loopback_addr()?.port())
}
