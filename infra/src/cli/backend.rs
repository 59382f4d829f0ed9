//! Where the operator commands read and write: the embedded store file that `ctpvx serve` (and
//! `ctpvx demo --store`) keeps, or a deployment's DynamoDB tables and SQS queues (`--aws`, named
//! by the same environment variables the Lambdas read; `AWS_ENDPOINT_URL` points the SDK at an
//! emulator). Every command that touches stores or queues takes these flags, so an operator
//! runs the same command locally and against production.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use ctpvx_shared::app::Stores;
use ctpvx_shared::config::{ApiSecrets, Secrets};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::store::Queue;

use ctpvx_infra::local::stack::declare_queues;

use crate::cli::hints::{GET_AWS_ENV, refuse_sandbox_shell, secrets_from_env, secrets_hint};

/// The store flags shared by the operator commands.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Store file written by `ctpvx serve` (ignored with --aws).
    #[arg(long, env = "CTPVX_STORE", default_value = ".ctpvx/store.sqlite3")]
    pub store: PathBuf,
    /// Use the deployment's DynamoDB tables and SQS queues instead of a store file:
    /// CTPVX_STATE_TABLE, CTPVX_IDEMPOTENCY_TABLE, CTPVX_AUDIT_TABLE and the CTPVX_*_QUEUE_URL /
    /// CTPVX_*_DLQ_URL variables, as the functions read them.
    #[arg(long)]
    pub aws: bool,
}

/// The opened stores and queues.
pub struct Backend {
    /// State store, idempotency store and audit log.
    pub stores: Stores,
    /// The queues by logical name.
    pub queue: Arc<dyn Queue>,
    /// What it is, for messages: the store path or `AWS`.
    pub label: String,
    aws_sdk: Option<ctpvx_shared::aws::aws_config::SdkConfig>,
}

impl BackendArgs {
    /// Opens the store file (which must exist unless `create`) or the AWS resources.
    pub async fn open(&self, create: bool) -> anyhow::Result<Backend> {
        if self.aws {
            refuse_sandbox_shell()?;
            // Named before the SDK looks for a region and credentials, which would log first.
            for var in [
                "CTPVX_STATE_TABLE",
                "CTPVX_IDEMPOTENCY_TABLE",
                "CTPVX_AUDIT_TABLE",
            ] {
                if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
                    bail!("environment variable {var} is not set.\n{GET_AWS_ENV}");
                }
            }
            let sdk = ctpvx_shared::aws::aws_config::load_defaults(
                ctpvx_shared::aws::aws_config::BehaviorVersion::latest(),
            )
            .await;
            let (stores, queue) = ctpvx_shared::lambda_init::aws_stores(&sdk)
                .map_err(|e| anyhow::anyhow!("{e}.\n{GET_AWS_ENV}"))?;
            return Ok(Backend {
                stores,
                queue,
                label: "AWS (DynamoDB + SQS)".into(),
                aws_sdk: Some(sdk),
            });
        }
        if !create && !self.store.exists() {
            bail!(
                "no store at {}: `ctpvx serve --store FILE` (or `ctpvx demo --store FILE`) writes one; name it with --store or CTPVX_STORE, or use --aws for a deployment",
                self.store.display()
            );
        }
        if let Some(dir) = self.store.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let store = EmbeddedStore::open(&self.store)
            .with_context(|| format!("opening {}", self.store.display()))?;
        // The queues of a store file exist once declared; declaring again changes nothing.
        declare_queues(&store)?;
        Ok(Backend {
            stores: Stores {
                state: store.clone(),
                idempotency: store.clone(),
                audit: store.clone(),
            },
            queue: store,
            label: self.store.display().to_string(),
            aws_sdk: None,
        })
    }
}

impl Backend {
    /// The secrets: with --aws, from Secrets Manager (`CTPVX_API_SECRET_ARN`,
    /// `CTPVX_WEBHOOK_SECRET_ARN`) where set, else from the environment.
    pub async fn secrets(&self) -> anyhow::Result<Secrets> {
        Ok(match &self.aws_sdk {
            Some(sdk) => ctpvx_shared::lambda_init::load_secrets(sdk).await?,
            None => secrets_from_env()?,
        })
    }

    /// The API credentials alone (what `reconcile` needs): with --aws, from
    /// `CTPVX_API_SECRET_ARN` where set, else from the environment.
    pub async fn api_secrets(&self) -> anyhow::Result<ApiSecrets> {
        Ok(match &self.aws_sdk {
            Some(sdk) => ctpvx_shared::lambda_init::api_secrets(sdk).await?,
            None => ApiSecrets::from_env().map_err(secrets_hint)?,
        })
    }
}
