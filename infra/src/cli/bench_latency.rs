//! `ctpvx bench` end-to-end latency: webhooks sent over HTTP to the local stack's webhook
//! server at a steady rate, each timed from the moment it is sent to the moment the
//! commercetools simulator applies the write it causes ([`ctpvx_infra::sim::commercetools::CtSim::on_update`]).
//!
//! The mix is Peoplevox AvailabilityChanges callbacks (an inventory entry changes) and despatch
//! tracking callbacks (a delivery is added to the order). commercetools OrderCreated messages
//! are left out: their target (the Peoplevox sales order and the commercetools mark) waits on
//! the Peoplevox budget of 15 requests / 15 s, which the export figures measure. Every stock
//! event moves a pair no other event of the run touches, and every despatch belongs to an order
//! of its own, so that each event maps to exactly one write. The simulators answer at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, STOCK_SITES, Testbed, TestbedOptions};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::webhook::PEOPLEVOX_PREFIX;

use crate::cli::bench_flows::exported_orders;

/// One latency run.
#[derive(Debug, Clone, Copy)]
pub struct LatencyRun {
    /// Webhooks per second.
    pub rate: u32,
    /// How long webhooks are sent.
    pub duration: Duration,
    /// Every n-th webhook is a despatch callback (0: none).
    pub despatch_every: u32,
    /// The workers' pause between polls of an empty queue.
    pub poll: Duration,
    /// Lift the Peoplevox budget (15 / 15 s otherwise), which the despatch reads wait on.
    pub lift_budget: bool,
}

/// What an event changes in commercetools, as the simulator's hook recognises it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    /// An inventory entry: SKU and supply channel id.
    Stock(String, String),
    /// An order's first delivery: the order number.
    Despatch(String),
}

impl Target {
    /// The target a resource changed by an update is, if it is one.
    fn of(after: &Value) -> Option<Self> {
        if let (Some(sku), Some(channel)) = (
            after["sku"].as_str(),
            after.pointer("/supplyChannel/id").and_then(Value::as_str),
        ) {
            return Some(Self::Stock(sku.into(), channel.into()));
        }
        let delivered = after
            .pointer("/shippingInfo/deliveries")
            .and_then(Value::as_array)
            .is_some_and(|d| !d.is_empty());
        let number = after["orderNumber"].as_str()?;
        delivered.then(|| Self::Despatch(number.into()))
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Stock(..) => "stock",
            Self::Despatch(_) => "despatch",
        }
    }
}

