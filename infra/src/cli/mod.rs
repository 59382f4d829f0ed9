//! Subcommands of `ctpvx`.

mod audit;
mod backend;
mod bench;
mod bench_binaries;
mod bench_cpu;
mod bench_flows;
mod bench_latency;
mod bench_moto;
mod bench_orders;
mod bench_reconcile;
mod bench_reconcile_cpu;
mod bench_report;
mod bench_rows;
mod bench_shipments;
mod bench_stock;
mod bench_webhooks;
mod check_config;
mod config;
mod console;
mod demo;
mod dlq;
mod hints;
mod map_order;
mod reconcile;
mod reconcile_report;
mod reconcile_watch;
mod serve;
mod setup;
mod sim;
mod soak;
mod stack;
mod stack_setup;
mod subscribe;

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
    /// The operator console in a browser: health, held orders (retry), dead letters (preview
    /// and redrive), an order's story, a SKU's stock trail.
    Console(console::Args),
    /// Dead-letter queues: list what is parked and why, show one message, send them back.
    Dlq(dlq::Args),
    /// Subscribe the Peoplevox events the configuration asks for (ids kept in the store).
    Subscribe(subscribe::Args),
    /// Remove every Peoplevox subscription recorded in the store.
    Unsubscribe(subscribe::UnsubscribeArgs),
    /// Check the configuration against the live commercetools and Peoplevox endpoints.
    CheckConfig(check_config::Args),
    /// The deployment's configuration (a versioned S3 object): validate and push a file, or
    /// show the version in force.
    Config(config::Args),
    /// Bring commercetools back in line with the warehouse now (stock, lost orders and
    /// despatches), or see with --dry-run what that would change.
    Reconcile(reconcile::Args),
    /// A sandbox to try every command by hand: both simulators seeded, a configuration and an
    /// environment file for them; `ctpvx sim order|pick|status|despatch|stock` make them act.
    Sim(sim::Args),
    /// The whole pipeline under every fault at once (5xx, timeouts, expired sessions, 409s,
    /// repeated, reordered and lost callbacks, killed workers), then the invariant checker.
    Soak(soak::Args),
    /// The six function binaries wired as template.yaml declares them (queues, HTTP API,
    /// schedules), on moto, against both simulators, until Ctrl-C.
    Stack(stack::Args),
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
        Command::Console(args) => console::run(args).await,
        Command::Dlq(args) => dlq::run(args).await,
        Command::Subscribe(args) => subscribe::run(args).await,
        Command::Unsubscribe(args) => subscribe::run_unsubscribe(args).await,
        Command::CheckConfig(args) => check_config::run(args).await,
        Command::Config(args) => config::run(args).await,
        Command::Reconcile(args) => reconcile::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Soak(args) => soak::run(args).await,
        Command::Stack(args) => stack::run(args).await,
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

/// An operator report as printed: its lines (`Display`), or pretty JSON.
pub fn render_report<R: serde::Serialize + std::fmt::Display>(
    report: &R,
    json: bool,
) -> anyhow::Result<String> {
    Ok(if json {
        serde_json::to_string_pretty(report)? + "\n"
    } else {
        report.to_string()
    })
}

/// `--peoplevox-dialect`'s values, each with its one-line summary in `--help`.
pub fn dialect_names() -> clap::builder::PossibleValuesParser {
    use ctpvx_infra::sim::peoplevox::DIALECTS;
    clap::builder::PossibleValuesParser::new(
        DIALECTS
            .iter()
            .map(|d| clap::builder::PossibleValue::new(d.name).help(d.summary)),
    )
}
