//! The commercetools order webhook: validate the message, enqueue it, answer 202.

use std::collections::BTreeMap;

use super::{WebhookResponse, Webhooks};
use crate::commercetools::message::{self, Parsed};
use crate::flows::order_export::requeue_message;
use crate::queues::ORDERS_QUEUE;

/// Validates and enqueues one order message.
pub(super) async fn accept(hooks: &Webhooks, body: &[u8]) -> WebhookResponse {
    let event = match message::parse(body) {
        Ok(Parsed::OrderCreated(event)) => event,
        Ok(Parsed::Ignored(kind)) => {
            return WebhookResponse::json(
                202,
                serde_json::json!({ "status": "ignored", "type": kind }),
            );
        }
        Err(e) => return WebhookResponse::error(400, &e.to_string()),
    };
    // A message too large for the queue travels as a reference; the worker fetches the order.
    let (queued_body, by_reference) = if body.len() > hooks.max_message_bytes {
        (requeue_message(&event.order_id), true)
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => (text.to_string(), false),
            Err(_) => return WebhookResponse::error(400, "body is not UTF-8"),
        }
    };
    match hooks
        .queue
        .send(ORDERS_QUEUE, &queued_body, &BTreeMap::new())
        .await
    {
        Ok(message_id) => {
            tracing::info!(order_id = %event.order_id, %message_id, by_reference, "order message enqueued");
            WebhookResponse::json(
                202,
                serde_json::json!({ "status": "accepted", "orderId": event.order_id, "messageId": message_id }),
            )
        }
        Err(e) => {
            tracing::error!(order_id = %event.order_id, error = %e, "enqueue failed");
            WebhookResponse::error(503, "could not enqueue; retry later")
        }
    }
}
