//! `ctpvx sim`: a sandbox to try every command by hand (see the README, "Try it by hand"), and
//! the subcommands that make its warehouse and storefront act.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ctpvx_infra::sandbox::{
    ActionReply, DespatchRequest, OrderRequest, Sandbox, SandboxOptions, StatusRequest,
    StockRequest, free_loopback_addr,
};
use ctpvx_infra::sim::peoplevox::Dialect;

use crate::cli::{dialect_names, init_logs};

/// Arguments.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Start it in one terminal; in another, `source .ctpvx/sim/ctpvx.env` and run \
                  `ctpvx setup`, `ctpvx check-config`, `ctpvx serve`, `ctpvx subscribe`, \
                  `ctpvx reconcile`, `ctpvx audit …`, `ctpvx dlq …` as you would against a real \
                  project; `ctpvx sim order|pick|status|despatch|stock` make things happen."
)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Where the configuration (ctpvx.toml), environment (ctpvx.env) and store files go.
    #[arg(long, default_value = ".ctpvx/sim")]
    dir: PathBuf,
    /// Items Peoplevox knows (SKU-0001 …), each stocked at both sites (UK-DC, EU-DC).
    #[arg(long, default_value_t = 300)]
    items: usize,
    /// Orders already in commercetools that never reached Peoplevox (D0000001 …).
    #[arg(long, default_value_t = 5)]
    orders: usize,
    /// Address of the control API (`ctpvx sim order` and the others call it).
    #[arg(long, default_value = "127.0.0.1:0")]
    control: SocketAddr,
    /// Where `ctpvx serve` should listen (default: a free port, written to the
    /// environment file as CTPVX_LISTEN).
    #[arg(long)]
    serve: Option<SocketAddr>,
    /// Peoplevox requests allowed per 15 s, as a real tenant enforces.
    #[arg(long, default_value_t = 15)]
    budget_requests: u32,
    /// How the simulated Peoplevox tenant answers where the evidence is thin.
    #[arg(long, default_value = "strict", value_parser = dialect_names())]
    peoplevox_dialect: String,
}

/// What the sandbox's warehouse or storefront does.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// The storefront places an order; its OrderCreated goes to `ctpvx serve`.
    Order {
        /// One line of this SKU (default: a generated order of 1 to 3 lines).
        #[arg(long)]
        sku: Option<String>,
        /// Units of --sku.
        #[arg(long, default_value_t = 1, requires = "sku")]
        quantity: u32,
        #[command(flatten)]
        control: ControlArg,
    },
    /// The warehouse picks an order (status Picking).
    Pick {
        /// Order number, e.g. D0000006.
        number: String,
        #[command(flatten)]
        control: ControlArg,
    },
    /// The warehouse sets an order's status (e.g. Backorder, Packed).
    Status {
        /// Order number.
        number: String,
        /// The new status.
        status: String,
        #[command(flatten)]
        control: ControlArg,
    },
    /// The warehouse despatches what an order has left, in one tracked parcel.
    Despatch {
        /// Order number.
        number: String,
        /// Tracking number (default TRK + the order number).
        #[arg(long)]
        tracking: Option<String>,
        /// Carrier.
        #[arg(long)]
        carrier: Option<String>,
        #[command(flatten)]
        control: ControlArg,
    },
    /// Stock moves at a site: goods in (positive) or an adjustment (negative).
    Stock {
        /// Site: UK-DC or EU-DC.
        #[arg(long)]
        site: String,
        /// Item code, e.g. SKU-0001.
        #[arg(long)]
        sku: String,
        /// Units added or (negative) taken away.
        #[arg(long, allow_hyphen_values = true)]
        delta: i64,
        #[command(flatten)]
        control: ControlArg,
    },
}

/// Where the running sandbox's control API is.
#[derive(Debug, clap::Args)]
struct ControlArg {
    /// The control API of a running `ctpvx sim` (its environment file sets CTPVX_SIM_URL).
    #[arg(long = "sim-url", env = "CTPVX_SIM_URL")]
    url: Option<String>,
}

