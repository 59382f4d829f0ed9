//! A fault for the soak: a function's SQS calls go through this proxy to moto, and a share of
//! the calls that settle a batch (sending, changing visibility, deleting) stall past the
//! function's whole Timeout before they are forwarded, so that the stack kills that invocation
//! mid-settle, as Lambda kills one whose queue call hangs. The AWS SDK's calls are not cut at
//! the invocation's deadline (only the commercetools and Peoplevox clients are), so a stall
//! here always ends in a kill.

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
}

/// The proxy, serving on loopback.
pub struct StallProxy {
    /// `http://127.0.0.1:PORT`: the function's `AWS_ENDPOINT_URL_SQS`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StallProxy {
    /// Forwards to `upstream`; a share `stalls` of the settling calls wait `stall` first.
    pub async fn start(
        upstream: &str,
        stalls: Arc<Chance>,
        stall: Duration,
    ) -> anyhow::Result<Self> {
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            stalls,
            stall,
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

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}
