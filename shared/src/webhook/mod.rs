//! HTTP ingress: authenticate, validate, normalise, enqueue, answer 202. It never calls
//! commercetools or Peoplevox. The Lambda (`functions/webhooks`) and the local server both call
//! [`Webhooks::handle`], so they answer alike.

mod auth;
mod orders;

use std::sync::Arc;

use secrecy::SecretString;

pub use auth::token_matches;

use crate::store::Queue;

/// Path of the commercetools order webhook.
pub const ORDERS_PATH: &str = "/webhooks/commercetools/orders";

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

/// The ingress, with where it enqueues.
pub struct Webhooks {
    queue: Arc<dyn Queue>,
    orders_queue: String,
    token: SecretString,
    max_body_bytes: usize,
    max_message_bytes: usize,
}

impl Webhooks {
    /// The ingress enqueuing orders to `orders_queue`; callers must present `token`.
    pub fn new(
        queue: Arc<dyn Queue>,
        orders_queue: &str,
        token: SecretString,
        config: &crate::config::WebhookConfig,
    ) -> Self {
        Self {
            queue,
            orders_queue: orders_queue.to_string(),
            token,
            max_body_bytes: config.max_body_bytes,
            max_message_bytes: config.max_message_bytes,
        }
    }

    /// Answers one request. `authorization` is the `Authorization` header, if any.
    pub async fn handle(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> WebhookResponse {
        let path = path.trim_end_matches('/');
        if path != ORDERS_PATH {
            return WebhookResponse::error(404, "no such webhook");
        }
        if !method.eq_ignore_ascii_case("POST") {
            return WebhookResponse::error(405, "use POST");
        }
        // Authentication comes first, so that nothing about the body is revealed to a caller
        // without the token.
        if !token_matches(authorization, &self.token) {
            return WebhookResponse::error(401, "missing or wrong bearer token");
        }
        if body.len() > self.max_body_bytes {
            return WebhookResponse::error(
                413,
                &format!(
                    "body of {} bytes is over the limit of {} bytes",
                    body.len(),
                    self.max_body_bytes
                ),
            );
        }
        orders::accept(self, body).await
    }
}