/// Starts the sandbox, or sends one action to a running one.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        None => start(args).await,
        Some(action) => act(action).await,
    }
}

async fn start(args: Args) -> anyhow::Result<ExitCode> {
    init_logs("warn");
    if !args.control.ip().is_loopback() {
        eprintln!(
            "warning: the control API on {} takes orders and warehouse actions from anyone who can reach it, without a password",
            args.control
        );
    }
    let serve = match args.serve {
        Some(addr) => addr,
        None => free_loopback_addr()?,
    };
    let sandbox = Sandbox::start(SandboxOptions {
        dir: args.dir,
        items: args.items,
        orders: args.orders,
        serve,
        control: args.control,
        budget_requests: args.budget_requests,
        dialect: Dialect::by_name(&args.peoplevox_dialect).map_err(anyhow::Error::msg)?,
    })
    .await?;
    let bed = &sandbox.bed;
    println!("ctpvx sandbox running (Ctrl-C stops it; nothing outside this machine is called)");
    println!("  commercetools simulator  {}", bed.ct.api_url());
    println!("  Peoplevox simulator      {}", bed.pvx.endpoint());
    println!("  control API              {}", sandbox.control_url);
    println!("  ctpvx serve should take  {}", sandbox.serve_url);
    println!(
        "  seeded                   {} items at UK-DC and EU-DC, {} orders in commercetools not yet in Peoplevox",
        args.items, args.orders
    );
    println!(
        "  configuration            {}",
        sandbox.config_file.display()
    );
    println!(
        "  store                    {}",
        sandbox.store_file.display()
    );
    println!();
    println!("In another terminal:");
    println!("  source {}", sandbox.env_file.display());
    println!("  ctpvx setup && ctpvx check-config");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(ExitCode::SUCCESS)
}

async fn act(action: Action) -> anyhow::Result<ExitCode> {
    let (control, path, body) = match action {
        Action::Order {
            sku,
            quantity,
            control,
        } => (
            control,
            "/orders".to_string(),
            serde_json::to_value(OrderRequest {
                sku,
                quantity: Some(quantity),
            })?,
        ),
        Action::Pick { number, control } => (
            control,
            format!("/warehouse/orders/{number}/pick"),
            serde_json::json!({}),
        ),
        Action::Status {
            number,
            status,
            control,
        } => (
            control,
            format!("/warehouse/orders/{number}/status"),
            serde_json::to_value(StatusRequest { status })?,
        ),
        Action::Despatch {
            number,
            tracking,
            carrier,
            control,
        } => (
            control,
            format!("/warehouse/orders/{number}/despatch"),
            serde_json::to_value(DespatchRequest {
                carrier,
                service: None,
                tracking,
            })?,
        ),
        Action::Stock {
            site,
            sku,
            delta,
            control,
        } => (
            control,
            "/warehouse/stock".to_string(),
            serde_json::to_value(StockRequest { site, sku, delta })?,
        ),
    };
    let Some(base) = control.url else {
        anyhow::bail!(
            "no sandbox to act on: start one with `ctpvx sim` and `source` the environment file it writes (.ctpvx/sim/ctpvx.env sets CTPVX_SIM_URL), or pass --sim-url"
        );
    };
    let response = reqwest::Client::new()
        .post(format!("{}{path}", base.trim_end_matches('/')))
        .json(&body)
        .send()
        .await
        .with_context(|| format!("no sandbox answers at {base}: is `ctpvx sim` still running?"))?;
    let ok = response.status().is_success();
    let reply: ActionReply = response
        .json()
        .await
        .with_context(|| format!("{base} is not a ctpvx sandbox's control API"))?;
    if ok {
        println!("{}", reply.message);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}", reply.message);
        Ok(ExitCode::FAILURE)
    }
}
