//! `ctpvx demo`: the main job on one machine — both simulators on loopback, the webhook server
//! and workers on the embedded store. Peoplevox calls back on stock movements (some twice, some
//! late) while a storefront sells what commercetools shows; orders come with duplicates, an
//! unknown SKU, an invalid address and a large payload. The summary is read from the two
//! simulated systems.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::json;

use ctpvx_infra::checks;
use ctpvx_infra::local::stack::{ORDERS_DLQ, SHIPMENTS_DLQ, STATUS_DLQ, STOCK_DLQ};
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::shapes_scenario::{self, Shape};
use ctpvx_infra::sim::peoplevox::Dialect;
use ctpvx_infra::testbed::{DEMO_WEBHOOK_TOKEN, STOCK_SITES, Testbed, TestbedOptions};
use ctpvx_infra::{
    reconcile_scenario, scenario, shipment_scenario, status_scenario, stock_scenario,
};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::webhook::ORDERS_PATH;

use crate::cli::init_logs;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders the storefront tries to place (it sells only what commercetools shows).
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Warehouse movements (goods-in, adjustments, picks) while the orders come in.
    #[arg(long, default_value_t = 3000)]
    movements: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Clock compression of the Peoplevox budget window (1 = the real 15 requests / 15 s).
    #[arg(long, default_value_t = 15)]
    compress: u32,
    /// Seed of the movement stream.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Keep the store file here (for `ctpvx audit`); default: a temporary file, deleted.
    #[arg(long)]
    store: Option<std::path::PathBuf>,
    /// How the simulated Peoplevox tenant answers where the public evidence is thin.
    #[arg(long, value_name = "NAME", default_value = "strict", value_parser = crate::cli::dialect_names())]
    peoplevox_dialect: String,
}

