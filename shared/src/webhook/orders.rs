//! The commercetools order webhook: validate the message, enqueue it, answer 202.

use std::collections::BTreeMap;

use super::{WebhookResponse, Webhooks};
use crate::commercetools::message::OrderStateChanged;
use crate::commercetools::message::{self, Parsed};
use crate::domain::StatusMessage;
use crate::flows::order_export::requeue_message;
use crate::queues::{ORDERS_QUEUE, STATUS_QUEUE};

/// Validates and enqueues one order message.
pub(super) async fn accept(hooks: &Webhooks, body: &[u8]) -> WebhookResponse {
    let event = match message::parse(body) {
        Ok(Parsed::OrderCreated(event)) => event,
        Ok(Parsed::OrderStateChanged(change)) => return state_changed(hooks, change).await,
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

/// An `orderState` change: a cancellation goes to the status flow; any other change is
/// acknowledged and dropped (the flows act on the warehouse's states, not on these).
async fn state_changed(hooks: &Webhooks, change: OrderStateChanged) -> WebhookResponse {
    if change.order_state != "Cancelled" {
        return WebhookResponse::json(
            202,
            serde_json::json!({ "status": "ignored", "type": "OrderStateChanged", "orderState": change.order_state }),
        );
    }
    let message = StatusMessage::CommercetoolsOrderState {
        message_id: change.message_id,
        order_id: change.order_id.clone(),
        order_number: change.order_number,
        order_state: change.order_state,
        old_order_state: change.old_order_state,
    };
    match hooks
        .queue
        .send(STATUS_QUEUE, &message.to_json(), &BTreeMap::new())
        .await
    {
        Ok(message_id) => {
            tracing::info!(order_id = %change.order_id, %message_id, "order cancellation enqueued");
            WebhookResponse::json(
                202,
                serde_json::json!({ "status": "accepted", "orderId": change.order_id, "messageId": message_id }),
            )
        }
        Err(e) => {
            tracing::error!(order_id = %change.order_id, error = %e, "enqueue failed");
            WebhookResponse::error(503, "could not enqueue; retry later")
        }
    }
}
