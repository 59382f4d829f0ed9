//! Subcommands of `ctpvx`.

mod audit;
mod bench;
mod bench_shipments;
mod bench_stock;
mod demo;
mod map_order;
mod serve;
mod setup;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ctpvx: commercetools ↔ Peoplevox sync, run locally.
#[derive(Debug, Parser)]
#[command(name = "ctpvx", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run orders and stock against both simulators on loopback and print a summary.
    Demo(demo::Args),
    /// Print the Peoplevox CSV that an order JSON or an OrderCreated message maps to.
    MapOrder(map_order::Args),
    /// Run the webhook server and workers against real endpoints, on the embedded store.
    Serve(serve::Args),
    /// Measure export throughput, requests per 1,000 orders / stock events, CPU per event.
    Bench(bench::Args),
    /// Read the audit log of a store file: an order's history, stock movements per SKU or site.
    Audit(audit::Args),
    /// Create the channels and custom Types the configuration needs in commercetools.
    Setup(setup::Args),
}

/// Runs a subcommand; the exit code is what scripts may trust.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::MapOrder(args) => map_order::run(args),
        Command::Serve(args) => serve::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Setup(args) => setup::run(args).await,
    }
}

/// Log lines to stderr (JSON when asked), filtered by RUST_LOG (default: warnings).
pub fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
