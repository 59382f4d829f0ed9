//! `ctpvx reconcile`: the nightly reconciliation on demand, in this process, against the
//! configured endpoints and the store file (or the deployment's tables and queues with
//! `--aws`): see what it would change (`--dry-run`), watch it go, read the drift report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ctpvx_shared::app;
use ctpvx_shared::commercetools::CtClient;

use ctpvx_shared::flows::nightly_reconcile::RunOptions;

use super::backend::BackendArgs;
use super::hints::ConfigArg;
use super::init_logs;
use super::reconcile_report::{self, Format};
use super::reconcile_watch::Watch;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Only this site's stock (repeat for several); default: every [stock.sites] site.
    #[arg(long = "site")]
    sites: Vec<String>,
    /// Compare and report; change nothing in commercetools and queue nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write every difference to this file: `.csv` or `.md`.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the drift report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The run id: an unfinished run of this id is resumed at its checkpoint, a finished
    /// one reported again. Default: a new run.
    #[arg(long)]
    run: Option<String>,
    /// Skip stock.
    #[arg(long)]
    no_stock: bool,
    /// Skip the sweep of orders that never reached Peoplevox.
    #[arg(long)]
    no_orders: bool,
    /// Skip the sweep of despatches without a delivery (and the re-read of late tracking).
    #[arg(long)]
    no_despatches: bool,
    /// Skip the sweep of order statuses and cancellations that never arrived.
    #[arg(long)]
    no_statuses: bool,
    /// Exit 3 when any stock entry differed (with --dry-run: a drift check for monitoring).
    #[arg(long)]
    fail_on_drift: bool,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Runs to the end. Exit 0: finished without failures; 1: failures (named in the report);
/// 3: `--fail-on-drift` and drift was found; 2: bad arguments or configuration.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    let format = args.report.as_deref().map(Format::of).transpose()?;
    let config = args.config.load()?;
    let backend = args.backend.open(true).await?;
    let secrets = backend.api_secrets().await?;
    let ct = Arc::new(CtClient::new(app::ct_settings(&config, &secrets))?);
    let flow = app::nightly_reconcile(
        &config,
        &secrets,
        &backend.stores,
        ct,
        backend.queue.clone(),
    )
    .await?;
    let options = RunOptions {
        id: args.run.clone(),
        dry_run: args.dry_run,
        sites: (!args.sites.is_empty()).then(|| args.sites.clone()),
        skip_stock: args.no_stock,
        skip_orders: args.no_orders,
        skip_despatches: args.no_despatches,
        skip_statuses: args.no_statuses,
    };
    let watch = Watch::new(std::io::stderr().is_terminal());
    let result = flow.run_to_end(&options, &watch).await;
    watch.finish();
    let report = result.context("reconcile stopped (its checkpoint is kept: --run resumes it)")?;
    let collected = watch.into_collected();
    if let (Some(path), Some(format)) = (&args.report, format) {
        let text = reconcile_report::render(&report, &collected, format)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", reconcile_report::table(&report));
    }
    Ok(if report.failed() > 0 {
        ExitCode::FAILURE
    } else if args.fail_on_drift && report.drift_before() > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
