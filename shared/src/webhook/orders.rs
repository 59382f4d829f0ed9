//! The commercetools order webhook: validate the message, enqueue a pointer to its order, answer
//! 202.

use std::collections::BTreeMap;

use super::{WebhookResponse, Webhooks};
use crate::commercetools::message::OrderStateChanged;
use crate::commercetools::message::{self, Parsed};
use crate::domain::StatusMessage;
use crate::queues::{ORDERS_QUEUE, STATUS_QUEUE};

/// Why a queued announcement carries no order.
const POINTER_REASON: &str = "ctpvx reads every order from commercetools by id";

/// Validates one order message and enqueues it as a pointer to its order. Only the order id and
/// the Message's own metadata (id, type, project) are kept: the worker reads the order from
/// commercetools, so a body's order (a Message's, or a bare Order a relay posts) is never
/// trusted, and the queue holds no personal data.
pub(super) async fn accept(hooks: &Webhooks, body: &[u8]) -> WebhookResponse {
    let event = match message::parse_pointer(body) {
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
    match hooks
        .queue
        .send(
            ORDERS_QUEUE,
            &event.pointer(POINTER_REASON),
            &BTreeMap::new(),
        )
        .await
    {
        Ok(message_id) => {
            tracing::info!(order_id = %event.order_id, %message_id, format = ?event.format, "order announcement enqueued");
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
