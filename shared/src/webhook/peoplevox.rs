//! Peoplevox callbacks: `/webhooks/peoplevox/{token}/{event}`, GET (SubscribeEvent) or POST
//! (SubscribePostEvent). Peoplevox cannot sign a request or send a header, so the secret is a
//! path segment of the callback URL, compared in constant time.
//!
//! The parameters of each event are `subscriptions::events`'s, read as the callback URL's
//! `enc` says ([`callback_params`](super::callback_params)). A callback is accepted whenever
//! its key is there (the item code, the despatch number, the order number; for returns the
//! order number or the return code); everything else the flow can live without, and reads
//! from Peoplevox when it is missing. So a parameter left unfilled (still `{…}`) or unreadable
//! is counted ([`CallbackStats`]) and read as absent, never a 400; a callback without its key
//! is refused with 400 naming it, and counted: a placeholder a tenant renamed shows up there
//! first. A request refused before its parameters are read (wrong token, unknown event,
//! method, size) is counted too: after a token rotation that Peoplevox's subscriptions missed,
//! every callback is a 401, and the `CallbacksRefused` metric is where that shows.

use std::collections::BTreeMap;

use super::auth::secret_matches;
use super::callback_params::{CallbackParams, Field, Value, parse_whole};
use super::{WebhookRequest, WebhookResponse, Webhooks};
use crate::domain::{ShipmentMessage, Sku, StatusMessage, StockMessage};
use crate::queues::{SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::store::now_epoch_ms;
use crate::subscriptions::events::{self, EventSpec, Family, SITE_PARAM};

/// Path prefix of Peoplevox callbacks; the token and the event follow.
pub const PEOPLEVOX_PREFIX: &str = "/webhooks/peoplevox/";

/// The stock event kinds a callback path may name (the despatch ones are
/// [`crate::domain::SHIPMENT_EVENTS`]).
pub const STOCK_EVENTS: [&str; 2] = ["availability", "incremental"];

/// What the webhook met in Peoplevox callbacks since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackStats {
    /// Callbacks refused with 400 (no key, cut short, unreadable).
    pub refused: u64,
    /// Requests refused before their parameters were read: wrong token (401), unknown event
    /// (404), method (405), body over the limit (413).
    pub rejected: u64,
    /// Optional parameters left unfilled (`{…}`): read as absent.
    pub unfilled: u64,
    /// Optional parameters whose value could not be read (not a number, not a flag): read as
    /// absent.
    pub unreadable: u64,
    /// Values that may not read as Peoplevox meant them (raw `%XX`, or not encoded as
    /// declared).
    pub ambiguous: u64,
}

/// Why a request on the callback route was refused before its parameters were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// The path's token is not the callback token (401).
    Token,
    /// No such callback event (404).
    Event,
    /// Neither GET nor POST (405).
    Method,
    /// The body is over `webhook.max_body_bytes` (413).
    TooLarge,
}

impl Rejection {
    /// The metric counting this kind, next to `CallbacksRefused`.
    fn metric(self) -> &'static str {
        match self {
            Rejection::Token => "CallbacksWrongToken",
            Rejection::Event => "CallbacksUnknownEvent",
            Rejection::Method => "CallbacksWrongMethod",
            Rejection::TooLarge => "CallbacksTooLarge",
        }
    }
}

/// The metric line (CloudWatch EMF, see [`crate::metrics`]) of one rejected request: one
/// `CallbacksRefused`, as a callback refused with 400 counts, and one of its kind.
pub(crate) fn rejection_line(kind: Rejection) -> String {
    crate::metrics::emf_line(
        "webhook",
        &[
            ("CallbacksRefused", 1.0, "Count"),
            (kind.metric(), 1.0, "Count"),
        ],
    )
}

/// What one callback taught, for the counters and the metric line.
#[derive(Debug, Default)]
struct Notes {
    unfilled: Vec<String>,
    unreadable: Vec<String>,
    ambiguous: Vec<String>,
}

