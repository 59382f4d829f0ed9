//! `ctpvx map-order FILE`: the CSV an order would become, without calling anything: the
//! Peoplevox number chosen, the audit notes (custom lines left out, values cut, a derived
//! number), then the two tables; or the reason the order would be held.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ctpvx_shared::commercetools::message::{self, Parsed};
use ctpvx_shared::config::Config;

use crate::cli::hints::ConfigArg;
use ctpvx_shared::mapping::{SalesOrderLayout, map_order};

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An Order JSON, or an OrderCreated / OrderImported Message (Platform or CloudEvents).
    file: PathBuf,
    /// Without --config or CTPVX_CONFIG: infra/config/ctpvx.example.toml, built in.
    #[command(flatten)]
    config: ConfigArg,
}

const EXAMPLE_CONFIG: &str = include_str!("../../config/ctpvx.example.toml");

/// Prints the two CSV tables, or fails naming the problem.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match args.config.load_if_given()? {
        Some(config) => config,
        None => Config::from_toml(EXAMPLE_CONFIG)?,
    };
    let body =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let event = match message::parse(&body)? {
        Parsed::OrderCreated(event) => event,
        Parsed::Ignored(kind) => bail!(
            "{}: a `{kind}` notification, not an order",
            args.file.display()
        ),
        Parsed::OrderStateChanged(_) => bail!(
            "{}: an OrderStateChanged message, not an order",
            args.file.display()
        ),
    };
    if event.is_import() && !config.orders.export_imported {
        bail!(
            "{}: an OrderImported message, and orders.export_imported is false: the worker \
             acknowledges it and leaves order {} alone",
            args.file.display(),
            event.order_id
        );
    }
    let Some(order) = event.order else {
        bail!(
            "the message carries no order (payloadNotIncluded, or an empty order); the worker \
             would fetch order {}",
            event.order_id
        );
    };
    let mut parts = map_order(&order, &config.orders)
        .map_err(|reason| anyhow::anyhow!("order would be held: {reason}"))?;
    let custom: Vec<String> = config.orders.custom_fields.values().cloned().collect();
    let layout =
        SalesOrderLayout::standard(&config.peoplevox, &custom).map_err(anyhow::Error::msg)?;
    if let Some(kind) = &event.message_type {
        println!("# {kind} message");
    }
    if parts.len() > 1 {
        println!(
            "# {} Peoplevox sales orders: the order ships to {} addresses",
            parts.len(),
            parts.len()
        );
    }
    for sales_order in &mut parts {
        layout.fit(sales_order);
        let tables = layout.tables(std::slice::from_ref(sales_order));
        println!("# Peoplevox number: {}", sales_order.number);
        if let Some(key) = &sales_order.shipping_key {
            println!("# shipping key: {key}");
        }
        for note in &sales_order.notes {
            println!("# note: {note}");
        }
        println!(
            "# {} (site {})",
            config.peoplevox.templates.sales_orders, sales_order.site
        );
        print!("{}", tables.orders.to_csv());
        println!("# {}", config.peoplevox.templates.sales_order_items);
        print!("{}", tables.items.to_csv());
    }
    eprintln!("note: SKUs are not checked against Peoplevox here; the worker does that.");
    Ok(ExitCode::SUCCESS)
}
