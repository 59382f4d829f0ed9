//! `ctpvx soak`: the whole pipeline under every fault at once, then the invariant checker.
//! Exit 0 when every invariant holds, 3 when one does not.

use std::process::ExitCode;

use anyhow::bail;

use ctpvx_infra::aws_emulator::EmulatorEndpoints;
use ctpvx_infra::sim::peoplevox::Dialect;
use ctpvx_infra::soak::on_stack::StackSource;
use ctpvx_infra::soak::{self, FaultRates, SoakBackend, SoakOptions, SoakOutcome};

use crate::cli::init_logs;
use crate::cli::stack_setup::{StackSetup, is_local};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed of the scenario, the faults and the kills.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Orders the storefront places.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// Warehouse stock movements.
    #[arg(long, default_value_t = 50_000)]
    movements: usize,
    /// Despatches (a fifth of the orders split in two).
    #[arg(long, default_value_t = 5_000)]
    despatches: usize,
    /// Items in the catalogue, each at 3 sites.
    #[arg(long, default_value_t = 400)]
    items: usize,
    /// The Peoplevox budget window (15 requests per 15 s) is divided by this.
    #[arg(long, default_value_t = 30)]
    compress: u32,
    /// Share of Peoplevox callbacks lost (the reconciliation is the net).
    #[arg(long, default_value_t = 0.02)]
    lost_callbacks: f64,
    /// Share of worker batches killed after their side effects.
    #[arg(long, default_value_t = 0.05)]
    kills: f64,
    /// Share of the queue calls settling a batch that stall past the function's timeout, so
    /// that Lambda kills the invocation there [default: 0.005; 0.05 with --stack, whose
    /// batches are fewer and larger, so that a run of the size kills some].
    #[arg(long)]
    stalls: Option<f64>,
    /// Let batches run past their function's Timeout instead of killing them there, as older
    /// soaks did.
    #[arg(long)]
    no_function_timeouts: bool,
    /// Divide template.yaml's function Timeouts by this [default: --compress, as the budget
    /// window]. On moto, whose calls take 10–50 times DynamoDB's, scale them less (e.g. 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    function_time_scale: Option<u32>,
    /// Run on fresh DynamoDB tables and SQS queues at this emulator endpoint (moto), e.g.
    /// http://127.0.0.1:5000; the soak creates them and never touches a real account.
    #[arg(long, value_name = "ENDPOINT")]
    aws: Option<String>,
    /// Keep the SQS queues on this other emulator endpoint (a second moto server) instead of
    /// at --aws, so that queues and tables each have a Python process, and a core, of their own.
    #[arg(long, value_name = "ENDPOINT", requires = "aws")]
    aws_sqs: Option<String>,
    /// How long any one of the scenario's waits may take before the run gives up [default:
    /// 1800, or 14400 with --aws, where every call is a round trip to a Python emulator].
    #[arg(long, value_name = "SECONDS")]
    settle_limit: Option<u64>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// A progress line on stderr every this many seconds; 0 for none.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    progress: u64,
    /// How the simulated Peoplevox tenant answers where the public evidence is thin.
    #[arg(long, value_name = "NAME", default_value = "strict", value_parser = crate::cli::dialect_names())]
    peoplevox_dialect: String,
    /// Run the shipped function binaries as AWS runs them (`ctpvx stack`: template.yaml's
    /// queues, HTTP API and schedules, on moto at --aws or one started here) instead of this
    /// process's workers; invocations are killed at their function's Timeout (scaled by
    /// --function-time-scale) and a share of their settling SQS calls stall past it.
    #[arg(long, conflicts_with = "aws_sqs")]
    stack: bool,
    #[command(flatten)]
    stack_setup: StackSetup,
}

/// The default-size soak on moto moves about 260,000 messages through one or two Python
/// processes: its longest wait (settling, 1,725-2,152 s measured) is well over the embedded
/// store's 30 minutes.
const AWS_SETTLE_LIMIT_S: u64 = 4 * 3600;

/// The share of settling queue calls that stall, in process and on the stack.
const STALLS: f64 = 0.005;
const STACK_STALLS: f64 = 0.05;