const UNKNOWN_SKU: &str = "NEW-ITEM-1";
/// Units held back per item and site: covers damages and late callbacks.
const SAFETY_BUFFER: u32 = 5;
/// Bulk items for the 900-line order, stocked far beyond what it takes.
const BULK_ITEMS: usize = 100;
/// Index of the first shape order (its ids and numbers stay clear of the storefront's).
const SHAPES_FIRST: usize = 900_000;

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
    let bulk: Vec<String> = (1..=BULK_ITEMS).map(|i| format!("BULK-{i:04}")).collect();
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: window,
        items: catalog.iter().chain(&bulk).cloned().collect(),
        safety_buffer: SAFETY_BUFFER,
        confirm_after_s: 1,
        dialect: Dialect::by_name(&args.peoplevox_dialect).map_err(anyhow::Error::msg)?,
        ..TestbedOptions::default()
    })
    .await?;
    let sites: Vec<String> = STOCK_SITES.iter().map(|(s, _)| s.to_string()).collect();

    let temp_dir = std::env::temp_dir().join(format!("ctpvx-demo-{}", std::process::id()));
    let store_path = args
        .store
        .clone()
        .unwrap_or_else(|| temp_dir.join("store.sqlite3"));
    if let Some(dir) = store_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).context("creating the demo store directory")?;
    }
    if store_path.exists() {
        bail!(
            "{} exists; the demo starts from an empty store",
            store_path.display()
        );
    }
    let store = EmbeddedStore::open(&store_path)?;
    let stack = LocalStack::start(
        &bed.config,
        &bed.secrets,
        store.clone(),
        StackOptions::default(),
    )
    .await?;

    // Peoplevox calls back like it does in production: some callbacks twice, some late.
    // Subscribed as `ctpvx subscribe` does, from the test bed's configuration:
    // AvailabilityChanges everywhere, IncrementalChanges (hints, re-read) at PrimarySite
    // ([subscriptions] incremental_sites), the despatch, status and returns events.
    bed.subscribe(&stack.pvx, stack.stores.state.as_ref(), &stack.server.url)
        .await?;
    bed.pvx.callback_faults().set_seed(args.seed);
    bed.pvx.callback_faults().set_duplicate_rate(0.1);
    bed.pvx
        .callback_faults()
        .set_reorder_window(Duration::from_millis(150));
    let mut rng = fastrand::Rng::with_seed(args.seed);
    stock_scenario::opening_stock(&bed, &sites, &catalog, &mut rng);
    for site in ["UK-DC", "EU-DC"] {
        for item in &bulk {
            bed.pvx.goods_in(site, item, 10_000);
        }
    }
    stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await;

    // Special orders, outside the storefront: an unknown SKU, an invalid address, 900 lines.
    let mut orders = Vec::with_capacity(args.orders);
    for i in 0..3 {
        let mut order = match i {
            0 => scenario::order(i, 2, &[UNKNOWN_SKU.to_string()]),
            2 => scenario::order(i, 900, &bulk),
            _ => scenario::order(i, 2, &catalog),
        };
        if i == 1 {
            order["shippingAddress"]["city"] = serde_json::Value::Null;
        }
        bed.ct.insert_order_json(order.clone())?;
        orders.push(order);
    }
    // Orders shaped as the commercetools API reference documents them (prices, discounts,
    // custom lines, numbers, OrderImported, an empty order, Multiple shipping, a long UK
    // address), each announced once. Their items are the bulk ones, which the storefront does
    // not sell: placed beside it, they must not take the stock it sells from.
    let shapes = shapes_scenario::orders(SHAPES_FIRST, &bulk);
    for shape in &shapes {
        bed.ct.insert_order_json(shape.order.clone())?;
    }
    let http = reqwest::Client::new();
    let url = format!("{}{ORDERS_PATH}", stack.server.url);
    let mut statuses = post_orders(&http, &url, &orders, 0).await;
    statuses.extend(post_bodies(&http, &url, vec!["{\"this is\": \"not an order\"".into()]).await);
    statuses.extend(
        post_bodies(
            &http,
            &url,
            shapes.iter().map(|s| s.message.clone()).collect(),
        )
        .await,
    );

    // The storefront sells while the warehouse moves stock.
    let moving = stock_scenario::move_stock(
        &bed,
        &sites,
        &catalog,
        args.movements,
        Duration::from_secs(4),
        args.seed,
    );
    let selling = async {
        let mut refused = 0;
        let mut statuses = Vec::new();
        let mut placed = Vec::new();
        let mut next = 3;
        while next < args.orders {
            let end = (next + 10).min(args.orders);
            let sales =
                stock_scenario::sell(&bed, next..end, &catalog, Duration::from_millis(200)).await?;
            refused += sales.refused_out_of_stock;
            statuses.extend(post_orders(&http, &url, &sales.placed, next).await);
            placed.extend(sales.placed);
            next = end;
        }
        anyhow::Ok((placed, refused, statuses))
    };
    let (movements, sold) = tokio::join!(moving, selling);
    let (placed, refused_out_of_stock, sold_statuses) = sold?;
    statuses.extend(sold_statuses);
    orders.extend(placed);
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let rejected = statuses.iter().filter(|s| **s == 400).count();

    let mut drained = stock_scenario::settle(&bed, &stack, Duration::from_secs(300)).await;
    // The missing item is created in Peoplevox and the numberless order gets its number; the
    // sweep re-queues the orders held for them.
    bed.pvx.add_item_type(UNKNOWN_SKU);
    bed.pvx.goods_in("UK-DC", UNKNOWN_SKU, 100);
    for shape in shapes.iter().filter(|s| s.shape == Shape::Unnumbered) {
        let id = shape.order["id"].as_str().unwrap_or_default();
        bed.ct.apply_order_actions(
            id,
            vec![json!({"action": "setOrderNumber", "orderNumber": "S-NUMBERED-LATER"})],
        )?;
    }
    let sweep = stack.sweep_held().await.map_err(anyhow::Error::msg)?;
    drained &= stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await;
    // The warehouse works the orders; both sides cancel some (a few deliberately too late).
    let status_work =
        status_scenario::work_orders(&bed, &stack.server.url, Duration::from_millis(500)).await?;
    drained &= stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await;
    // The warehouse despatches what it holds; some tracking numbers come later.
    let despatching =
        shipment_scenario::despatch_all(&bed, args.seed, Duration::from_millis(300)).await;
    drained &= stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await;
    // Orders close; some come back.
    let returns_made = status_scenario::close_and_return(&bed);
    drained &= stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await;
    // Callbacks and orders get lost; the nightly reconciliation puts everything right.
    let reconciled = reconcile_scenario::run(
        &bed,
        &stack,
        &sites,
        &catalog,
        args.movements / 3,
        args.seed,
    )
    .await?;
    let status_check = checks::status::check(&bed);
    let status_shown = status_scenario::shown(&bed, &status_work);
    let status_totals = stack.status_totals.lock().await.clone();
    let status_dlq = stack.depth(STATUS_DLQ).await;
    let shipments = checks::shipments::check(&bed);
    let shape_check = checks::shapes::check(&bed, &shapes);
    let shipment_totals = stack.shipment_totals.lock().await.clone();
    let shipments_dlq = stack.depth(SHIPMENTS_DLQ).await;
    let dlq = stack.depth(ORDERS_DLQ).await;
    let stock_dlq = stack.depth(STOCK_DLQ).await;
    let totals = stack.totals.lock().await.clone();
    let stock = stack.stock_totals.lock().await.clone();
    // As the simulators counted them: every client, the reconciliation's included.
    let (ct_requests, pvx_requests) = (bed.ct.request_count(), bed.pvx.request_count());
    let state_for_links = stack.stores.state.clone();
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
                ctpvx_shared::flows::order_export::load_link(state_for_links.as_ref(), id).await?;
            let reason = match link {
                Some(ctpvx_shared::flows::order_export::OrderLink::Held { reason, .. }) => {
                    reason.to_string()
                }
                other => format!("{other:?}"),
            };
            held.push(json!({ "order": number, "reason": reason }));
        }
    }
    let mismatches = checks::stock::mismatches(&bed);
    let oversells = checks::stock::oversold_units(&bed);
    let elapsed = started.elapsed();
    let summary = json!({
        "orders": {
            "created": orders.len(),
            "refused_out_of_stock": refused_out_of_stock,
            "exported": exported,
            "duplicates_in_peoplevox": duplicates_in_peoplevox,
            "held": held.len(),
            "held_orders": held,
            "held_then_exported": sweep.requeued,
            "events_sent": statuses.len(),
            "events_accepted": accepted,
            "events_rejected_400": rejected,
            "duplicate_events_skipped": totals.duplicates,
        },
        "stock": {
            "sites": sites.len(),
            "movements": movements.total(),
            "movement_kinds": movements,
            "callbacks": bed.pvx.callbacks_sent(),
            "callbacks_duplicated": bed.pvx.callbacks_duplicated(),
            "events": stock.events,
            "writes": stock.writes + stock.created,
            "skipped_unchanged": stock.skipped_unchanged,
            "stale": stock.stale,
            "coalesced": stock.coalesced,
            "rereads": stock.rereads,
            "conflicts": stock.conflicts,
            "mismatches": mismatches.len(),
            "mismatch_examples": mismatches.iter().take(5).collect::<Vec<_>>(),
            "oversells": oversells,
            "safety_buffer": SAFETY_BUFFER,
        },
        "shipments": {
            "despatches": shipments.despatches,
            "orders_split": despatching.split,
            "late_tracking": despatching.late_tracking,
            "deliveries": shipments.deliveries,
            "duplicate_deliveries": shipments.duplicate_deliveries,
            "despatches_without_delivery": shipments.despatches_without_delivery,
            "missing_tracking": shipments.missing_tracking,
            "duplicate_tracking": shipments.duplicate_tracking,
            "events": shipment_totals.events,
            "tracking_set_later": shipment_totals.tracking_set,
        },
        "status": {
            "updates": status_totals.updates,
            "backwards_moves": status_check.backwards_moves.len(),
            "backwards_move_examples": status_check.backwards_moves.iter().take(5).collect::<Vec<_>>(),
            "backwards_ignored": status_totals.backwards_ignored,
            "conflicts": status_totals.conflicts,
            "deliberate_conflict_orders": status_work.cancelled_in_ct_after_pick.len(),
            "conflicts_unrecorded": status_shown.conflicts_unrecorded,
            "cancelled_in_ct_pushed": status_work.cancelled_in_ct_before_pick.len() - status_shown.cancellations_not_pushed,
            "cancellations_not_pushed": status_shown.cancellations_not_pushed,
            "cancelled_in_peoplevox": status_work.cancelled_in_peoplevox.len(),
            "cancellations_not_shown": status_shown.cancellations_not_shown,
            "short_picks": status_work.short_picked.len(),
            "short_picks_not_shown": status_shown.short_picks_not_shown,
            "backorders": status_totals.backorders,
            "holds": status_totals.holds,
            "unknown_statuses": status_totals.unknown_statuses,
            "state_changes": status_check.state_changes,
        },
        "shapes": shape_check,
        "reconcile": reconcile_scenario::summary(&reconciled),
        "returns": {
            "made_in_peoplevox": returns_made,
            "recorded": status_check.returns_recorded,
            "duplicates": status_check.duplicate_returns,
            "missing": status_check.missing_returns,
        },
        "peoplevox": {
            "dialect": args.peoplevox_dialect,
            "requests": pvx_requests,
            "sales_orders": bed.pvx.sales_orders().len(),
            "budget": "15 requests per 15 s",
            "budget_violations": bed.pvx.budget_violations(),
            "clock": if args.compress > 1 { format!("compressed x{}: window {} ms", args.compress, window.as_millis()) } else { "real".into() },
        },
        "commercetools": { "requests": ct_requests },
        "queues": { "drained": drained, "orders_dlq": dlq.visible, "stock_dlq": stock_dlq.visible, "shipments_dlq": shipments_dlq.visible, "status_dlq": status_dlq.visible },
        "elapsed_ms": elapsed.as_millis() as u64,
    });
    if args.store.is_none() {
        let _ = std::fs::remove_dir_all(&temp_dir);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_table(&summary);
    }
    let ok = drained
        && duplicates_in_peoplevox == 0
        && bed.pvx.budget_violations() == 0
        && exported + held.len() == orders.len()
        && mismatches.is_empty()
        && oversells == 0
        && shipments.duplicate_deliveries == 0
        && shipments.despatches_without_delivery == 0
        && shipments.missing_tracking == 0
        && shipments.duplicate_tracking == 0
        && status_check.backwards_moves.is_empty()
        && status_check.duplicate_returns == 0
        && status_check.missing_returns == 0
        && status_shown.all_shown()
        && shape_check.problems.is_empty()
        && shape_check.exported == shape_check.placed
        && reconciled.all_right();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Posts every order once, a quarter again as a CloudEvent, a tenth a third time.
