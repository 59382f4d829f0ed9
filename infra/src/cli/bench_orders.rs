//! `ctpvx bench` order figures:
//! - orders exported per hour under the Peoplevox budget (default: the real 15 requests / 15 s),
//!   measured end to end from queue to commercetools mark against the simulators;
//! - Peoplevox requests per 1,000 orders, in the steady state and with the start-up's;
//! - mapping CPU time per order (map + CSV), single thread.

use std::time::{Duration, Instant};

use serde_json::json;

use ctpvx_infra::local::stack::{ORDERS_BATCH_SIZE, ORDERS_QUEUE, declare_queues};
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::commercetools::types::Order;
use ctpvx_shared::config::Config;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::order_export::requeue_message;
use ctpvx_shared::mapping::{SalesOrderLayout, map_order};
use ctpvx_shared::store::Queue;

/// Mapping time per order on one thread.
pub fn mapping_cpu(count: usize) -> anyhow::Result<serde_json::Value> {
    let config = Config::from_toml(include_str!("../../config/ctpvx.example.toml"))?;
    let catalog = scenario::catalog(50);
    let orders: Vec<Order> = (0..count)
        .map(|i| serde_json::from_value(scenario::order(i, 3, &catalog)))
        .collect::<Result<_, _>>()?;
    let custom: Vec<String> = config.orders.custom_fields.values().cloned().collect();
    let layout =
        SalesOrderLayout::standard(&config.peoplevox, &custom).map_err(anyhow::Error::msg)?;
    let start = Instant::now();
    let mut bytes = 0;
    for chunk in orders.chunks(100) {
        let mapped: Vec<_> = chunk
            .iter()
            .filter_map(|o| map_order(o, &config.orders).ok())
            .flatten()
            .collect();
        let tables = layout.tables(&mapped);
        bytes += tables.orders.to_csv().len() + tables.items.to_csv().len();
    }
    let elapsed = start.elapsed();
    Ok(json!({
        "orders": count,
        "lines_per_order": 3,
        "csv_bytes": bytes,
        "total_ms": elapsed.as_secs_f64() * 1000.0,
        "us_per_order": elapsed.as_secs_f64() * 1e6 / count as f64,
    }))
}

/// Orders in one export batch: the orders event source's `BatchSize` (template.yaml), one
/// SaveData pair (`orders.max_orders_per_call`, 500 by default).
const EXPORT_BATCH: usize = ORDERS_BATCH_SIZE;

/// Peoplevox operations of a worker's start and cache fill rather than of its orders: the login,
/// the two templates' headers (`GetSaveTemplate`), and the item-catalogue reads (`GetData` on
/// "Item types", cached for `orders.item_cache_ttl_s`, 6 h). In this run no other `GetData` is
/// made (no crash to recover from, no number ctpvx makes up).
const STARTUP_OPERATIONS: [&str; 3] = ["Authenticate", "GetSaveTemplate", "GetData"];

/// Export throughput under the budget, its window compressed `compress` times: `count` orders
/// announced by pointer messages (as the webhook queues them) waiting in the orders queue when
/// two workers start (the function's reserved concurrency), taken in batches of
/// [`EXPORT_BATCH`], from the workers' start until the last order is marked in commercetools.
/// The Peoplevox requests are counted by operation; those of the start and the item cache are
/// counted apart from the steady state's.
pub async fn export_throughput(count: usize, compress: u32) -> anyhow::Result<serde_json::Value> {
    let window = Duration::from_millis(15_000 / u64::from(compress));
    let catalog = scenario::catalog(50);
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: window,
        items: catalog.clone(),
        ..TestbedOptions::default()
    })
    .await?;
    let store = EmbeddedStore::in_memory()?;
    declare_queues(&store)?;
    for i in 0..count {
        let order = scenario::order(i, 1 + i % 4, &catalog);
        bed.ct.insert_order_json(order.clone())?;
        let pointer = requeue_message(&scenario::order_id(i));
        store
            .send(ORDERS_QUEUE, &pointer, &Default::default())
            .await?;
    }
    let options = StackOptions {
        workers: 2,
        orders_batch_size: EXPORT_BATCH,
        visibility: Duration::from_secs(120),
        ..StackOptions::default()
    };
    let start = Instant::now();
    let stack = LocalStack::start(&bed.config, &bed.secrets, store.clone(), options).await?;
    let drained = stack.wait_drained(Duration::from_secs(3600)).await;
    let elapsed = start.elapsed();
    let exported = stack.totals.lock().await.exported;
    stack.stop().await;
    let by_operation = bed.pvx.requests_by_operation();
    let total: u64 = by_operation.values().sum();
    let startup: u64 = by_operation
        .iter()
        .filter(|(op, _)| STARTUP_OPERATIONS.contains(&op.as_str()))
        .map(|(_, n)| n)
        .sum();
    let steady = total - startup;
    let per_1000 = |n: u64| n as f64 * 1000.0 / exported.max(1) as f64;
    let per_hour = exported as f64 / elapsed.as_secs_f64() * 3600.0 / f64::from(compress);
    Ok(json!({
        "orders": count,
        "exported": exported,
        "drained": drained,
        "batch_size": EXPORT_BATCH,
        "workers": 2,
        "elapsed_s": elapsed.as_secs_f64(),
        "clock_compression": compress,
        "budget": "15 requests per 15 s",
        "peoplevox_requests": total,
        "peoplevox_requests_by_operation": by_operation,
        "peoplevox_requests_startup": startup,
        "peoplevox_requests_steady": steady,
        "peoplevox_requests_per_1000_orders": per_1000(total),
        "peoplevox_requests_per_1000_orders_steady": per_1000(steady),
        "orders_per_hour_at_real_budget": per_hour,
        "budget_violations": bed.pvx.budget_violations(),
    }))
}
