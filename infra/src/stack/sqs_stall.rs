//! A queue-fed function's SQS calls go through this proxy to moto. It compresses the time the
//! function asks for as the stack compresses the template's: the retry backoff a flow sets on a
//! message (`ChangeMessageVisibility`'s `VisibilityTimeout`) and the delay of a re-queued copy
//! (`SendMessage`'s `DelaySeconds`) are divided by the stack's time scale. And, as a fault for
//! the soak, a share of the calls that settle a batch (sending, changing visibility, deleting)
//! stall past the function's whole Timeout before they are forwarded, so that the stack kills
//! that invocation mid-settle, as Lambda kills one whose queue call hangs. The AWS SDK's calls
//! are not cut at the invocation's deadline (only the commercetools and Peoplevox clients
//! are), so such a stall ends in a kill.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response, StatusCode};

use crate::local::worker::Chance;

/// The SQS actions (JSON protocol targets) that may stall: what settling a batch calls.
const STALLED_ACTIONS: [&str; 6] = [
    "AmazonSQS.SendMessage",
    "AmazonSQS.SendMessageBatch",
    "AmazonSQS.ChangeMessageVisibility",
    "AmazonSQS.ChangeMessageVisibilityBatch",
    "AmazonSQS.DeleteMessage",
    "AmazonSQS.DeleteMessageBatch",
];

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    stalls: Arc<Chance>,
    stall: Duration,
    time_scale: u32,
}

/// The proxy, serving on loopback.
pub struct StallProxy {
    /// `http://127.0.0.1:PORT`: the function's `AWS_ENDPOINT_URL_SQS`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StallProxy {
    /// Forwards to `upstream`, delays divided by `time_scale`; a share `stalls` of the
    /// settling calls wait `stall` first.
    pub async fn start(
        upstream: &str,
        stalls: Arc<Chance>,
        stall: Duration,
        time_scale: u32,
    ) -> anyhow::Result<Self> {
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            stalls,
            stall,
            time_scale: time_scale.max(1),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(forward).with_state(proxy);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, task })
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The whole request is taken first, as SQS would take it: the call then hangs waiting for
    // its answer, not mid-upload.
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let body = compress_delays(target, body, proxy.time_scale);
    if STALLED_ACTIONS.contains(&target) && proxy.stalls.roll() {
        // The invocation is killed meanwhile; its connection closes and this future is dropped.
        tokio::time::sleep(proxy.stall).await;
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut outgoing = proxy
        .http
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.send().await else {
        return status(StatusCode::BAD_GATEWAY);
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != axum::http::header::TRANSFER_ENCODING
            && name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::CONNECTION
        {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| status(StatusCode::BAD_GATEWAY))
}

/// The request with the delays it asks for divided by `time_scale` (rounded up):
/// `VisibilityTimeout` of a visibility change, `DelaySeconds` of a send, in the call and in each
/// of its entries. Rewriting the body breaks its SigV4 signature, which covers the payload:
/// this works because moto does not check signatures, and is for the local stack only.
fn compress_delays(target: &str, body: axum::body::Bytes, time_scale: u32) -> axum::body::Bytes {
    let field = match target {
        "AmazonSQS.ChangeMessageVisibility" | "AmazonSQS.ChangeMessageVisibilityBatch" => {
            "VisibilityTimeout"
        }
        "AmazonSQS.SendMessage" | "AmazonSQS.SendMessageBatch" => "DelaySeconds",
        _ => return body,
    };
    if time_scale <= 1 {
        return body;
    }
    let Ok(mut request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    let scale = |v: &mut serde_json::Value| {
        if let Some(seconds) = v.get(field).and_then(serde_json::Value::as_u64) {
            // Rounded up, as SQS takes delays (`store::delay_seconds`): a 5 s retry backoff
            // must not become no wait at all, while a release (0) stays one.
            v[field] = seconds.div_ceil(u64::from(time_scale)).into();
        }
    };
    scale(&mut request);
    if let Some(entries) = request.get_mut("Entries").and_then(|e| e.as_array_mut()) {
        entries.iter_mut().for_each(scale);
    }
    serde_json::to_vec(&request).map(Into::into).unwrap_or(body)
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_compressed_with_the_stack() {
        let body = serde_json::json!({"QueueUrl": "q", "Entries": [
            {"Id": "0", "ReceiptHandle": "r", "VisibilityTimeout": 125},
            {"Id": "1", "ReceiptHandle": "s", "VisibilityTimeout": 5},
            {"Id": "2", "ReceiptHandle": "t", "VisibilityTimeout": 0},
        ]});
        let out = compress_delays(
            "AmazonSQS.ChangeMessageVisibilityBatch",
            serde_json::to_vec(&body).unwrap().into(),
            25,
        );
        let out: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["Entries"][0]["VisibilityTimeout"], 5);
        assert_eq!(out["Entries"][1]["VisibilityTimeout"], 1);
        assert_eq!(out["Entries"][2]["VisibilityTimeout"], 0);
        let send = serde_json::json!({"QueueUrl": "q", "MessageBody": "b", "DelaySeconds": 600});
        let out = compress_delays(
            "AmazonSQS.SendMessage",
            serde_json::to_vec(&send).unwrap().into(),
            30,
        );
        let out: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["DelaySeconds"], 20);
        let receive = axum::body::Bytes::from_static(b"{\"VisibilityTimeout\": 30}");
        assert_eq!(
            compress_delays("AmazonSQS.ReceiveMessage", receive.clone(), 30),
            receive
        );
    }
}
