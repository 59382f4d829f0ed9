//! `ctpvx stack`: the six function binaries as AWS runs them, on this machine — wired as
//! template.yaml declares them (SQS event source mappings, the HTTP API, the schedules), on
//! moto, against the commercetools and Peoplevox simulators — until Ctrl-C. Schedules fire on
//! demand: type `fire FunctionId.EventName` (or `fire` for the list) on stdin.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ctpvx_infra::stack::parameters::Given;
use ctpvx_infra::stack::{Stack, StackOptions};
use ctpvx_infra::testbed::{DEMO_WEBHOOK_TOKEN, Testbed};

use crate::cli::init_logs;
use crate::cli::stack_setup::StackSetup;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The moto server, e.g. http://127.0.0.1:5000 [default: start one].
    #[arg(long, value_name = "ENDPOINT")]
    aws: Option<String>,
    /// Where the HTTP API listens.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Divide the template's Timeouts, visibility timeouts, batching windows and rates by this.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    time_scale: u32,
    /// Do not fire `rate(…)` schedules on their own.
    #[arg(long)]
    no_rates: bool,
    #[command(flatten)]
    setup: StackSetup,
}

/// Runs the stack until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    // The endpoint is checked (and moto started) before the build, which takes minutes.
    let (endpoint, _moto) = args.setup.moto(args.aws.as_deref()).await?;
    let bin_dir = args.setup.binaries().await?;
    let bed = Testbed::start(Default::default()).await?;
    let log_dir = args.setup.log_dir();
    let stack = Stack::start(StackOptions {
        template: args.setup.template(),
        bin_dir,
        aws_endpoint: endpoint.clone(),
        given: Given {
            config_text: bed.config_text.clone(),
            secrets: bed.secret_map(),
            parameters: Default::default(),
        },
        time_scale: args.time_scale,
        min_timeout: Duration::from_secs(2),
        listen: args.listen,
        log_dir: Some(log_dir.clone()),
        run_rates: !args.no_rates,
        max_instances: 4,
        stalls: None,
    })
    .await?;
    let (stores, _) = ctpvx_infra::stack::stores::of(&stack, &endpoint).await?;
    let (_, pvx) = ctpvx_shared::app::clients(&bed.config, &bed.secrets, stores.state.clone())?;
    bed.subscribe(&pvx, stores.state.as_ref(), &stack.url)
        .await?;
    print_banner(&stack, &bed, &endpoint, &log_dir);
    let mut lines = stdin_lines();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            line = lines.recv() => match line {
                Some(line) => command(&stack, line.trim()).await,
                // stdin closed: keep serving until Ctrl-C.
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                    break;
                }
            },
        }
    }
    eprintln!("stopping …");
    println!("{}", serde_json::to_string_pretty(&stack.figures())?);
    stack.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// The lines typed on stdin, read on a thread of their own (a blocking read).
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `fire Function.Event`: fires that schedule now.
async fn command(stack: &Stack, line: &str) {
    let Some(rest) = line.strip_prefix("fire") else {
        if !line.is_empty() {
            eprintln!("commands: fire FunctionId.EventName");
        }
        return;
    };
    let wanted = rest.trim();
    let Some(schedule) = stack
        .schedules
        .iter()
        .find(|s| format!("{}.{}", s.function, s.event) == wanted)
    else {
        for s in &stack.schedules {
            eprintln!("  fire {}.{}   ({})", s.function, s.event, s.expression);
        }
        return;
    };
    match stack.trigger(schedule).await {
        Ok(outcome) => eprintln!("{wanted}: {outcome:?}"),
        Err(e) => eprintln!("{wanted}: {e:#}"),
    }
}

fn print_banner(stack: &Stack, bed: &Testbed, endpoint: &str, log_dir: &std::path::Path) {
    println!(
        "ctpvx stack {} — template.yaml's functions on moto at {endpoint}",
        stack.name
    );
    println!("  HTTP API            {}", stack.url);
    for f in &stack.functions {
        for e in &f.events {
            if let ctpvx_infra::stack::functions::EventSource::HttpApi { method, path } = &e.source
            {
                println!("    {method:<5} {}{path}  → {}", stack.url, f.binary);
            }
        }
    }
    println!(
        "  commercetools       {} (auth {})",
        bed.ct.api_url(),
        bed.ct.auth_url()
    );
    println!("  Peoplevox           {}", bed.pvx.endpoint());
    println!("  webhook token       {DEMO_WEBHOOK_TOKEN}");
    println!("  schedules (type `fire FunctionId.EventName` to fire one now):");
    for s in &stack.schedules {
        println!("    {}.{}  {}", s.function, s.event, s.expression);
    }
    println!("  function logs       {}", log_dir.display());
    let ignored: Vec<&String> = stack.made.not_emulated.keys().collect();
    println!(
        "  not emulated        {} resources (alarms, policies, …)",
        ignored.len()
    );
    println!("Ctrl-C stops it.");
}
