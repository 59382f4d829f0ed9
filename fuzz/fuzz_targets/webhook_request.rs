//! The webhook ingress, `Webhooks::handle`: the function that both the Lambda
//! (`functions/webhooks`) and the local server call with the method, path, query string,
//! `Authorization` / `Content-Type` headers and body of one request. It covers the commercetools
//! order route (`commercetools::message::parse`) and the Peoplevox callbacks (query string and
//! POST body parameters). The queue is an in-memory recorder, so the run does no I/O.
//!
//! Input: an HTTP/1.1 request as text, so that seeds are real-shaped:
//!
//! ```text
//! POST /webhooks/peoplevox/<PVX_TOKEN>/status?order=1&status=Picking HTTP/1.1
//! Content-Type: application/x-www-form-urlencoded
//!
//! onhold=false
//! ```
//!
//! Checks, besides "never panics": the answer is one of the ingress's statuses with a JSON
//! object body; a 202 "accepted" enqueued exactly one message and anything else none; every
//! enqueued message reads back as the type its queue's worker expects.

#![no_main]

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ctpvx_shared::commercetools::message::{self, Parsed};
use ctpvx_shared::config::{Secrets, WebhookConfig};
use ctpvx_shared::domain::{ShipmentMessage, StatusMessage, StockMessage};
use ctpvx_shared::queues::{ORDERS_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use ctpvx_shared::store::{Queue, QueueDepth, QueueMessage, StoreError};
use ctpvx_shared::webhook::{WebhookRequest, Webhooks};
use libfuzzer_sys::fuzz_target;

/// The Bearer token of the commercetools route (the seeds use it).
const WEBHOOK_TOKEN: &str = "fuzz-webhook-token-0123456789abcdef";
/// The path token of the Peoplevox callbacks (the seeds use it).
const PVX_TOKEN: &str = "fuzz-pvx-callback-token-0123456789";

/// Records what is sent; never fails.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

#[async_trait]
impl Queue for Recorder {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        _attributes: &std::collections::BTreeMap<String, String>,
        _delay: Duration,
    ) -> Result<String, StoreError> {
        let mut sent = self.0.lock().unwrap();
        sent.push((queue.to_string(), body.to_string()));
        Ok(format!("m-{}", sent.len()))
    }
    async fn receive(
        &self,
        _queue: &str,
        _max: usize,
        _visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        Ok(Vec::new())
    }
    async fn delete(&self, _queue: &str, _receipt: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn release(&self, _queue: &str, _receipt: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn depth(&self, _queue: &str) -> Result<QueueDepth, StoreError> {
        Ok(QueueDepth::default())
    }
}

struct Ingress {
    recorder: Arc<Recorder>,
    hooks: Webhooks,
}

static INGRESS: LazyLock<Ingress> = LazyLock::new(|| {
    let recorder = Arc::new(Recorder::default());
    let queue: Arc<dyn Queue> = recorder.clone();
    let secrets = Secrets {
        ct_client_secret: "unused".to_string().into(),
        pvx_password: "unused".to_string().into(),
        webhook_token: WEBHOOK_TOKEN.to_string().into(),
        pvx_callback_token: PVX_TOKEN.to_string().into(),
    };
    // A small limit so that the 413 path is reachable with small inputs.
    let config = WebhookConfig {
        max_body_bytes: 16 * 1024,
        ..WebhookConfig::default()
    };
    Ingress {
        hooks: Webhooks::new(queue, &secrets, &config),
        recorder,
    }
});

/// The parts of a request in HTTP/1.1 text form, read leniently (the point is the handler).
struct Parts {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
}

fn split(data: &[u8]) -> (Parts, &[u8]) {
    let (head, body) = match find(data, b"\r\n\r\n") {
        Some(i) => (&data[..i], &data[i + 4..]),
        None => match find(data, b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &data[data.len()..]),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let mut request_line = lines.next().unwrap_or("").splitn(3, ' ');
    let method = request_line.next().unwrap_or("").to_string();
    let target = request_line.next().unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut parts = Parts {
        method,
        path,
        query,
        authorization: None,
        content_type: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = Some(value.trim().to_string());
        if name.trim().eq_ignore_ascii_case("authorization") {
            parts.authorization = value;
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            parts.content_type = value;
        }
    }
    (parts, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let ingress = &*INGRESS;
    let (parts, body) = split(data);
    let request = WebhookRequest {
        method: &parts.method,
        path: &parts.path,
        query: parts.query.as_deref(),
        authorization: parts.authorization.as_deref(),
        content_type: parts.content_type.as_deref(),
        body,
    };
    ingress.recorder.0.lock().unwrap().clear();
    let response = futures::executor::block_on(ingress.hooks.handle(request));
    let sent = std::mem::take(&mut *ingress.recorder.0.lock().unwrap());

    assert!(
        matches!(response.status, 202 | 400 | 401 | 404 | 405 | 413 | 503),
        "unexpected status {}",
        response.status
    );
    let answer: serde_json::Value =
        serde_json::from_str(&response.body).expect("the answer body is JSON");
    assert!(answer.is_object(), "the answer body is a JSON object");
    let accepted = response.status == 202 && answer["status"] == "accepted";
    assert_eq!(
        sent.len(),
        usize::from(accepted),
        "status {} with {} messages enqueued",
        response.status,
        sent.len()
    );
    for (queue, queued) in &sent {
        match queue.as_str() {
            q if q == ORDERS_QUEUE => match message::parse(queued.as_bytes()) {
                Ok(Parsed::OrderCreated(_)) => {}
                other => panic!("orders queue body does not read back as an order: {other:?}"),
            },
            q if q == STOCK_QUEUE => {
                serde_json::from_str::<StockMessage>(queued).expect("stock message reads back");
            }
            q if q == SHIPMENTS_QUEUE => {
                serde_json::from_str::<ShipmentMessage>(queued)
                    .expect("shipment message reads back");
            }
            q if q == STATUS_QUEUE => {
                serde_json::from_str::<StatusMessage>(queued).expect("status message reads back");
            }
            other => panic!("message sent to unexpected queue {other}"),
        }
    }
});
