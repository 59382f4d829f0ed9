//! `ctpvx console (--store FILE | --aws) [--listen 127.0.0.1:8090] [--read-only]`: the
//! operator console in a browser. The pages are `ctpvx_infra::console`; this opens the stores
//! and the listener.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ctpvx_infra::console::{self, Console};
use ctpvx_shared::peoplevox::RequestBudget;

use crate::cli::backend::BackendArgs;
use crate::cli::hints::ConfigArg;
use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    backend: BackendArgs,
    /// Where to listen. Loopback by default: the console acts on the deployment with your
    /// credentials, so it must not be reachable from elsewhere unless you mean it.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Pages only: retry and redrive are off.
    #[arg(long)]
    read_only: bool,
    /// The configuration (optional): its sites for the stock page, its Peoplevox budget for the
    /// overview, its project for links to the Merchant Center.
    #[command(flatten)]
    config: ConfigArg,
    /// The Merchant Center's order page, `{id}` standing for the order id (default: derived
    /// from the configuration's commercetools API URL).
    #[arg(long, value_name = "URL")]
    merchant_center: Option<String>,
}

/// Serves until Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    let backend = args.backend.open(false).await?;
    let config = args.config.load_if_given()?;
    let budget = match &config {
        Some(c) => Some(RequestBudget::new(
            backend.stores.state.clone(),
            &c.peoplevox.client_id,
            c.peoplevox.budget_requests,
            Duration::from_millis(c.peoplevox.budget_window_ms),
            Duration::from_millis(c.peoplevox.timeout_ms),
        )?),
        None => None,
    };
    let merchant_center = args.merchant_center.clone().or_else(|| {
        config.as_ref().and_then(|c| {
            console::merchant_center_order_url(
                &c.commercetools.api_url,
                &c.commercetools.project_key,
            )
        })
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: the console listens on {} and is reachable from other machines; anyone who reaches it sees orders and stock{}",
            args.listen,
            if args.read_only {
                ""
            } else {
                " and can retry and redrive (start it with --read-only, or on 127.0.0.1)"
            }
        );
    }
    println!(
        "ctpvx console on {url}/ ({}{}); Ctrl-C stops it",
        backend.label,
        if args.read_only { ", read-only" } else { "" }
    );
    let console = Console {
        stores: backend.stores,
        queue: Arc::clone(&backend.queue),
        label: backend.label,
        read_only: args.read_only,
        sites: config
            .as_ref()
            .map(|c| c.stock.sites.keys().cloned().collect())
            .unwrap_or_default(),
        budget,
        merchant_center,
        csrf: console::csrf_token(),
    };
    console::serve(console, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
