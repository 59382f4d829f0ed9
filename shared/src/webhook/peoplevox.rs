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
//!   `order=…` (or `SalesOrderNumber`), `tracking={TrackingNumber}`, `package=…`.

use std::collections::BTreeMap;

use super::auth::secret_matches;
use super::callback_params::CallbackParams;
use super::{WebhookRequest, WebhookResponse, Webhooks};
use crate::domain::{SHIPMENT_EVENTS, ShipmentMessage, Sku, StockMessage};
use crate::queues::{SHIPMENTS_QUEUE, STOCK_QUEUE};
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
    let known = STOCK_EVENTS.contains(&event) || SHIPMENT_EVENTS.iter().any(|(e, _)| *e == event);
    if !known {
        return WebhookResponse::error(
            404,
            "no such callback event (availability, incremental, tracking, package-tracking, package-despatched)",
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
