//! `ctpvx config push|show`: the deployment's configuration, kept as a versioned S3 object
//! (`ctpvx_shared::aws::config_store`) that every function reads and looks at again every
//! `CTPVX_CONFIG_REFRESH_S` seconds.
//!
//! `push` validates the file exactly as the functions do and uploads it only if it validates,
//! so nothing invalid goes live; it prints the new version and when the functions take it.
//! `show` prints the version in force (and, with `--text`, its text).
//!
//! Exit codes: 0 done; 1 the file (or, for `show`, the version in force) does not validate, or
//! the store failed; 2 a usage error.

use std::process::ExitCode;

use anyhow::Context;
use ctpvx_shared::aws::config_store::{self, ConfigObject, ConfigStoreError};
use ctpvx_shared::lambda_init::{DEFAULT_CONFIG_KEY, DEFAULT_CONFIG_REFRESH_S};

use crate::cli::hints::refuse_sandbox_shell;
use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Validate a configuration file and, if it validates, make it the deployment's new
    /// version. The functions take it within CTPVX_CONFIG_REFRESH_S seconds (60 by default)
    /// of their next invocation, with no redeploy.
    Push(PushArgs),
    /// Print the version in force, and with --text the configuration itself.
    Show(ShowArgs),
}

/// The configuration object: the stack's bucket and key.
#[derive(Debug, Clone, clap::Args)]
struct ObjectArgs {
    /// The stack's configuration bucket (its output ConfigBucketName).
    #[arg(long, env = "CTPVX_CONFIG_BUCKET")]
    bucket: Option<String>,
    /// The object's key (the stack's ConfigKey parameter).
    #[arg(long, env = "CTPVX_CONFIG_KEY", default_value = DEFAULT_CONFIG_KEY)]
    key: String,
}

#[derive(Debug, clap::Args)]
struct PushArgs {
    /// The configuration file (docs/configuration.md). Never taken from the environment: a
    /// sandbox's CTPVX_CONFIG must not reach a deployment.
    #[arg(long)]
    config: std::path::PathBuf,
    #[command(flatten)]
    object: ObjectArgs,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// Print the configuration's text too.
    #[arg(long)]
    text: bool,
    #[command(flatten)]
    object: ObjectArgs,
}

/// Runs `config push` or `config show`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("error");
    match args.what {
        What::Push(push) => run_push(push).await,
        What::Show(show) => run_show(show).await,
    }
}

impl ObjectArgs {
    fn object(&self) -> Option<ConfigObject> {
        Some(ConfigObject {
            bucket: self.bucket.clone()?,
            key: self.key.clone(),
        })
    }
}

const NO_BUCKET: &str = "no configuration bucket: pass --bucket, or export CTPVX_CONFIG_BUCKET \
     with the stack's output ConfigBucketName (aws cloudformation describe-stacks --stack-name \
     STACK --query \"Stacks[0].Outputs[?OutputKey=='ConfigBucketName'].OutputValue\" --output text)";

async fn s3() -> ctpvx_shared::aws::aws_sdk_s3::Client {
    let sdk = ctpvx_shared::aws::aws_config::load_defaults(
        ctpvx_shared::aws::aws_config::BehaviorVersion::latest(),
    )
    .await;
    config_store::client(&sdk)
}

async fn run_push(args: PushArgs) -> anyhow::Result<ExitCode> {
    refuse_sandbox_shell()?;
    let path = &args.config;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let Some(object) = args.object.object() else {
        eprintln!("{NO_BUCKET}");
        return Ok(ExitCode::from(2));
    };
    match config_store::push(&s3().await, &object, &text).await {
        Ok(pushed) => {
            println!(
                "{} is valid; pushed to {object} as version {}.",
                path.display(),
                pushed.version
            );
            println!(
                "Each function takes it at its first invocation after CTPVX_CONFIG_REFRESH_S ({DEFAULT_CONFIG_REFRESH_S} s by default), rebuilding its flow and API clients, and logs \"new configuration version taken\". Check a new version against the live endpoints first with `ctpvx check-config --config FILE`."
            );
            if !pushed.versioned {
                println!(
                    "Warning: bucket {} keeps no versions. Enable versioning (the stack's ConfigBucket has it): without it, functions cannot fall back to the last valid version.",
                    object.bucket
                );
            }
            if pushed.previous.as_deref() == Some(text.as_str()) {
                println!("(The same text as the version before.)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ ConfigStoreError::Invalid { .. }) => {
            eprintln!("{e}\nNothing was pushed; the version in force stays.");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn run_show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let Some(object) = args.object.object() else {
        eprintln!("{NO_BUCKET}");
        return Ok(ExitCode::from(2));
    };
    match config_store::read(&s3().await, &object, None).await {
        Ok((text, version)) => {
            println!("{object}: version {version}, {} bytes", text.len());
            if args.text {
                println!("{text}");
            }
            if let Err(e) = ctpvx_shared::config::Config::from_toml(&text) {
                println!(
                    "This version is NOT valid ({e}); the functions run the newest valid one before it."
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
