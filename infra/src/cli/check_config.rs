//! `ctpvx check-config --config F [--json] [--store P | --aws]`: validates the configuration,
//! then checks it against the live endpoints ([`ctpvx_shared::config_check`]): one line per
//! check, `ok`, `warn`, `FAIL` (with the fix) or `skip`. Exit 0 when nothing failed (warnings
//! allowed), 1 otherwise. With a store (the file of `ctpvx serve` when it exists, or `--aws`)
//! the Peoplevox requests share the deployment's budget and the recorded subscriptions are
//! compared too. Secrets are checked for presence and never printed.

use std::process::ExitCode;
use std::sync::Arc;

use ctpvx_shared::config::Secrets;
use ctpvx_shared::config_check::{Check, CheckInputs, CheckReport, check_config};
use ctpvx_shared::store::StateStore;

use crate::cli::backend::BackendArgs;
use crate::cli::hints::ConfigArg;
use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Print the report as JSON instead of one line per check.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Prints the checks; exit 0 when none failed.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Retries and refusals are what the checks report; logs would only repeat them.
    init_logs("error");
    // A missing file is a failed check too, so that --json always prints a report.
    let config = match args.config.load() {
        Ok(config) => config,
        Err(e) => {
            let report = CheckReport {
                checks: vec![Check::fail(
                    "configuration",
                    format!("{e:#}"),
                    "fix what is named (docs/configuration.md)",
                )],
                ..CheckReport::default()
            };
            return finish(&report, args.json);
        }
    };
    let (state, secrets, store_problem) = open(&args.backend).await;
    let mut report = check_config(CheckInputs {
        config: &config,
        secrets,
        state,
    })
    .await;
    if let Some(problem) = store_problem {
        report.checks.insert(1, problem);
    }
    finish(&report, args.json)
}

/// The store (when one is given, or the default file exists) and the secrets: from the
/// deployment's secret with `--aws`, else from the environment. A store that cannot be opened
/// is a failed check, not the end of the run.
async fn open(
    backend: &BackendArgs,
) -> (
    Option<Arc<dyn StateStore>>,
    Result<Secrets, String>,
    Option<Check>,
) {
    let from_env = || Secrets::from_env().map_err(|e| e.to_string());
    if !backend.aws && !backend.store.exists() {
        return (None, from_env(), None);
    }
    match backend.open(false).await {
        Ok(opened) => {
            let secrets = opened.secrets().await.map_err(|e| format!("{e:#}"));
            (Some(opened.stores.state.clone()), secrets, None)
        }
        Err(e) => {
            let problem = Check::fail(
                "store",
                format!("{e:#}"),
                "check --store, or the CTPVX_*_TABLE variables with --aws",
            );
            (None, from_env(), Some(problem))
        }
    }
}

fn finish(report: &CheckReport, json: bool) -> anyhow::Result<ExitCode> {
    print!("{}", render(report, json)?);
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Lines and a summary, or JSON with `passed` next to the checks.
fn render(report: &CheckReport, json: bool) -> anyhow::Result<String> {
    if !json {
        return Ok(report.to_string());
    }
    let mut value = serde_json::to_value(report)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("passed".into(), report.passed().into());
    }
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_says_whether_it_passed() {
        let report = CheckReport {
            checks: vec![Check::fail("secrets", "missing", "set them")],
            ..CheckReport::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, true).unwrap()).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["checks"][0]["fix"], "set them");
        assert!(
            render(&report, false)
                .unwrap()
                .starts_with("FAIL secrets: missing — set them\n")
        );
    }
}