/// Runs the soak and prints the invariants.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("error");
    if args.orders == 0 || args.movements == 0 {
        bail!("--orders and --movements must be at least 1");
    }
    // Kept running until the soak ends, when the stack started it.
    let mut _moto = None;
    let backend = match &args.aws {
        _ if args.stack => {
            let (endpoint, moto) = args.stack_setup.moto(args.aws.as_deref()).await?;
            let bin_dir = args.stack_setup.binaries().await?;
            _moto = moto;
            let log_dir = args.stack_setup.log_dir();
            eprintln!("function logs: {}", log_dir.display());
            SoakBackend::Stack(StackSource {
                aws: endpoint,
                template: args.stack_setup.template(),
                bin_dir,
                log_dir: Some(log_dir),
            })
        }
        Some(endpoint) => {
            let sqs = args.aws_sqs.as_ref().unwrap_or(endpoint);
            for (option, endpoint) in [("--aws", endpoint), ("--aws-sqs", sqs)] {
                if !is_local(endpoint) {
                    bail!(
                        "{option} {endpoint}: the soak creates throwaway tables and queues, so it runs only against a local emulator (http://127.0.0.1:PORT or http://localhost:PORT)"
                    );
                }
            }
            SoakBackend::Aws(EmulatorEndpoints {
                dynamodb: endpoint.clone(),
                sqs: sqs.clone(),
            })
        }
        None => SoakBackend::Embedded,
    };
    let defaults = SoakOptions::default();
    let options = SoakOptions {
        seed: args.seed,
        orders: args.orders,
        movements: args.movements,
        despatches: args.despatches,
        items: args.items.max(1),
        compress: args.compress.max(1),
        faults: FaultRates {
            callbacks_lost: args.lost_callbacks,
            worker_kills: args.kills,
            settle_stalls: args
                .stalls
                .unwrap_or(if args.stack { STACK_STALLS } else { STALLS }),
            ..FaultRates::default()
        },
        settle_limit_s: args
            .settle_limit
            .unwrap_or(if args.aws.is_some() || args.stack {
                AWS_SETTLE_LIMIT_S
            } else {
                defaults.settle_limit_s
            }),
        // Every call is an HTTP round trip to one Python process: batches take longer there,
        // and a batch that outlives its visibility timeout has its messages handed out again
        // (see `worker_batches_late`), each time a receive nearer the redrive count.
        visibility_s: if args.aws.is_some() || args.stack {
            60
        } else {
            defaults.visibility_s
        },
        progress_every_s: args.progress,
        function_timeouts: !args.no_function_timeouts,
        function_time_scale: args.function_time_scale,
        dialect: Dialect::by_name(&args.peoplevox_dialect)
            .map_err(anyhow::Error::msg)?
            .name,
        ..defaults
    };
    let outcome = soak::run(options, backend).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_table(&outcome);
    }
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn print_table(outcome: &SoakOutcome) {
    let o = &outcome.options;
    let f = &outcome.figures;
    println!(
        "ctpvx soak — seed {}, {} ({} orders, {} movements, {} despatches; Peoplevox budget window 15 s / {})",
        o.seed, outcome.backend, o.orders, o.movements, o.despatches, o.compress
    );
    let r = &o.faults;
    println!(
        "  faults: {:.0}% 5xx and {:.0}% timeouts from both APIs, sessions expired every {} Peoplevox requests, a concurrent commercetools writer every {} ms,",
        r.server_errors * 100.0,
        r.timeouts * 100.0,
        r.session_expiry_requests,
        r.concurrent_write_ms
    );
    println!(
        "          callbacks {:.0}% lost, {:.0}% repeated (half of those 3 times), reordered within {} ms; {:.0}% of worker batches killed",
        r.callbacks_lost * 100.0,
        r.callbacks_repeated * 100.0,
        r.reorder_window_ms,
        r.worker_kills * 100.0
    );
    println!(
        "          function timeouts {}; {:.1}% of settling queue calls stalled",
        if o.function_timeouts {
            format!(
                "template.yaml's / {}",
                o.function_time_scale.unwrap_or(o.compress)
            )
        } else {
            "off".to_string()
        },
        r.settle_stalls * 100.0
    );
    println!(
        "  happened: {} orders placed, {} OrderCreated messages, {} movements, {} callbacks ({} repeated, {} lost), {} despatches, {} batches killed, {} acknowledged late, {} session expiries",
        f["orders"]["placed"],
        f["orders"]["order_created_messages_sent"],
        f["stock"]["movements"],
        f["stock"]["callbacks_sent"],
        f["stock"]["callbacks_repeated"],
        f["stock"]["callbacks_lost"],
        f["warehouse"]["despatches"],
        f["faults"]["worker_batches_killed"],
        f["faults"]["worker_batches_late"],
        f["faults"]["peoplevox_sessions_expired"]
    );
    println!(
        "  lambda: {} settling calls stalled, {} invocations killed at their timeout, {} cold starts failed, {} flows stopped at their deadline",
        f["faults"]["settle_stalls"],
        f["faults"]["deadline_kills"],
        f["faults"]["init_failures"],
        f["faults"]["flow_overruns"]
    );
    println!(
        "  net: {} parked messages redriven, {} reconcile updates, {} orders and {} despatches re-queued",
        f["net"]["parked_then_redriven"],
        f["net"]["reconcile_updates"],
        f["net"]["reconcile_orders_requeued"],
        f["net"]["reconcile_despatches_requeued"]
    );
    if let Some(functions) = f["stack"]["functions"].as_object() {
        println!("  binary               invocations  cold starts  timeout kills  errors");
        for (binary, g) in functions {
            println!(
                "  {binary:<20} {:>11}  {:>11}  {:>13}  {:>6}",
                g["invocations"], g["cold_starts"], g["timeout_kills"], g["errors"]
            );
        }
    }
    println!("  invariant                          count");
    for (name, count) in outcome.invariants.rows() {
        let mark = if count == 0 { "ok" } else { "BROKEN" };
        println!("  {name:<34} {count:>6}  {mark}");
    }
    println!(
        "  {} in {:.1} s",
        if outcome.passed() {
            "every invariant holds"
        } else {
            "INVARIANTS BROKEN"
        },
        outcome.elapsed_s
    );
}