/// Runs the measurement and returns its figures.
pub async fn run(spec: LatencyRun) -> anyhow::Result<Value> {
    let total = (f64::from(spec.rate) * spec.duration.as_secs_f64()).round() as usize;
    let despatches = if spec.despatch_every == 0 {
        0
    } else {
        total.div_ceil(spec.despatch_every as usize)
    };
    let catalog = scenario::catalog(20);
    let (budget_requests, budget_window) = if spec.lift_budget {
        (10_000, Duration::from_secs(1))
    } else {
        (15, Duration::from_secs(15))
    };
    let bed = Testbed::start(TestbedOptions {
        budget_requests,
        budget_window,
        items: catalog.clone(),
        ..TestbedOptions::default()
    })
    .await?;
    let store = EmbeddedStore::in_memory()?;
    ctpvx_infra::local::stack::declare_queues(&store)?;

    // Despatches: exported orders, each despatched whole in one tracked package.
    exported_orders(&bed, &store, despatches, &catalog).await?;
    let mut despatch_numbers = Vec::with_capacity(despatches);
    for order in bed.pvx.sales_orders() {
        let plan = DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]);
        let despatch = bed.pvx.despatch(&order.number, plan)?;
        despatch_numbers.push((despatch.number, order.number));
    }
    // Stock: one pair per stock event, commercetools at the warehouse figure to begin with.
    let stock_events = total - despatches;
    let skus = stock_events.div_ceil(STOCK_SITES.len()).max(1);
    let mut entries = Vec::with_capacity(skus * STOCK_SITES.len());
    for (site, _) in STOCK_SITES {
        for k in 0..skus {
            entries.push((sku(k), Some(bed.site_channels[site].clone()), 20));
        }
    }
    bed.ct.insert_inventory_bulk(entries)?;
    if !spec.lift_budget && despatches > 0 {
        // The export's requests came out of the budget window the despatch reads start in.
        tokio::time::sleep(budget_window).await;
    }
    bed.pvx.reset_counters();

    let seen: Arc<Mutex<HashMap<Target, Instant>>> = Arc::default();
    let hook_seen = seen.clone();
    bed.ct.on_update(Some(Arc::new(move |after: &Value| {
        if let Some(target) = Target::of(after) {
            let mut seen = hook_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.entry(target).or_insert_with(Instant::now);
        }
    })));
    let options = StackOptions {
        workers: 1,
        stock_workers: 2,
        batch_size: 100,
        visibility: Duration::from_secs(60),
        idle_pause: spec.poll,
        ..StackOptions::default()
    };
    let stack =
        LocalStack::start(&bed.config, &bed.secrets, store.clone(), options.clone()).await?;
    let base = format!(
        "{}{PEOPLEVOX_PREFIX}{DEMO_CALLBACK_TOKEN}",
        stack.server.url
    );

    // The events, in sending order.
    let mut plan = Vec::with_capacity(total);
    let (mut next_stock, mut next_despatch) = (0, 0);
    for n in 0..total {
        let despatch = spec.despatch_every != 0 && n % spec.despatch_every as usize == 0;
        if despatch && let Some((despatch, order)) = despatch_numbers.get(next_despatch) {
            next_despatch += 1;
            let url = format!("{base}/tracking?despatch={despatch}");
            plan.push((url, Target::Despatch(order.clone())));
        } else {
            let (site, k) = (STOCK_SITES[next_stock % 3].0, next_stock / 3);
            next_stock += 1;
            let url = format!(
                "{base}/availability?site={site}&item={}&available=21",
                sku(k)
            );
            let target = Target::Stock(sku(k), bed.site_channels[site].clone());
            plan.push((url, target));
        }
    }

    let http = reqwest::Client::new();
    let period = Duration::from_secs_f64(1.0 / f64::from(spec.rate.max(1)));
    let mut ticker = tokio::time::interval(period);
    let mut sends = Vec::with_capacity(total);
    let started = Instant::now();
    for (url, target) in plan {
        ticker.tick().await;
        let http = http.clone();
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = http.get(&url).send().await.map(|r| r.status().as_u16());
            (target, sent, sent.elapsed(), status.unwrap_or(0))
        }));
    }
    let mut sent = Vec::with_capacity(total);
    for send in sends {
        sent.push(send.await?);
    }
    let sending_s = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.lock().unwrap_or_else(|e| e.into_inner()).len() < total && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bed.ct.on_update(None);
    stack.stop().await;

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut by_kind: HashMap<&str, Vec<Duration>> = HashMap::new();
    let mut acks = Vec::with_capacity(total);
    let (mut missing, mut refused) = (0, 0);
    for (target, at, ack, status) in &sent {
        acks.push(*ack);
        refused += usize::from(*status != 202);
        match seen.get(target) {
            Some(landed) => by_kind
                .entry(target.kind())
                .or_default()
                .push(landed.saturating_duration_since(*at)),
            None => missing += 1,
        }
    }
    let all: Vec<Duration> = by_kind.values().flatten().copied().collect();
    Ok(json!({
        "rate_per_s": spec.rate,
        "duration_s": spec.duration.as_secs_f64(),
        "sending_s": sending_s,
        "events": total,
        "mix": {"stock_availability": stock_events, "despatch_tracking": despatches, "order_created": 0},
        "order_created_left_out": "its target waits on the Peoplevox budget (15 requests / 15 s); see export",
        "simulator_latency_ms": 0,
        "peoplevox_budget": if spec.lift_budget { "lifted (10,000 / 1 s)" } else { "15 requests / 15 s" },
        "peoplevox_requests": bed.pvx.request_count(),
        "workers": {"stock": options.stock_workers, "shipments": 1, "batch_size": options.batch_size,
            "idle_poll_ms": spec.poll.as_secs_f64() * 1000.0},
        "end_to_end_ms": summary(&all),
        "end_to_end_ms_by_kind": by_kind.iter().map(|(k, v)| (k.to_string(), summary(v))).collect::<serde_json::Map<_, _>>(),
        "webhook_ack_ms": summary(&acks),
        "missing": missing,
        "not_accepted": refused,
    }))
}

fn sku(k: usize) -> String {
    format!("LAT-{k:06}")
}

/// Count, p50, p99 and max of a set of latencies, in ms.
pub fn summary(latencies: &[Duration]) -> Value {
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    json!({
        "count": ms.len(),
        "p50": percentile(&ms, 0.50),
        "p99": percentile(&ms, 0.99),
        "max": ms.last(),
    })
}

/// The nearest-rank percentile `q` (0–1) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), Some(50.0));
        assert_eq!(percentile(&values, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn targets_are_recognised_from_the_written_resource() {
        let entry =
            json!({"sku": "LAT-000001", "supplyChannel": {"typeId": "channel", "id": "c1"}});
        assert_eq!(
            Target::of(&entry),
            Some(Target::Stock("LAT-000001".into(), "c1".into()))
        );
        let undelivered = json!({"orderNumber": "D1", "shippingInfo": {"deliveries": []}});
        assert_eq!(Target::of(&undelivered), None);
        let delivered = json!({"orderNumber": "D1", "shippingInfo": {"deliveries": [{"id": "x"}]}});
        assert_eq!(Target::of(&delivered), Some(Target::Despatch("D1".into())));
    }
}
