//! `ctpvx bench` order figures:
//! - orders exported per hour under the Peoplevox budget (default: the real 15 requests / 15 s),
//!   measured end to end from queue to commercetools mark against the simulators;
//! - Peoplevox requests per 1,000 orders;
//! - mapping CPU time per order (map + CSV), single thread.

use std::time::{Duration, Instant};

use serde_json::json;

use ctpvx_infra::local::stack::ORDERS_QUEUE;
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::commercetools::types::Order;
use ctpvx_shared::config::Config;
use ctpvx_shared::embedded::EmbeddedStore;
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

/// Export throughput under the budget, its window compressed `compress` times.
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
    let mut bodies = Vec::with_capacity(count);
    for i in 0..count {
        let order = scenario::order(i, 1 + i % 4, &catalog);
        bed.ct.insert_order_json(order.clone())?;
        bodies.push(scenario::platform_message(&order, &format!("m-{i}")));
    }
    let options = StackOptions {
        workers: 2,
        batch_size: 100,
        visibility: Duration::from_secs(60),
        ..StackOptions::default()
    };
    let stack = LocalStack::start(&bed.config, &bed.secrets, store.clone(), options).await?;
    let start = Instant::now();
    for body in &bodies {
        store.send(ORDERS_QUEUE, body, &Default::default()).await?;
    }
    let drained = stack.wait_drained(Duration::from_secs(3600)).await;
    let elapsed = start.elapsed();
    let exported = stack.totals.lock().await.exported;
    let requests = stack.pvx.requests_made();
    stack.stop().await;
    let per_hour = exported as f64 / elapsed.as_secs_f64() * 3600.0 / f64::from(compress);
    Ok(json!({
        "orders": count,
        "exported": exported,
        "drained": drained,
        "elapsed_s": elapsed.as_secs_f64(),
        "clock_compression": compress,
        "budget": "15 requests per 15 s",
        "peoplevox_requests": requests,
        "peoplevox_requests_per_1000_orders": requests as f64 * 1000.0 / count as f64,
        "orders_per_hour_at_real_budget": per_hour,
        "budget_violations": bed.pvx.budget_violations(),
    }))
}