async fn post_orders(
    http: &reqwest::Client,
    url: &str,
    orders: &[serde_json::Value],
    first: usize,
) -> Vec<u16> {
    let mut bodies = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let i = first + n;
        bodies.push(scenario::platform_message(order, &format!("m-{i}-a")));
        if i.is_multiple_of(4) {
            bodies.push(scenario::cloud_event(order, &format!("m-{i}-b")));
        }
        if i.is_multiple_of(10) {
            bodies.push(scenario::platform_message(order, &format!("m-{i}-c")));
        }
    }
    post_bodies(http, url, bodies).await
}

async fn post_bodies(http: &reqwest::Client, url: &str, bodies: Vec<String>) -> Vec<u16> {
    futures::stream::iter(bodies)
        .map(|body| {
            let (http, url) = (http.clone(), url.to_string());
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
        .await
}

fn print_table(s: &serde_json::Value) {
    let o = &s["orders"];
    let p = &s["peoplevox"];
    println!(
        "ctpvx demo — orders, stock, shipments and statuses against the simulators (Peoplevox dialect {}; {})",
        p["dialect"].as_str().unwrap_or(""),
        p["clock"].as_str().unwrap_or("")
    );
    println!("  orders created                 {}", o["created"]);
    println!(
        "  refused by commercetools       {} (out of stock)",
        o["refused_out_of_stock"]
    );
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
    let k = &s["stock"];
    println!(
        "  stock movements                {} at {} sites ({} callbacks, {} duplicated)",
        k["movements"], k["sites"], k["callbacks"], k["callbacks_duplicated"]
    );
    println!("  stock.events                   {}", k["events"]);
    println!("  stock.writes                   {}", k["writes"]);
    println!(
        "  stock.skipped_unchanged        {}",
        k["skipped_unchanged"]
    );
    println!(
        "  stale / coalesced / re-reads   {} / {} / {}",
        k["stale"], k["coalesced"], k["rereads"]
    );
    println!("  stock.mismatches               {}", k["mismatches"]);
    println!(
        "  stock.oversells                {} (safety buffer {})",
        k["oversells"], k["safety_buffer"]
    );
    let h = &s["shipments"];
    println!(
        "  shipments.despatches           {} ({} orders split, {} tracking numbers late)",
        h["despatches"], h["orders_split"], h["late_tracking"]
    );
    println!("  shipments.deliveries           {}", h["deliveries"]);
    println!(
        "  shipments.duplicate_deliveries {}",
        h["duplicate_deliveries"]
    );
    println!(
        "  shipments.missing_tracking     {} ({} despatches without delivery)",
        h["missing_tracking"], h["despatches_without_delivery"]
    );
    let t = &s["status"];
    println!("  status.updates                 {}", t["updates"]);
    println!(
        "  status.backwards_moves         {} ({} late events ignored)",
        t["backwards_moves"], t["backwards_ignored"]
    );
    println!(
        "  status.conflicts               {} ({} orders cancelled after picking, {} unrecorded)",
        t["conflicts"], t["deliberate_conflict_orders"], t["conflicts_unrecorded"]
    );
    println!(
        "  cancellations ct→pvx / pvx→ct  {} / {} ({} not pushed, {} not shown)",
        t["cancelled_in_ct_pushed"],
        t["cancelled_in_peoplevox"],
        t["cancellations_not_pushed"],
        t["cancellations_not_shown"]
    );
    println!(
        "  short picks / backorders / holds {} / {} / {} ({} short picks not shown)",
        t["short_picks"], t["backorders"], t["holds"], t["short_picks_not_shown"]
    );
    let r = &s["returns"];
    println!(
        "  returns.recorded               {} of {} ({} duplicates)",
        r["recorded"], r["made_in_peoplevox"], r["duplicates"]
    );
    let sh = &s["shapes"];
    let problems = sh["problems"].as_array().map_or(0, Vec::len);
    println!(
        "  reference-shaped orders        {} of {} exported as {} sales orders, {} deliveries ({} problems)",
        sh["exported"], sh["placed"], sh["sales_orders"], sh["deliveries"], problems
    );
    for problem in sh["problems"].as_array().into_iter().flatten() {
        println!("    {}", problem.as_str().unwrap_or_default());
    }
    let c = &s["reconcile"];
    println!(
        "  callbacks lost on purpose      {} ({} orders' OrderCreated, {} despatches' callbacks)",
        c["callbacks_dropped"], c["orders_lost"], c["despatches_lost"]
    );
    println!(
        "  reconcile.drift_before         {} entries ({} units off, {} Peoplevox pages, {} ms)",
        c["drift_before"], c["units_off"], c["pages"], c["first_run_ms"]
    );
    println!("  reconcile.updates              {}", c["updates"]);
    println!(
        "  reconcile.drift_after          {} ({} entries off target in the simulators)",
        c["drift_after"], c["off_target_after"]
    );
    println!(
        "  reconcile re-queued            {} orders ({} lost ones now in Peoplevox once, the rest held again), {} despatches ({} without delivery)",
        c["orders_requeued"],
        c["orders_exported_once"],
        c["despatches_requeued"],
        c["despatches_without_delivery"]
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
        "  dead-lettered (orders / stock / shipments / status) {} / {} / {} / {}",
        s["queues"]["orders_dlq"],
        s["queues"]["stock_dlq"],
        s["queues"]["shipments_dlq"],
        s["queues"]["status_dlq"]
    );
    println!("  elapsed                        {} ms", s["elapsed_ms"]);
}
