//! `ctpvx setup --config FILE [--dry-run] [--json]`: creates the channels and custom Types the
//! configuration needs in the commercetools project, or adds what they lack. Safe to re-run; an
//! operator runs it once per project and after configuration changes.

use std::process::ExitCode;

use anyhow::Context;
use ctpvx_shared::app::ct_settings;
use ctpvx_shared::commercetools::CtClient;
use ctpvx_shared::setup::{SetupReport, apply};

use crate::cli::hints::{ConfigArg, secrets_from_env};
use crate::cli::{init_logs, render_report};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Only read, and report what would be created or added.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of one line per item.
    #[arg(long)]
    json: bool,
}

/// Prints the report. Exit 0 when the project has (or, dry, would have) everything, also when
/// nothing changed; 1 when an item is in conflict; an API error is returned with its reason.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    let config = args.config.load()?;
    let secrets = secrets_from_env()?;
    let ct = CtClient::new(ct_settings(&config, &secrets))?;
    let report = apply(&ct, &config, args.dry_run)
        .await
        .context("setup stopped on a commercetools error")?;
    print!("{}", render_report(&report, args.json)?);
    Ok(exit_code(&report))
}

/// Success unless an item could not be brought to the desired state.
fn exit_code(report: &SetupReport) -> ExitCode {
    let conflicts = report.conflicts().count();
    if conflicts == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("setup: {conflicts} item(s) in conflict; nothing was deleted");
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctpvx_shared::setup::{Outcome, Resource, SetupItem};

    #[test]
    fn json_and_lines_carry_the_same_items_and_conflicts_fail() {
        let mut report = SetupReport {
            dry_run: false,
            items: vec![SetupItem {
                resource: Resource::Type,
                key: "ctpvx-order".into(),
                detail: "order: pvxStatus".into(),
                outcome: Outcome::Unchanged,
            }],
        };
        assert_eq!(
            render_report(&report, false).unwrap(),
            "unchanged type ctpvx-order\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_report(&report, true).unwrap()).unwrap();
        assert_eq!(json["items"][0]["outcome"], "unchanged");
        assert_eq!(exit_code(&report), ExitCode::SUCCESS);
        report.items[0].outcome = Outcome::Conflict("field pvxStatus is Number".into());
        assert_eq!(exit_code(&report), ExitCode::from(1));
    }
}
