//! A moto server for the cold-start runs, started from the workspace's Python venv on a free
//! loopback port and stopped (killed) when dropped, with what a deployment has: the three
//! DynamoDB tables, every queue with its dead-letter queue, and the Secrets Manager JSON
//! secret. The functions reach it through `AWS_ENDPOINT_URL`, as through AWS.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ctpvx_shared::aws::aws_sdk_secretsmanager;
use ctpvx_shared::aws::provision::{
    create_audit_table, create_idempotency_table, create_queue_pair, create_state_table,
    emulator_sdk_config,
};
use ctpvx_shared::aws::{aws_sdk_dynamodb, aws_sdk_sqs};
use ctpvx_shared::lambda_init::QUEUE_URL_VARS;

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
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let mut child = tokio::process::Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
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

    /// Creates the tables, queues and the JSON secret holding `secrets` (name → value); returns
    /// the environment a function reads them from (template.yaml's variables) plus the AWS
    /// endpoint, region and dummy credentials.
    pub async fn provision(
        &self,
        secrets: &[(&str, String)],
    ) -> anyhow::Result<Vec<(String, String)>> {
        let sdk = emulator_sdk_config(&self.endpoint).await;
        let unique = |kind: &str| format!("ctpvx-bench-{kind}-{}", uuid::Uuid::new_v4().simple());
        let mut env = vec![
            ("AWS_ENDPOINT_URL".to_string(), self.endpoint.clone()),
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
            let pair =
                create_queue_pair(&sqs, &unique(queue), &unique(dlq), max_receive_count).await?;
            env.extend(var_of(queue).map(|var| (var, pair.url)));
            env.extend(var_of(dlq).map(|var| (var, pair.dead_letter_url)));
        }
        let body: serde_json::Map<String, serde_json::Value> = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone().into()))
            .collect();
        let created = aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(unique("secret"))
            .secret_string(serde_json::Value::Object(body).to_string())
            .send()
            .await?;
        let arn = created
            .arn()
            .ok_or_else(|| anyhow::anyhow!("moto returned no secret ARN"))?;
        env.push(("CTPVX_SECRET_ARN".into(), arn.to_string()));
        Ok(env)
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