/// Answers a request under [`PEOPLEVOX_PREFIX`]; `rest` is the path after it.
pub(super) async fn accept(
    hooks: &Webhooks,
    rest: &str,
    req: &WebhookRequest<'_>,
) -> WebhookResponse {
    let (token, event) = rest.split_once('/').unwrap_or((rest, ""));
    // Authentication first: nothing about the route or body is revealed without the token.
    if !secret_matches(token, &hooks.pvx_callback_token) {
        hooks.record_rejection(Rejection::Token);
        return WebhookResponse::error(401, "unknown callback token");
    }
    let Some(spec) = events::spec(event) else {
        hooks.record_rejection(Rejection::Event);
        return WebhookResponse::error(
            404,
            "no such callback event (availability, incremental, tracking, package-tracking, package-despatched, status, returns)",
        );
    };
    if !(req.method.eq_ignore_ascii_case("GET") || req.method.eq_ignore_ascii_case("POST")) {
        hooks.record_rejection(Rejection::Method);
        return WebhookResponse::error(405, "use GET or POST");
    }
    if let Some(refused) = hooks.too_large(req.body) {
        hooks.record_rejection(Rejection::TooLarge);
        return refused;
    }
    let mut notes = Notes::default();
    let normalised =
        CallbackParams::collect(spec, req.query, req.content_type, req.body).and_then(|p| {
            let mut read = Reader {
                params: &p,
                notes: &mut notes,
            };
            match spec.family {
                Family::Stock => Ok((STOCK_QUEUE, stock_message(spec, &mut read)?.to_json())),
                Family::Status => Ok((STATUS_QUEUE, status_message(spec, &mut read)?.to_json())),
                Family::Shipment => Ok((
                    SHIPMENTS_QUEUE,
                    shipment_message(spec, &mut read)?.to_json(),
                )),
            }
        });
    let refused = normalised.as_ref().err().cloned();
    hooks.record_callback(event, &notes, refused.as_deref());
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

impl Webhooks {
    /// Counts a request refused before its parameters were read and, where the deployment
    /// asks for it, writes its metric line. Neither the token nor the event named is logged:
    /// both come from a caller that may not hold the token.
    fn record_rejection(&self, kind: Rejection) {
        use std::sync::atomic::Ordering::Relaxed;
        self.callback_stats.rejected.fetch_add(1, Relaxed);
        tracing::info!(?kind, "Peoplevox callback refused");
        if self.emit_metrics {
            println!("{}", rejection_line(kind));
        }
    }

    /// Counts what a callback taught and, where the deployment asks for it, writes the metric
    /// line (CloudWatch EMF, see [`crate::metrics`]).
    fn record_callback(&self, event: &str, notes: &Notes, refused: Option<&str>) {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = &self.callback_stats;
        let count = |n: usize| n as u64;
        stats
            .refused
            .fetch_add(u64::from(refused.is_some()), Relaxed);
        stats
            .unfilled
            .fetch_add(count(notes.unfilled.len()), Relaxed);
        stats
            .unreadable
            .fetch_add(count(notes.unreadable.len()), Relaxed);
        stats
            .ambiguous
            .fetch_add(count(notes.ambiguous.len()), Relaxed);
        let anything = refused.is_some()
            || !notes.unfilled.is_empty()
            || !notes.unreadable.is_empty()
            || !notes.ambiguous.is_empty();
        if !anything {
            return;
        }
        tracing::info!(
            event,
            unfilled = ?notes.unfilled,
            unreadable = ?notes.unreadable,
            ambiguous = ?notes.ambiguous,
            refused = refused.unwrap_or(""),
            "Peoplevox callback incomplete"
        );
        if self.emit_metrics {
            println!(
                "{}",
                crate::metrics::emf_line(
                    "webhook",
                    &[
                        (
                            "CallbacksRefused",
                            f64::from(u8::from(refused.is_some())),
                            "Count"
                        ),
                        (
                            "CallbackValuesUnfilled",
                            notes.unfilled.len() as f64,
                            "Count"
                        ),
                        (
                            "CallbackValuesUnreadable",
                            notes.unreadable.len() as f64,
                            "Count"
                        ),
                        (
                            "CallbackValuesAmbiguous",
                            notes.ambiguous.len() as f64,
                            "Count"
                        ),
                    ],
                )
            );
        }
    }
}

/// Reads parameters, noting what is missing or doubtful.
struct Reader<'a> {
    params: &'a CallbackParams,
    notes: &'a mut Notes,
}

impl Reader<'_> {
    /// An optional value: absent or unfilled is `None` (unfilled is noted).
    fn optional(&mut self, name: &str) -> Option<Value> {
        match self.params.field(name) {
            Field::Absent => None,
            Field::Unfilled(_) => {
                self.notes.unfilled.push(name.to_string());
                None
            }
            Field::Present(v) => {
                if v.ambiguous {
                    self.notes.ambiguous.push(name.to_string());
                }
                Some(Value {
                    text: v.text.chars().filter(|c| !c.is_control()).collect(),
                    ambiguous: v.ambiguous,
                    plus_as_space: v.plus_as_space,
                })
            }
        }
    }

    /// An optional text.
    fn text(&mut self, name: &str) -> Option<String> {
        self.optional(name).map(|v| v.text)
    }

    /// An optional value read by `parse`; one that does not parse is noted and absent.
    fn parsed<T>(&mut self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let value = self.optional(name)?;
        let parsed = parse(&value.text);
        if parsed.is_none() {
            self.notes.unreadable.push(name.to_string());
        }
        parsed
    }

    /// The key: present, or the callback is refused naming it.
    fn key(&mut self, name: &str, what: &str) -> Result<Value, String> {
        match self.params.field(name) {
            Field::Present(v) if v.text.chars().any(char::is_control) => Err(format!(
                "parameter `{name}` ({what}) contains control characters"
            )),
            Field::Present(v) => {
                if v.ambiguous {
                    self.notes.ambiguous.push(name.to_string());
                }
                Ok(v.clone())
            }
            Field::Absent => Err(format!("parameter `{name}` ({what}) is missing")),
            Field::Unfilled(p) => Err(format!(
                "parameter `{name}` ({what}) still holds the placeholder {p}: Peoplevox did not fill it in (a placeholder this tenant does not know? set subscriptions.parameters)"
            )),
        }
    }
}

