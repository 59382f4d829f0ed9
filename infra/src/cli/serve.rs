//! `ctpvx serve --config FILE`: the pipeline (orders and stock) against real endpoints, on the
//! embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctpvx_shared::embedded::EmbeddedStore;

use crate::cli::hints::{ConfigArg, secrets_from_env};
use crate::cli::init_logs;
use ctpvx_infra::local::{LocalStack, StackOptions};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArg,
    /// Store file; it survives restarts.
    #[arg(long, env = "CTPVX_STORE", default_value = ".ctpvx/store.sqlite3")]
    store: PathBuf,
    /// Webhook listen address.
    #[arg(long, env = "CTPVX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Concurrent workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Minutes between sweeps of orders held for unknown items.
    #[arg(long, default_value_t = 15)]
    sweep_minutes: u64,
    /// Hours between reconciliations (stock, lost orders, lost despatches); the first runs
    /// this long after start; 0 turns them off.
    #[arg(long, default_value_t = 24)]
    reconcile_hours: u64,
}

/// Serves until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("info");
    let config = args.config.load()?;
    let secrets = secrets_from_env()?;
    if let Some(dir) = args.store.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = EmbeddedStore::open(&args.store)?;
    let options = StackOptions {
        listen: args.listen,
        workers: args.workers,
        visibility: std::time::Duration::from_secs(120),
        ..StackOptions::default()
    };
    let stack = LocalStack::start(&config, &secrets, store.clone(), options).await?;
    let reconcile = ctpvx_shared::app::nightly_reconcile(
        &config,
        &secrets,
        &ctpvx_shared::app::Stores {
            state: store.clone(),
            idempotency: store.clone(),
            audit: store.clone(),
        },
        stack.ct.clone(),
        store.clone(),
    )
    .await?;
    // Its own task: a run takes minutes (the Peoplevox budget), and must not hold up the
    // sweep or Ctrl-C. A run stopped by Ctrl-C keeps its checkpoint.
    let nightly = (args.reconcile_hours > 0).then(|| {
        let every = std::time::Duration::from_secs(args.reconcile_hours * 3600);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticks.tick().await;
                let options = ctpvx_shared::flows::nightly_reconcile::RunOptions::default();
                let quiet = ctpvx_shared::flows::nightly_reconcile::Quiet;
                match reconcile.run_to_end(&options, &quiet).await {
                    Ok(report) => tracing::info!(summary = %report.summary(), "reconcile finished"),
                    Err(e) => {
                        tracing::warn!(error = %e, "reconcile failed; its checkpoint is kept")
                    }
                }
            }
        })
    });
    eprintln!(
        "ctpvx serving: POST {}{}",
        stack.server.url,
        ctpvx_shared::webhook::ORDERS_PATH
    );
    // The token itself is a secret: it is not printed.
    eprintln!(
        "Peoplevox callbacks: {}{}<CTPVX_PVX_CALLBACK_TOKEN>/availability?site=SITE&item={{ItemCode}}&available={{Available}}",
        stack.server.url,
        ctpvx_shared::webhook::PEOPLEVOX_PREFIX
    );
    let mut sweep = tokio::time::interval(std::time::Duration::from_secs(
        args.sweep_minutes.max(1) * 60,
    ));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = sweep.tick() => match stack.sweep_held().await {
                Ok(report) => tracing::info!(checked = report.checked, requeued = report.requeued, "held-order sweep"),
                Err(e) => tracing::warn!(error = %e, "held-order sweep failed"),
            },

        }
    }
    if let Some(task) = nightly {
        task.abort();
    }
    stack.stop().await;
    Ok(ExitCode::SUCCESS)
}
