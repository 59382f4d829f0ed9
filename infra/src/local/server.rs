//! The webhook ingress served by axum on loopback (API Gateway's role in AWS).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ctpvx_shared::webhook::{WebhookRequest, Webhooks};

/// API Gateway's own payload limit; the ingress applies the configured, smaller one.
const GATEWAY_LIMIT: usize = 10 * 1024 * 1024;

async fn handle(
    State(hooks): State<Arc<Webhooks>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let answer = hooks
        .handle(WebhookRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            authorization: header(header::AUTHORIZATION),
            content_type: header(header::CONTENT_TYPE),
            body: &body,
        })
        .await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response()
}

/// A running webhook server.
pub struct WebhookServer {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookServer {
    /// Serves `hooks` on `addr` (port 0 picks a free one).
    pub async fn start(hooks: Arc<Webhooks>, addr: SocketAddr) -> std::io::Result<Self> {
        let app = Router::new()
            .fallback(handle)
            .with_state(hooks)
            .layer(DefaultBodyLimit::max(GATEWAY_LIMIT));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "webhook server stopped");
            }
        });
        Ok(Self { url, task })
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
