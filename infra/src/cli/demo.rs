//! `ctpvx demo`: the main job on one machine — both simulators on loopback, the webhook server
//! and workers on the embedded store, a scenario of orders with duplicates, an unknown SKU, an
//! invalid address and a large payload — then a summary read from the two simulated systems.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::json;

use ctpvx_infra::local::stack::{ORDERS_DLQ, ORDERS_QUEUE};
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{DEMO_WEBHOOK_TOKEN, Testbed, TestbedOptions};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::webhook::ORDERS_PATH;

use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders in the scenario.
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Clock compression of the Peoplevox budget window (1 = the real 15 requests / 15 s).
    #[arg(long, default_value_t = 15)]
    compress: u32,
}

const UNKNOWN_SKU: &str = "NEW-ITEM-1";

/// Runs the scenario and prints the summary; non-zero exit if an invariant is broken.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Retries of duplicates are expected here; only errors would distract from the summary.
    init_logs("error");
    if args.orders < 4 {
        bail!("--orders must be at least 4 (the scenario has 3 special orders)");
    }
    let started = Instant::now();
    let window = Duration::from_millis(15_000 / u64::from(args.compress.max(1)));
    let catalog = scenario::catalog(50);
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: window,
        items: catalog.clone(),
    })
    .await?;

    // The scenario: order 0 has an unknown SKU, order 1 an invalid address, order 2 is large.
    let mut orders = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let mut order = match i {
            0 => scenario::order(i, 2, &[UNKNOWN_SKU.to_string()]),
            2 => scenario::order(i, 900, &catalog),
            _ => scenario::order(i, 1 + i % 4, &catalog),
        };
        if i == 1 {
            order["shippingAddress"]["city"] = serde_json::Value::Null;
        }
        bed.ct.insert_order_json(order.clone())?;
        orders.push(order);
    }

    let store_dir = std::env::temp_dir().join(format!("ctpvx-demo-{}", std::process::id()));
    std::fs::create_dir_all(&store_dir).context("creating the demo store directory")?;
    let store = EmbeddedStore::open(store_dir.join("store.sqlite3"))?;
    let stack = LocalStack::start(
        &bed.config,
        &bed.secrets,
        store.clone(),
        StackOptions::default(),
    )
    .await?;

    // Deliveries: every order once; a quarter again as a CloudEvent; a tenth a third time.
    let mut bodies = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        bodies.push(scenario::platform_message(order, &format!("m-{i}-a")));
        if i % 4 == 0 {
            bodies.push(scenario::cloud_event(order, &format!("m-{i}-b")));
        }
        if i % 10 == 0 {
            bodies.push(scenario::platform_message(order, &format!("m-{i}-c")));
        }
    }
    bodies.push("{\"this is\": \"not an order\"".to_string());
    let url = format!("{}{ORDERS_PATH}", stack.server.url);
    let http = reqwest::Client::new();
    let statuses: Vec<u16> = futures::stream::iter(bodies.clone())
        .map(|body| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(&url)
                    .bearer_auth(DEMO_WEBHOOK_TOKEN)
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let rejected = statuses.iter().filter(|s| **s == 400).count();

    let drained = stack.wait_drained(Duration::from_secs(300)).await;
    // The missing item is created in Peoplevox; the sweep re-queues the order held for it.
    bed.pvx.add_item_type(UNKNOWN_SKU);
    let sweep = stack.sweep_held().await.map_err(anyhow::Error::msg)?;
    let drained = drained && stack.wait_drained(Duration::from_secs(120)).await;
    let dlq = stack.depth(ORDERS_DLQ).await;
    let totals = stack.totals.lock().await.clone();
    let (ct_requests, pvx_requests) = (stack.ct.requests_made(), stack.pvx.requests_made());
    let store_for_links: Arc<EmbeddedStore> = stack.store.clone();
    stack.stop().await;

    // The summary is read from the two simulated systems, not from the workers' counters.
    let channel = &bed.export_channel_id;
    let mut exported = 0;
    let mut held = Vec::new();
    let mut duplicates_in_peoplevox = 0;
    for order in &orders {
        let (id, number) = (
            order["id"].as_str().unwrap_or(""),
            order["orderNumber"].as_str().unwrap_or(""),
        );
        let marked = bed
            .ct
            .order(id)
            .is_some_and(|o| o.sync_info_for(channel).is_some());
        let imports = bed.pvx.header_imports(number);
        if imports > 1 {
            duplicates_in_peoplevox += 1;
        }
        if marked && imports >= 1 {
            exported += 1;
        } else {
            let link =
                ctpvx_shared::flows::order_export::load_link(store_for_links.as_ref(), id).await?;
            let reason = match link {
                Some(ctpvx_shared::flows::order_export::OrderLink::Held { reason, .. }) => {
                    reason.to_string()
                }
                other => format!("{other:?}"),
            };
            held.push(json!({ "order": number, "reason": reason }));
        }
    }
    let elapsed = started.elapsed();
    let summary = json!({
        "orders": {
            "created": orders.len(),
            "exported": exported,
            "duplicates_in_peoplevox": duplicates_in_peoplevox,
            "held": held.len(),
            "held_orders": held,
            "held_then_exported": sweep.requeued,
            "events_sent": bodies.len(),
            "events_accepted": accepted,
            "events_rejected_400": rejected,
            "duplicate_events_skipped": totals.duplicates,
        },
        "peoplevox": {
            "requests": pvx_requests,
            "sales_orders": bed.pvx.sales_orders().len(),
            "budget": "15 requests per 15 s",
            "budget_violations": bed.pvx.budget_violations(),
            "clock": if args.compress > 1 { format!("compressed x{}: window {} ms", args.compress, window.as_millis()) } else { "real".into() },
        },
        "commercetools": { "requests": ct_requests },
        "queues": { "drained": drained, "orders_dlq": dlq.visible, "orders": ORDERS_QUEUE },
        "elapsed_ms": elapsed.as_millis() as u64,
    });
    let _ = std::fs::remove_dir_all(&store_dir);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_table(&summary);
    }
    let ok = drained
        && duplicates_in_peoplevox == 0
        && bed.pvx.budget_violations() == 0
        && exported + held.len() == orders.len();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn print_table(s: &serde_json::Value) {
    let o = &s["orders"];
    let p = &s["peoplevox"];
    println!(
        "ctpvx demo — order export against the simulators ({})",
        p["clock"].as_str().unwrap_or("")
    );
    println!("  orders created                 {}", o["created"]);
    println!("  orders exported                {}", o["exported"]);
    println!(
        "  duplicates in Peoplevox        {}",
        o["duplicates_in_peoplevox"]
    );
    println!("  orders held                    {}", o["held"]);
    for h in o["held_orders"].as_array().into_iter().flatten() {
        println!(
            "    {} — {}",
            h["order"].as_str().unwrap_or(""),
            h["reason"].as_str().unwrap_or("")
        );
    }
    println!(
        "  held, then exported            {}",
        o["held_then_exported"]
    );
    println!(
        "  events sent / accepted / 400   {} / {} / {}",
        o["events_sent"], o["events_accepted"], o["events_rejected_400"]
    );
    println!(
        "  duplicate events skipped       {}",
        o["duplicate_events_skipped"]
    );
    println!(
        "  Peoplevox requests             {} (budget {}, violations {})",
        p["requests"],
        p["budget"].as_str().unwrap_or(""),
        p["budget_violations"]
    );
    println!(
        "  commercetools requests         {}",
        s["commercetools"]["requests"]
    );
    println!(
        "  dead-lettered                  {}",
        s["queues"]["orders_dlq"]
    );
    println!("  elapsed                        {} ms", s["elapsed_ms"]);
}
