//! `ctpvx audit stock --sku X [--site S]` / `--site S`: the stock movements recorded in the
//! audit log; `ctpvx audit order NUMBER`: what happened to an order (export, holds,
//! deliveries, statuses, exceptions, cancellations, returns); `ctpvx audit reconcile [RUN]`:
//! the reconciliation runs, or one run's drift report. Oldest first. From a store file, or
//! with `--aws` from the deployment's audit table.

use std::process::ExitCode;

use anyhow::bail;

use crate::cli::hints::ConfigArg;
use ctpvx_infra::operator::order_story::order_story;
use ctpvx_infra::operator::timestamp;
use ctpvx_shared::flows::nightly_reconcile::{RUNS_ENTITY, drift_report};
use ctpvx_shared::flows::stock_delta::{site_entity, sku_entity};
use ctpvx_shared::store::AuditEntry;

use super::backend::BackendArgs;
use super::reconcile_report;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Stock movements of a SKU (at one site, or at every site that has any) or of a site.
    Stock(StockArgs),
    /// What happened to an order: export, holds, deliveries, statuses, short picks,
    /// backorders, cancellations, returns (by order number or id).
    Order(OrderArgs),
    /// The reconciliation runs (their summaries), or one run's drift report.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, clap::Args)]
struct ReconcileArgs {
    /// The run id; without it, every finished run is listed.
    run: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
    /// The report (or each run) as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct OrderArgs {
    /// The order number (as in commercetools and Peoplevox) or the commercetools order id.
    order: String,
    #[command(flatten)]
    backend: BackendArgs,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct StockArgs {
    /// commercetools SKU.
    #[arg(long)]
    sku: Option<String>,
    /// Peoplevox site reference (with --sku: only that site; alone: every movement there).
    #[arg(long)]
    site: Option<String>,
    /// Sites to look at when --site is not given (default: the `[stock.sites]` of the
    /// configuration, --config or CTPVX_CONFIG).
    #[arg(long, value_delimiter = ',')]
    sites: Vec<String>,
    /// Whose `[stock.sites]` a --sku without --site or --sites looks at.
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    backend: BackendArgs,
    /// Most entries per SKU and site.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

/// The sites a SKU's movements are looked for at: those named, else the configured ones.
fn sites(args: &StockArgs) -> anyhow::Result<Vec<String>> {
    if !args.sites.is_empty() {
        return Ok(args.sites.clone());
    }
    if args.config.given().is_none() {
        bail!(
            "which sites? give --site S, --sites A,B, or --config FILE (or CTPVX_CONFIG) to look at every site of its [stock.sites]"
        );
    }
    Ok(args.config.load()?.stock.sites.keys().cloned().collect())
}

/// Prints the entries; exit 0 when any were found, 1 when none.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let args = match args.what {
        What::Stock(args) => args,
        What::Order(args) => return order(args).await,
        What::Reconcile(args) => return reconcile(args).await,
    };
    let backend = args.backend.open(false).await?;
    let store = backend.stores.audit.as_ref();
    let entities: Vec<String> = match (&args.sku, &args.site) {
        (Some(sku), Some(site)) => vec![sku_entity(sku, site)],
        (Some(sku), None) => sites(&args)?.iter().map(|s| sku_entity(sku, s)).collect(),
        (None, Some(site)) => vec![site_entity(site)],
        (None, None) => bail!("give --sku, --site or both"),
    };
    let mut entries: Vec<AuditEntry> = Vec::new();
    for entity in &entities {
        entries.extend(store.list(entity, args.limit).await?);
    }
    entries.sort_by_key(|e| e.at_ms);
    for e in &entries {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!("{}", line(e));
        }
    }
    Ok(if entries.is_empty() {
        eprintln!("no stock movements recorded for {}", entities.join(", "));
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `2026-11-26T10:00:00.123Z  UK-DC  SKU-1  written  12 -> 9 (-3)  available 14, pending 0, buffer 2`.
fn line(e: &AuditEntry) -> String {
    let d = &e.detail;
    let at = timestamp(e.at_ms);
    let text = |k: &str| d[k].as_str().unwrap_or("-").to_string();
    let num = |k: &str| d[k].as_i64().map_or("-".to_string(), |n| n.to_string());
    let mut out = format!(
        "{at}  {:<12} {:<16} {:<9} {} -> {} ({})  available {}, pending {}, buffer {}",
        text("site"),
        text("sku"),
        e.outcome,
        num("old"),
        num("new"),
        num("delta"),
        num("available"),
        num("pending"),
        num("buffer"),
    );
    if let Some(reason) = &e.reason {
        out.push_str(&format!("  [{reason}]"));
    }
    out
}

/// The audit entries of one order (the newest 1,000), oldest first.
async fn order(args: OrderArgs) -> anyhow::Result<ExitCode> {
    let backend = args.backend.open(false).await?;
    let (_, entries) = order_story(&backend.stores, &args.order).await?;
    for e in &entries {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            let at = timestamp(e.at_ms);
            let reason = e
                .reason
                .as_deref()
                .map(|r| format!("  [{r}]"))
                .unwrap_or_default();
            println!(
                "{at}  {:<20} {:<10} {}{reason}",
                e.flow, e.outcome, e.detail
            );
        }
    }
    Ok(if entries.is_empty() {
        eprintln!("nothing recorded for order {}", args.order);
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The runs, or one run's drift report.
async fn reconcile(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let backend = args.backend.open(false).await?;
    let audit = backend.stores.audit.as_ref();
    let Some(run) = &args.run else {
        let runs = audit.list(RUNS_ENTITY, 1000).await?;
        for e in &runs {
            if args.json {
                println!("{}", serde_json::to_string(&e.detail)?);
            } else {
                let summary = e.detail["summary"].as_str().unwrap_or("");
                println!("{}  {summary}", timestamp(e.at_ms));
            }
        }
        if runs.is_empty() {
            eprintln!("no reconciliation run has finished");
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(report) = drift_report(audit, run).await? else {
        eprintln!("no drift report for run {run} (unfinished runs have none yet)");
        return Ok(ExitCode::from(1));
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", reconcile_report::table(&report));
        for (site, drift) in &report.stock {
            for d in &drift.largest {
                let x = &d.difference;
                println!(
                    "  {site:<12} {:<16} {} -> {} ({:+})  {}",
                    x.sku, x.current, x.target, d.delta, d.resolution
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
