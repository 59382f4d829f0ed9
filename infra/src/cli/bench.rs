//! `ctpvx bench`: the one benchmark report. It measures the sections asked for, prints a table
//! (figure, measured, target, gap) and writes every figure as JSON:
//! - orders: export throughput under the Peoplevox budget and mapping CPU ([`bench_orders`]);
//! - stock: commercetools requests per 1,000 stock events, CPU per event ([`bench_stock`]);
//! - shipments: commercetools requests per despatch ([`bench_shipments`]);
//! - flows: events per second one worker sustains and CPU per event of every function
//!   ([`bench_flows`], [`bench_webhooks`], [`bench_reconcile_cpu`]);
//! - latency: webhook to commercetools write at a steady rate ([`bench_latency`]);
//! - binaries: release sizes and process start to ready ([`bench_binaries`]);
//! - reconcile: 100,000 items × 3 sites under the real budget ([`bench_reconcile`]; minutes,
//!   so only with `--with-reconcile` or `--only reconcile`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::{
    bench_binaries, bench_flows, bench_latency, bench_orders, bench_reconcile, bench_reconcile_cpu,
    bench_report, bench_rows, bench_shipments, bench_stock, bench_webhooks, init_logs,
};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which figures to measure.
    #[arg(long, value_enum, default_value_t = Only::All)]
    only: Only,
    /// Add the reconcile run (minutes at the real budget) to `all`.
    #[arg(long)]
    with_reconcile: bool,
    /// Where the JSON goes (`-`: stdout, the table then goes to stderr).
    #[arg(long, default_value = "bench.json")]
    json: PathBuf,
    /// Orders exported in the throughput run: 24 batches of 500 by default, so that the
    /// Peoplevox budget (15 requests at once, then 1 a second) binds for most of the run.
    #[arg(long, default_value_t = 12_000)]
    orders: usize,
    /// Clock compression of the budget window (1 = real time; figures are scaled back).
    #[arg(long, default_value_t = 1)]
    compress: u32,
    /// Orders mapped in the CPU run.
    #[arg(long, default_value_t = 20_000)]
    map_orders: usize,
    /// Stock events in each stock run.
    #[arg(long, default_value_t = 10_000)]
    stock_events: usize,
    /// Events per flow in the per-flow CPU runs (requests per kind for webhooks).
    #[arg(long, default_value_t = 2000)]
    flow_events: usize,
    /// Items per site in the reconcile CPU run (3 sites).
    #[arg(long, default_value_t = 10_000)]
    flow_reconcile_items: usize,
    /// Webhooks per second in the latency run.
    #[arg(long, default_value_t = 200)]
    latency_rate: u32,
    /// Seconds of sending in the latency run.
    #[arg(long, default_value_t = 30)]
    latency_secs: u64,
    /// Every N-th webhook of the latency run is a despatch callback (0: stock only).
    #[arg(long, default_value_t = 10)]
    latency_despatch_every: u32,
    /// The workers' pause between polls of an empty queue in the latency run, in ms.
    #[arg(long, default_value_t = 5)]
    latency_poll_ms: u64,
    /// The Peoplevox budget of the latency run (the despatch reads wait on it): the real one,
    /// lifted (to see the pipeline's own latency), or one run of each.
    #[arg(long, value_enum, default_value_t = LatencyBudget::Both)]
    latency_budget: LatencyBudget,
    /// Measure the release binaries as they are (no `cargo build --release` first).
    #[arg(long)]
    no_build: bool,
    /// Starts of each binary for its start-to-ready median.
    #[arg(long, default_value_t = 5)]
    ready_runs: usize,
    /// Items per site in the reconcile run (3 sites).
    #[arg(long, default_value_t = 100_000)]
    reconcile_items: usize,
    /// Every N-th commercetools entry is off its target before the reconcile run.
    #[arg(long, default_value_t = 10)]
    reconcile_drift_every: usize,
    /// Latency added to every simulator answer in the reconcile run, in ms.
    #[arg(long, default_value_t = 20)]
    reconcile_latency_ms: u64,
}

/// A subset of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    /// Everything but reconcile (add it with --with-reconcile).
    All,
    /// Order export and mapping.
    Orders,
    /// Stock sync.
    Stock,
    /// Shipment confirmations.
    Shipments,
    /// Events per second and CPU per event of every function.
    Flows,
    /// End-to-end latency at a steady rate.
    Latency,
    /// Release binary sizes and start-to-ready.
    Binaries,
    /// The nightly reconciliation at 100,000 items × 3 sites.
    Reconcile,
}

/// The Peoplevox budget of the latency run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LatencyBudget {
    /// 15 requests / 15 s (key `latency`).
    Real,
    /// 10,000 requests / 1 s (key `latency_budget_lifted`).
    Lifted,
    /// Both runs.
    Both,
}

impl Args {
    fn wants(&self, section: Only) -> bool {
        self.only == section
            || (self.only == Only::All && (section != Only::Reconcile || self.with_reconcile))
    }
}

