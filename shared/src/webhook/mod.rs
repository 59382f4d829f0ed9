//! HTTP ingress: authenticate, validate, normalise, enqueue, answer 202. It never calls
//! commercetools or Peoplevox. The Lambda (`functions/webhooks`) and the local server both call
//! [`Webhooks::handle`], so they answer alike.
//!
//! Routes: [`ORDERS_PATH`] (commercetools, Bearer token) and `/webhooks/peoplevox/{token}/{event}`
//! (Peoplevox callbacks, see [`peoplevox`]).

mod auth;
mod callback_params;
mod orders;
pub mod peoplevox;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::SecretString;

pub use auth::token_matches;
pub use peoplevox::{CallbackStats, PEOPLEVOX_PREFIX};

use crate::config::{WebhookConfig, WebhookSecrets};
use crate::store::Queue;

/// Path of the commercetools order webhook.
pub const ORDERS_PATH: &str = "/webhooks/commercetools/orders";

/// One HTTP request, as API Gateway or the local server hands it over.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path, without the query string.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

impl WebhookResponse {
    pub(crate) fn json(status: u16, value: serde_json::Value) -> Self {
        Self {
            status,
            body: value.to_string(),
        }
    }
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(status, serde_json::json!({ "error": message }))
    }
}

/// The ingress, with where it enqueues (the logical queues of [`crate::queues`]).
pub struct Webhooks {
    queue: Arc<dyn Queue>,
    token: SecretString,
    pvx_callback_token: SecretString,
    max_body_bytes: usize,
    callback_stats: CallbackCounters,
    /// Write a CloudWatch metric line for each incomplete or refused callback (the Lambda).
    emit_metrics: bool,
}

/// [`CallbackStats`] as they are counted.
#[derive(Debug, Default)]
struct CallbackCounters {
    refused: AtomicU64,
    rejected: AtomicU64,
    unfilled: AtomicU64,
    unreadable: AtomicU64,
    ambiguous: AtomicU64,
}

impl Webhooks {
    /// The ingress; commercetools callers present `secrets.webhook_token`, Peoplevox callbacks
    /// carry `secrets.pvx_callback_token` in their path.
    pub fn new(
        queue: Arc<dyn Queue>,
        secrets: &impl AsRef<WebhookSecrets>,
        config: &WebhookConfig,
    ) -> Self {
        let secrets = secrets.as_ref();
        Self {
            queue,
            token: secrets.webhook_token.clone(),
            pvx_callback_token: secrets.pvx_callback_token.clone(),
            max_body_bytes: config.max_body_bytes,
            callback_stats: CallbackCounters::default(),
            emit_metrics: false,
        }
    }

    /// Writes a CloudWatch metric line (EMF, on stdout) for each Peoplevox callback that was
    /// refused (also before its parameters were read: wrong token, unknown event) or lacked a
    /// value: for the Lambda, whose log CloudWatch reads.
    pub fn with_metric_lines(mut self) -> Self {
        self.emit_metrics = true;
        self
    }

    /// What the Peoplevox callbacks held since this ingress started.
    pub fn callback_stats(&self) -> CallbackStats {
        let c = &self.callback_stats;
        CallbackStats {
            refused: c.refused.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            unfilled: c.unfilled.load(Ordering::Relaxed),
            unreadable: c.unreadable.load(Ordering::Relaxed),
            ambiguous: c.ambiguous.load(Ordering::Relaxed),
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: WebhookRequest<'_>) -> WebhookResponse {
        let path = req.path.trim_end_matches('/');
        if let Some(rest) = path.strip_prefix(PEOPLEVOX_PREFIX) {
            return peoplevox::accept(self, rest, &req).await;
        }
        if path != ORDERS_PATH {
            return WebhookResponse::error(404, "no such webhook");
        }
        if !req.method.eq_ignore_ascii_case("POST") {
            return WebhookResponse::error(405, "use POST");
        }
        // Authentication comes first, so that nothing about the body is revealed to a caller
        // without the token.
        if !token_matches(req.authorization, &self.token) {
            return WebhookResponse::error(401, "missing or wrong bearer token");
        }
        if let Some(refused) = self.too_large(req.body) {
            return refused;
        }
        orders::accept(self, req.body).await
    }

    /// The 413 for a body over the limit (checked after authentication).
    fn too_large(&self, body: &[u8]) -> Option<WebhookResponse> {
        (body.len() > self.max_body_bytes).then(|| {
            WebhookResponse::error(
                413,
                &format!(
                    "body of {} bytes is over the limit of {} bytes",
                    body.len(),
                    self.max_body_bytes
                ),
            )
        })
    }
}
