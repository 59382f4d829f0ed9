//! `ctpvx bench` figures of the webhooks function: requests per second and CPU per request of
//! the HTTP ingress (HTTP parsing, authentication, validation, enqueue), served by the local
//! webhook server on a thread and runtime of its own while a client on another runtime keeps
//! 16 requests in flight. Each kind of request is measured on its own: commercetools
//! OrderCreated messages (a Bearer token and a JSON order to validate), Peoplevox availability
//! and despatch callbacks (a path token and query parameters).
//!
//! The queue is the embedded store's (SQLite on the server's thread); in AWS it is an SQS
//! SendMessage over HTTPS, whose signing and TLS are not in this figure.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use serde_json::json;

use ctpvx_infra::local::server::WebhookServer;
use ctpvx_infra::local::stack::declare_queues;
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, DEMO_WEBHOOK_TOKEN, Testbed};
use ctpvx_shared::config::{Secrets, WebhookConfig};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::{ORDERS_PATH, PEOPLEVOX_PREFIX, Webhooks};

use crate::cli::bench_cpu;

/// Requests in flight at once.
const IN_FLIGHT: usize = 16;
/// Requests sent before the measurement, to open the connections.
const WARM_UP: usize = 64;

/// A kind of webhook request.
#[derive(Debug, Clone, Copy)]
enum Kind {
    OrderCreated,
    Availability,
    Tracking,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::OrderCreated => "commercetools_order_created",
            Self::Availability => "peoplevox_availability",
            Self::Tracking => "peoplevox_tracking",
        }
    }

    /// The `n`-th request of this kind to the server at `base`.
    fn request(self, http: &reqwest::Client, base: &str, n: usize) -> reqwest::RequestBuilder {
        let callback = format!("{base}{PEOPLEVOX_PREFIX}{DEMO_CALLBACK_TOKEN}");
        match self {
            Self::OrderCreated => {
                let catalog = scenario::catalog(20);
                let order = scenario::order(n, 1 + n % 4, &catalog);
                http.post(format!("{base}{ORDERS_PATH}"))
                    .bearer_auth(DEMO_WEBHOOK_TOKEN)
                    .header("content-type", "application/json")
                    .body(scenario::platform_message(&order, &format!("m-{n}")))
            }
            Self::Availability => http.get(format!(
                "{callback}/availability?site=UK-DC&item=SKU-{:04}&available={}",
                n % 1000,
                n % 50
            )),
            Self::Tracking => http.get(format!("{callback}/tracking?despatch=DSP-{n:07}")),
        }
    }
}

/// Measures every kind with `requests` requests each; returns the figures.
pub async fn run(requests: usize) -> anyhow::Result<serde_json::Value> {
    // The test bed only for a configuration and secrets that match its tokens.
    let bed = Testbed::start(Default::default()).await?;
    let mut kinds = serde_json::Map::new();
    let (mut cpu_total, mut count, mut elapsed) = (Duration::ZERO, 0, Duration::ZERO);
    let mut cpu_known = true;
    for kind in [Kind::OrderCreated, Kind::Availability, Kind::Tracking] {
        let timed = one(kind, requests, &bed.secrets, &bed.config.webhook).await?;
        kinds.insert(kind.name().into(), timed.per_event(requests));
        match timed.cpu {
            Some(cpu) => cpu_total += cpu,
            None => cpu_known = false,
        }
        count += requests;
        elapsed += timed.elapsed;
    }
    Ok(json!({
        "flow": "webhooks",
        "events": count,
        "in_flight": IN_FLIGHT,
        "queue": "embedded store (SQLite), not SQS",
        "events_per_second_one_worker": count as f64 / elapsed.as_secs_f64().max(1e-9),
        "cpu_us_per_event": cpu_known.then(|| cpu_total.as_secs_f64() * 1e6 / count.max(1) as f64),
        "cpu_clock": bench_cpu::clock_name(),
        "by_kind": kinds,
    }))
}

/// One kind: the server on its own thread; its CPU from the first measured request to the
/// last answer.
async fn one(
    kind: Kind,
    requests: usize,
    secrets: &Secrets,
    config: &WebhookConfig,
) -> anyhow::Result<bench_cpu::Timed<u64>> {
    let (url_tx, url_rx) = tokio::sync::oneshot::channel::<String>();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (secrets, config) = (secrets.clone(), config.clone());
    let server = tokio::spawn(bench_cpu::on_own_thread(
        move || async move {
            let store = EmbeddedStore::in_memory()?;
            declare_queues(&store)?;
            let queue: Arc<dyn Queue> = store.clone();
            let hooks = Arc::new(Webhooks::new(queue, &secrets, &config));
            let server = WebhookServer::start(hooks, ([127, 0, 0, 1], 0).into()).await?;
            let _ = url_tx.send(server.url.clone());
            // The warm-up requests are served here, before the clock starts.
            go_rx.await?;
            Ok((server, store))
        },
        move |(server, store)| async move {
            let _ = started_tx.send(());
            stop_rx.await?;
            drop(server);
            Ok(store
                .depth(ctpvx_shared::queues::ORDERS_QUEUE)
                .await?
                .visible
                + store
                    .depth(ctpvx_shared::queues::STOCK_QUEUE)
                    .await?
                    .visible
                + store
                    .depth(ctpvx_shared::queues::SHIPMENTS_QUEUE)
                    .await?
                    .visible)
        },
    ));
    let base = url_rx.await.context("the webhook server did not start")?;
    let http = reqwest::Client::new();
    let built: Vec<_> = (0..WARM_UP + requests)
        .map(|n| kind.request(&http, &base, n).build())
        .collect::<Result<_, _>>()?;
    let mut built = built.into_iter();
    let warm_up: Vec<_> = built.by_ref().take(WARM_UP).collect();
    send_all(&http, warm_up).await?;
    let _ = go_tx.send(());
    started_rx.await?;
    send_all(&http, built.collect()).await?;
    let _ = stop_tx.send(());
    let timed = server.await??;
    anyhow::ensure!(
        timed.value == (WARM_UP + requests) as u64,
        "{}: {} of {} requests were enqueued",
        kind.name(),
        timed.value,
        WARM_UP + requests
    );
    Ok(timed)
}

/// Sends every request, [`IN_FLIGHT`] at a time; every one must be accepted (202).
async fn send_all(http: &reqwest::Client, requests: Vec<reqwest::Request>) -> anyhow::Result<()> {
    let mut answers = futures::stream::iter(requests)
        .map(|request| http.execute(request))
        .buffer_unordered(IN_FLIGHT);
    while let Some(answer) = answers.next().await {
        let status = answer?.status();
        anyhow::ensure!(status.as_u16() == 202, "the webhook answered {status}");
    }
    Ok(())
}