/// Measures, prints the table and writes the JSON.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("error");
    let mut figures = serde_json::Map::new();
    figures.insert("machine".into(), bench_report::machine());
    let compress = args.compress.max(1);
    if args.wants(Only::Orders) {
        progress("orders: mapping and export throughput");
        figures.insert(
            "mapping".into(),
            bench_orders::mapping_cpu(args.map_orders)?,
        );
        figures.insert(
            "export".into(),
            bench_orders::export_throughput(args.orders, compress).await?,
        );
    }
    if args.wants(Only::Stock) {
        progress("stock");
        let runs = [(10, 0), (100, 0), (100, 20)];
        figures.insert("stock".into(), stock_runs(&args, &runs).await?);
    } else if args.wants(Only::Flows) {
        // The stock flow's CPU per event comes from its own run.
        progress("stock");
        figures.insert("stock".into(), stock_runs(&args, &[(100, 0)]).await?);
    }
    if args.wants(Only::Shipments) {
        progress("shipments");
        figures.insert("shipments".into(), bench_shipments::run().await?);
    }
    if args.wants(Only::Flows) {
        figures.insert("flows".into(), flows(&args, &figures["stock"]).await?);
    }
    if args.wants(Only::Latency) {
        let budgets = match args.latency_budget {
            LatencyBudget::Real => vec![false],
            LatencyBudget::Lifted => vec![true],
            LatencyBudget::Both => vec![false, true],
        };
        for lift_budget in budgets {
            progress(if lift_budget {
                "latency, Peoplevox budget lifted"
            } else {
                "latency"
            });
            let run = bench_latency::LatencyRun {
                rate: args.latency_rate.max(1),
                duration: Duration::from_secs(args.latency_secs.max(1)),
                despatch_every: args.latency_despatch_every,
                poll: Duration::from_millis(args.latency_poll_ms),
                lift_budget,
            };
            let key = if lift_budget {
                "latency_budget_lifted"
            } else {
                "latency"
            };
            figures.insert(key.into(), bench_latency::run(run).await?);
        }
    }
    if args.wants(Only::Binaries) {
        progress("binaries");
        figures.insert(
            "binaries".into(),
            bench_binaries::run(!args.no_build, args.ready_runs).await?,
        );
    }
    if args.wants(Only::Reconcile) {
        progress("reconcile");
        let run = bench_reconcile::ReconcileRun {
            items: args.reconcile_items,
            drift_every: args.reconcile_drift_every.max(1),
            latency: Duration::from_millis(args.reconcile_latency_ms),
            compress,
        };
        figures.insert("reconcile".into(), bench_reconcile::run(run).await?);
    } else if args.only == Only::All {
        figures.insert(
            "reconcile".into(),
            json!({"skipped": "not part of all (minutes at the real budget): --with-reconcile"}),
        );
    }
    let mut figures = Value::Object(figures);
    let rows = bench_rows::rows(&figures);
    figures["summary"] = rows.iter().map(|r| r.to_json()).collect();
    let table = bench_report::render(&rows, &figures["machine"]);
    let json = serde_json::to_string_pretty(&figures)? + "\n";
    if args.json.as_os_str() == "-" {
        eprint!("{table}");
        print!("{json}");
    } else {
        std::fs::write(&args.json, json)
            .with_context(|| format!("writing {}", args.json.display()))?;
        print!("{table}");
        println!("\nJSON: {}", args.json.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// What is being measured now, on stderr (runs take minutes).
fn progress(section: &str) {
    eprintln!("ctpvx bench: {section} …");
}

/// Stock runs of (batch size, added latency in ms).
async fn stock_runs(args: &Args, specs: &[(usize, u64)]) -> anyhow::Result<Value> {
    let mut runs = Vec::new();
    for &(batch, latency_ms) in specs {
        runs.push(
            bench_stock::run(bench_stock::StockRun {
                events: args.stock_events,
                batch,
                latency: Duration::from_millis(latency_ms),
            })
            .await?,
        );
    }
    Ok(runs.into())
}

/// Every function's events per second and CPU per event.
async fn flows(args: &Args, stock: &Value) -> anyhow::Result<Value> {
    let n = args.flow_events.max(1);
    let mut flows = serde_json::Map::new();
    progress("flows: webhooks");
    flows.insert("webhooks".into(), bench_webhooks::run(n).await?);
    progress("flows: order-created");
    flows.insert("order-created".into(), bench_flows::export(n).await?);
    if let Some(stock) = bench_flows::stock_from(stock) {
        flows.insert("stock-delta".into(), stock);
    }
    progress("flows: shipment-confirmed");
    flows.insert(
        "shipment-confirmed".into(),
        bench_flows::shipments(n).await?,
    );
    progress("flows: order-status");
    flows.insert("order-status".into(), bench_flows::statuses(n / 2).await?);
    progress("flows: nightly-reconcile");
    flows.insert(
        "nightly-reconcile".into(),
        bench_reconcile_cpu::run(args.flow_reconcile_items.max(1)).await?,
    );
    Ok(flows.into())
}
