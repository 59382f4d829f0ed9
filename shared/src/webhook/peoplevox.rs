//! Peoplevox callbacks: `/webhooks/peoplevox/{token}/{event}`, GET (SubscribeEvent) or POST
//! (SubscribePostEvent). Peoplevox cannot sign a request or send a header, so the secret is a
//! path segment of the callback URL, compared in constant time.
//!
//! Parameters (the callback URLs `ctpvx subscribe` registers):
//! - `availability`: `site` (static, one subscription per site), `item={ItemCode}`,
//!   `available={Available}`;
//! - `incremental`: `site`, `item={ItemType.ItemCode}`, `changed={QuantityChanged}`, optional
//!   `ts={UpdateTimestamp}` and `reason={Reason}`;
//! - `tracking`, `package-tracking`, `package-despatched`: `despatch={DespatchNumber}`, optional
//!   `order=…` (or `SalesOrderNumber`), `tracking={TrackingNumber}`, `package=…`;
//! - `status`: `order={SalesOrderNumber}`, `status={SalesOrderStatus.Name}` (or Peoplevox's own
//!   names, under either spelling), optional `modified={LastModificationTime}` and
//!   `onhold={OnHold}`;
//! - `returns`: `order={SalesOrderNumber}` and/or `return={ReturnCode}` (UNCONFIRMED
//!   placeholders: the flow reads the return report either way).

use std::collections::BTreeMap;