/// A stock callback as a stock message stamped with its receipt time, or why it is refused.
/// A figure is passed on only with its site and an item code read without doubt; otherwise
/// the callback becomes a hint the flow re-reads ([`StockMessage::Changed`]).
fn stock_message(spec: &EventSpec, read: &mut Reader<'_>) -> Result<StockMessage, String> {
    let item = read.key("item", "the item code")?;
    let sku = Sku::parse(&item.text)
        .map_err(|e| format!("parameter `item`: {e}"))?
        .as_str()
        .to_string();
    let site = read.text(SITE_PARAM);
    let id = uuid::Uuid::new_v4().to_string();
    let received_at_ms = now_epoch_ms();
    let hint = |site: Option<String>, why: &str| StockMessage::Changed {
        id: id.clone(),
        site,
        item: sku.clone(),
        event: spec.event.to_string(),
        why: why.to_string(),
        received_at_ms,
    };
    // An item code that may not be the one Peoplevox meant only makes the flow re-read it.
    let doubtful = item.ambiguous || item.plus_as_space;
    if spec.event == "availability" {
        let available = read.parsed("available", parse_whole);
        return Ok(match (site, available) {
            (Some(site), _) if doubtful => hint(Some(site), "item code read with doubt"),
            (Some(site), Some(available)) => StockMessage::Available {
                id,
                site,
                item: sku,
                available,
                received_at_ms,
            },
            (Some(site), None) => hint(Some(site), "no figure"),
            (None, _) => hint(None, "no site"),
        });
    }
    let changed = read.parsed("changed", parse_whole);
    let update_timestamp = read.text("ts");
    let reason = read.text("reason");
    Ok(match (site, changed) {
        (Some(site), Some(quantity_changed)) if !doubtful => StockMessage::Moved {
            id,
            site,
            item: sku,
            quantity_changed,
            update_timestamp,
            reason,
            received_at_ms,
        },
        (site, _) => hint(site, "a movement without its site or quantity"),
    })
}

/// A despatch callback as a shipment message keyed by despatch number.
fn shipment_message(spec: &EventSpec, read: &mut Reader<'_>) -> Result<ShipmentMessage, String> {
    let despatch = read.key("despatch", "the despatch number")?.text;
    if despatch.chars().count() > 100 {
        return Err("parameter `despatch` is longer than 100 characters".into());
    }
    Ok(ShipmentMessage {
        id: uuid::Uuid::new_v4().to_string(),
        event: spec.event.to_string(),
        despatch,
        order: read.text("order"),
        tracking: read.text("tracking"),
        package: read.text("package"),
        carrier: read.text("carrier"),
        service: read.text("service"),
        service_code: read.text("service_code"),
        received_at_ms: now_epoch_ms(),
    })
}

/// A status or returns callback as a status message.
fn status_message(spec: &EventSpec, read: &mut Reader<'_>) -> Result<StatusMessage, String> {
    let id = uuid::Uuid::new_v4().to_string();
    let received_at_ms = now_epoch_ms();
    if spec.event == "returns" {
        let order = read.text("order");
        let return_code = read.text("return");
        if order.is_none() && return_code.is_none() {
            // Either keys a return; name what was wrong with both.
            let why = read
                .key("order", "the order number")
                .err()
                .unwrap_or_default();
            return Err(format!(
                "{why}; and parameter `return` (the return code) is missing or unfilled"
            ));
        }
        return Ok(StatusMessage::PeoplevoxReturn {
            id,
            order,
            return_code,
            received_at_ms,
        });
    }
    let order = read.key("order", "the sales order number")?.text;
    if order.chars().count() > 30 {
        return Err("parameter `order` is longer than 30 characters".into());
    }
    let status = read.parsed("status", |s| {
        (s.chars().count() <= 100).then(|| s.to_string())
    });
    let on_hold = read.parsed("onhold", |v| {
        if v.eq_ignore_ascii_case("true") || v == "1" {
            Some(true)
        } else if v.eq_ignore_ascii_case("false") || v == "0" {
            Some(false)
        } else {
            None
        }
    });
    Ok(StatusMessage::PeoplevoxStatus {
        id,
        order,
        status,
        modified: read.text("modified"),
        on_hold,
        received_at_ms,
    })
}
