//! What a newcomer is told when a command lacks what it needs: the missing thing, and the next
//! step to get it. `--config` and `--store` also take their defaults from the environment that
//! `ctpvx sim` writes (CTPVX_CONFIG, CTPVX_STORE).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use ctpvx_infra::sandbox::SANDBOX_ENV;
use ctpvx_shared::config::{Config, Secrets};

/// Where a configuration file comes from, for those who have none yet.
const GET_A_CONFIG: &str = "To try ctpvx without real endpoints, run `ctpvx sim` and `source` the \
environment file it writes (it sets CTPVX_CONFIG). For a real project, copy \
infra/config/ctpvx.example.toml and fill it in (docs/configuration.md).";

/// Where the secrets come from, for those who have none set.
const GET_SECRETS: &str = "Locally the secrets come from CTPVX_CT_CLIENT_SECRET, \
CTPVX_PVX_PASSWORD, CTPVX_WEBHOOK_TOKEN and CTPVX_PVX_CALLBACK_TOKEN (`ctpvx sim`'s environment \
file sets them for its simulators); with --aws, from the secrets named by CTPVX_API_SECRET_ARN \
and CTPVX_WEBHOOK_SECRET_ARN (the stack's OperatorEnv output).";

/// How to load the deployment's names into the shell, for `--aws`.
pub const GET_AWS_ENV: &str = "--aws works on the deployment's tables and queues, named by the \
stack's OperatorEnv output; load them with\n  export $(aws cloudformation describe-stacks \
--stack-name ctpvx --query \"Stacks[0].Outputs[?OutputKey=='OperatorEnv'].OutputValue\" --output \
text)\n(use your stack's name).";

/// `--config FILE`, defaulting to CTPVX_CONFIG.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// Configuration file (docs/configuration.md; `ctpvx sim` writes one for its simulators).
    #[arg(long, env = "CTPVX_CONFIG")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    /// The file named, or what to do without one.
    pub fn path(&self) -> anyhow::Result<&Path> {
        let path = self.config.as_deref().ok_or_else(|| {
            anyhow!(
                "no configuration file: pass --config FILE or set CTPVX_CONFIG.\n{GET_A_CONFIG}"
            )
        })?;
        if !path.exists() {
            return Err(anyhow!(
                "no configuration file at {}.\n{GET_A_CONFIG}",
                path.display()
            ));
        }
        Ok(path)
    }

    /// The file named, if any (for commands that do without).
    pub fn given(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    /// The configuration, read and validated, if a file is named.
    pub fn load_if_given(&self) -> anyhow::Result<Option<Config>> {
        self.given().map(|_| self.load()).transpose()
    }

    /// The configuration, read and validated.
    pub fn load(&self) -> anyhow::Result<Config> {
        let path = self.path()?;
        Config::from_file(path).with_context(|| format!("in {}", path.display()))
    }
}

/// Refuses to touch a deployment from a shell that holds the sandbox's environment: its
/// configuration (CTPVX_CONFIG) and secrets would go with the command.
pub fn refuse_sandbox_shell() -> anyhow::Result<()> {
    if std::env::var_os(SANDBOX_ENV).is_some() {
        return Err(anyhow!(
            "this shell holds `ctpvx sim`'s environment ({SANDBOX_ENV} is set; its CTPVX_CONFIG and secrets are the sandbox's): use a new shell for a deployment"
        ));
    }
    Ok(())
}

/// A secrets error with where the secrets come from.
pub fn secrets_hint(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}.\n{GET_SECRETS}")
}

/// The four secrets from the environment, or where they come from.
pub fn secrets_from_env() -> anyhow::Result<Secrets> {
    Secrets::from_env().map_err(secrets_hint)
}