use super::auth::secret_matches;
use super::callback_params::CallbackParams;
use super::{WebhookRequest, WebhookResponse, Webhooks};
use crate::domain::{
    SHIPMENT_EVENTS, STATUS_EVENTS, ShipmentMessage, Sku, StatusMessage, StockMessage,
};
use crate::queues::{SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::store::now_epoch_ms;

/// Path prefix of Peoplevox callbacks; the token and the event follow.
pub const PEOPLEVOX_PREFIX: &str = "/webhooks/peoplevox/";

/// The stock event kinds a callback path may name (the despatch ones are
/// [`SHIPMENT_EVENTS`]).
pub const STOCK_EVENTS: [&str; 2] = ["availability", "incremental"];

/// Answers a request under [`PEOPLEVOX_PREFIX`]; `rest` is the path after it.
pub(super) async fn accept(
    hooks: &Webhooks,
    rest: &str,
    req: &WebhookRequest<'_>,
) -> WebhookResponse {
    let (token, event) = rest.split_once('/').unwrap_or((rest, ""));
    // Authentication first: nothing about the route or body is revealed without the token.
    if !secret_matches(token, &hooks.pvx_callback_token) {
        return WebhookResponse::error(401, "unknown callback token");
    }
    let is_status = STATUS_EVENTS.iter().any(|(e, _)| *e == event);
    let known = STOCK_EVENTS.contains(&event)
        || SHIPMENT_EVENTS.iter().any(|(e, _)| *e == event)
        || is_status;
    if !known {
        return WebhookResponse::error(
            404,
            "no such callback event (availability, incremental, tracking, package-tracking, package-despatched, status, returns)",
        );
    }
    if !(req.method.eq_ignore_ascii_case("GET") || req.method.eq_ignore_ascii_case("POST")) {
        return WebhookResponse::error(405, "use GET or POST");
    }
    if let Some(refused) = hooks.too_large(req.body) {
        return refused;
    }
    let normalised = CallbackParams::collect(req.query, req.content_type, req.body).and_then(|p| {
        p.check_substituted()?;
        if STOCK_EVENTS.contains(&event) {
            Ok((STOCK_QUEUE, stock_message(event, &p)?.to_json()))
        } else if is_status {
            Ok((STATUS_QUEUE, status_message(event, &p)?.to_json()))
        } else {
            Ok((SHIPMENTS_QUEUE, shipment_message(event, &p)?.to_json()))
        }
    });
    let (queue, body) = match normalised {
        Ok(message) => message,
        Err(reason) => {
            tracing::info!(event, %reason, "Peoplevox callback refused");
            return WebhookResponse::error(400, &reason);
        }
    };
    match hooks.queue.send(queue, &body, &BTreeMap::new()).await {
        Ok(message_id) => {
            tracing::debug!(event, queue, %message_id, "Peoplevox event enqueued");
            WebhookResponse::json(
                202,
                serde_json::json!({ "status": "accepted", "messageId": message_id }),
            )
        }
        Err(e) => {
            tracing::error!(event, error = %e, "enqueue failed");
            WebhookResponse::error(503, "could not enqueue; retry later")
        }
    }
}

/// A stock callback as a stock message stamped with its receipt time, or why it is refused.
fn stock_message(event: &str, params: &CallbackParams) -> Result<StockMessage, String> {
    let site = params.text("site")?;
    let item = Sku::parse(&params.text("item")?)
        .map_err(|e| format!("parameter `item`: {e}"))?
        .as_str()
        .to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let received_at_ms = now_epoch_ms();
    Ok(match event {
        "availability" => StockMessage::Available {
            id,
            site,
            item,
            available: params.whole_number("available")?,
            received_at_ms,
        },
        _ => StockMessage::Moved {
            id,
            site,
            item,
            quantity_changed: params.whole_number("changed")?,
            update_timestamp: params.optional("ts"),
            reason: params.optional("reason"),
            received_at_ms,
        },
    })
}

/// A despatch callback as a shipment message keyed by despatch number. The order number may
/// come as `order` or as Peoplevox's own name for it.
fn shipment_message(event: &str, params: &CallbackParams) -> Result<ShipmentMessage, String> {
    let despatch = params.text("despatch")?;
    if despatch.chars().count() > 100 {
        return Err("parameter `despatch` is longer than 100 characters".into());
    }
    let order = ["order", "SalesOrderNumber", "SalesOrder.SalesOrderNumber"]
        .iter()
        .find_map(|name| params.optional(name));
    Ok(ShipmentMessage {
        id: uuid::Uuid::new_v4().to_string(),
        event: event.to_string(),
        despatch,
        order,
        tracking: params.optional("tracking"),
        package: params.optional("package"),
        received_at_ms: now_epoch_ms(),
    })
}

/// A status or returns callback as a status message. The order number may come as `order` or
/// under Peoplevox's own name; the status as `status` or `SalesOrderStatus.Name`.
fn status_message(event: &str, params: &CallbackParams) -> Result<StatusMessage, String> {
    let order = ["order", "SalesOrderNumber", "SalesOrder.SalesOrderNumber"]
        .iter()
        .find_map(|name| params.optional(name));
    let id = uuid::Uuid::new_v4().to_string();
    let received_at_ms = now_epoch_ms();
    if event == "returns" {
        let return_code = ["return", "ReturnCode"]
            .iter()
            .find_map(|name| params.optional(name));
        if order.is_none() && return_code.is_none() {
            return Err("parameter `order` or `return` is required".into());
        }
        return Ok(StatusMessage::PeoplevoxReturn {
            id,
            order,
            return_code,
            received_at_ms,
        });
    }
    let order = order.ok_or("parameter `order` is missing")?;
    if order.chars().count() > 30 {
        return Err("parameter `order` is longer than 30 characters".into());
    }
    let status = ["status", "SalesOrderStatus.Name", "SalesOrderStatus"]
        .iter()
        .find_map(|name| params.optional(name))
        .ok_or("parameter `status` is missing")?;
    if status.chars().count() > 100 {
        return Err("parameter `status` is longer than 100 characters".into());
    }
    let on_hold = match ["onhold", "OnHold"].iter().find_map(|n| params.optional(n)) {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Some(false),
        Some(v) => return Err(format!("parameter `onhold` is not true or false: `{v}`")),
    };
    Ok(StatusMessage::PeoplevoxStatus {
        id,
        order,
        status,
        modified: ["modified", "LastModificationTime"]
            .iter()
            .find_map(|n| params.optional(n)),
        on_hold,
        received_at_ms,
    })
}
