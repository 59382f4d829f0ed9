//! The sandbox's control API: the warehouse acts (pick, status, despatch, stock) and the
//! storefront places orders, each firing what the real system would (Peoplevox's callbacks,
//! commercetools' OrderCreated message). `ctpvx sim order|pick|status|despatch|stock` call it;
//! so can `curl`. An order, a despatch and a stock movement then wait (up to [`EFFECT_WAIT`])
//! for their effect in the other system, and say what it was: the sales order in Peoplevox,
//! the delivery in commercetools, the inventory entry's new figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::scenario;
use crate::sim::peoplevox::{DespatchPlan, PackagePlan};
use crate::testbed::{DEMO_WEBHOOK_TOKEN, Testbed};

/// The storefront places an order: the sandbox's generated order, or one line of `sku`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OrderRequest {
    /// One line of this SKU instead of the generated lines.
    pub sku: Option<String>,
    /// Units of `sku` (1).
    pub quantity: Option<u32>,
}

/// The warehouse sets a sales order's status, e.g. `Backorder`, `Packed`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusRequest {
    /// The new status text.
    pub status: String,
}

/// The warehouse despatches everything an order has left, in one parcel.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DespatchRequest {
    /// Carrier (`Royal Mail`).
    pub carrier: Option<String>,
    /// Service (`Tracked 24`).
    pub service: Option<String>,
    /// The parcel's tracking number (`TRK` + the order number).
    pub tracking: Option<String>,
}

/// Stock moves at a site: goods in (a positive delta) or an adjustment (negative).
#[derive(Debug, Serialize, Deserialize)]
pub struct StockRequest {
    /// Peoplevox site, e.g. `UK-DC`.
    pub site: String,
    /// Item code.
    pub sku: String,
    /// Units added (positive) or taken away (negative).
    pub delta: i64,
}

/// What an action did, or why it was refused.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActionReply {
    /// One line for a person.
    pub message: String,
}

type Reply = (StatusCode, Json<ActionReply>);

/// How long an action waits for its effect in the other system: `ctpvx serve` exports within
/// a budget window or two, and books callbacks within a second or so.
pub const EFFECT_WAIT: Duration = Duration::from_secs(60);

fn reply(status: StatusCode, message: impl Into<String>) -> Reply {
    (
        status,
        Json(ActionReply {
            message: message.into(),
        }),
    )
}

/// The likely cause when a callback's effect never shows.
const NOT_FLOWING: &str = "is `ctpvx serve` running, and `ctpvx subscribe` done?";

/// Polls `seen` until it gives something or [`EFFECT_WAIT`] is over, and says so: `found`
/// with what it gave and the seconds it took, else `missing` with the seconds waited.
async fn report<T>(
    mut seen: impl FnMut() -> Option<T>,
    found: impl FnOnce(T, &str) -> String,
    missing: impl FnOnce(&str) -> String,
) -> String {
    let started = Instant::now();
    loop {
        let secs = || format!("{:.1} s", started.elapsed().as_secs_f64());
        if let Some(value) = seen() {
            return found(value, &secs());
        }
        if started.elapsed() >= EFFECT_WAIT {
            return missing(&secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The control API's state.
pub struct Control {
    bed: Arc<Testbed>,
    catalog: Vec<String>,
    next_order: AtomicUsize,
    serve_url: String,
    http: reqwest::Client,
}

impl Control {
    /// Over `bed`; orders are numbered from scenario index `next_order`, and their
    /// OrderCreated goes to the webhook server at `serve_url`.
    pub fn new(
        bed: Arc<Testbed>,
        catalog: Vec<String>,
        next_order: usize,
        serve_url: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            bed,
            catalog,
            next_order: AtomicUsize::new(next_order),
            serve_url,
            http: reqwest::Client::new(),
        })
    }
}

/// The routes.
pub fn router(control: Arc<Control>) -> Router {
    Router::new()
        .route("/", get(|| async { "ctpvx sandbox control API\n" }))
        .route("/orders", post(place_order))
        .route("/warehouse/orders/{number}/pick", post(pick))
        .route("/warehouse/orders/{number}/status", post(set_status))
        .route("/warehouse/orders/{number}/despatch", post(despatch))
        .route("/warehouse/stock", post(move_stock))
        .with_state(control)
}

/// A body that may be left out (`curl -X POST URL`): its defaults then.
fn or_default<T: Default>(body: Option<Json<T>>) -> T {
    body.map(|Json(t)| t).unwrap_or_default()
}

async fn place_order(State(c): State<Arc<Control>>, body: Option<Json<OrderRequest>>) -> Reply {
    let req = or_default(body);
    let i = c.next_order.fetch_add(1, Ordering::SeqCst);
    let mut order = c.bed.order(i, &c.catalog);
    if let Some(sku) = &req.sku {
        let mut line = order["lineItems"][0].clone();
        line["variant"]["sku"] = sku.as_str().into();
        line["quantity"] = req.quantity.unwrap_or(1).into();
        order["lineItems"] = serde_json::json!([line]);
    }
    let number = scenario::order_number(i);
    if let Err(e) = c.bed.ct.insert_order_json(order.clone()) {
        return reply(
            StatusCode::BAD_REQUEST,
            format!("commercetools refused {number}: {e:#}"),
        );
    }
    // What the merchant's commercetools Subscription delivers.
    let sent = c
        .http
        .post(format!(
            "{}{}",
            c.serve_url,
            ctpvx_shared::webhook::ORDERS_PATH
        ))
        .bearer_auth(DEMO_WEBHOOK_TOKEN)
        .body(scenario::platform_message(&order, &format!("sim-{i}")))
        .send()
        .await;
    let placed = format!("order {number} placed in commercetools");
    let taken = match sent {
        Ok(r) if r.status().is_success() => r.status().as_u16(),
        Ok(r) => {
            let status = r.status().as_u16();
            let msg = format!("{placed}; ctpvx serve answered its OrderCreated with HTTP {status}");
            return reply(StatusCode::OK, msg);
        }
        Err(_) => {
            let msg = format!(
                "{placed}; nothing listens at {} for its OrderCreated: start `ctpvx serve`, or `ctpvx reconcile` exports it later",
                c.serve_url
            );
            return reply(StatusCode::OK, msg);
        }
    };
    let exported = report(
        || c.bed.pvx.sales_order(&number),
        |order, took| format!("in Peoplevox at {} after {took}", order.site),
        |waited| {
            format!("not in Peoplevox after {waited} (held? see `ctpvx audit order {number}`)")
        },
    )
    .await;
    reply(
        StatusCode::OK,
        format!("{placed}; OrderCreated taken by ctpvx serve (HTTP {taken}); {exported}"),
    )
}

/// The status of an order Peoplevox has; else a refusal saying how it gets there.
fn known(c: &Control, number: &str) -> Result<String, Reply> {
    if let Some(status) = c.bed.pvx.order_status(number) {
        return Ok(status);
    }
    Err(reply(
        StatusCode::NOT_FOUND,
        format!(
            "Peoplevox has no sales order {number} (yet): ctpvx exports an order when `ctpvx serve` receives its OrderCreated, or when `ctpvx reconcile` finds it"
        ),
    ))
}

async fn pick(State(c): State<Arc<Control>>, Path(number): Path<String>) -> Reply {
    let status = match known(&c, &number) {
        Ok(status) => status,
        Err(refused) => return refused,
    };
    if ["Cancelled", "Despatched", "Partially despatched"]
        .iter()
        .any(|done| status.eq_ignore_ascii_case(done))
    {
        return reply(
            StatusCode::CONFLICT,
            format!("{number} is {status}: nothing to pick"),
        );
    }
    c.bed.pvx.set_order_status(&number, "Picking");
    let units = c.bed.pvx.pick_order(&number);
    reply(
        StatusCode::OK,
        format!("{number}: status Picking, {units} units picked"),
    )
}

async fn set_status(
    State(c): State<Arc<Control>>,
    Path(number): Path<String>,
    Json(req): Json<StatusRequest>,
) -> Reply {
    if let Err(refused) = known(&c, &number) {
        return refused;
    }
    let changed = c.bed.pvx.set_order_status(&number, &req.status);
    let what = if changed { "now" } else { "already" };
    reply(
        StatusCode::OK,
        format!("{number}: status {what} {}", req.status),
    )
}

async fn despatch(
    State(c): State<Arc<Control>>,
    Path(number): Path<String>,
    body: Option<Json<DespatchRequest>>,
) -> Reply {
    let req = or_default(body);
    if let Err(refused) = known(&c, &number) {
        return refused;
    }
    let tracking = req.tracking.unwrap_or_else(|| format!("TRK{number}"));
    let plan = DespatchPlan::everything(
        req.carrier.unwrap_or_else(|| "Royal Mail".into()),
        req.service.unwrap_or_else(|| "Tracked 24".into()),
        vec![PackagePlan::tracked(tracking.clone())],
    );
    let d = match c.bed.pvx.despatch(&number, plan) {
        Ok(d) => d,
        Err(e) => return reply(StatusCode::CONFLICT, format!("{number}: {e:#}")),
    };
    let despatched = format!(
        "{number}: despatch {} from {} by {} ({}), tracking {tracking}",
        d.number, d.site, d.carrier, d.service
    );
    // What the shipment flow books: a delivery keyed by the despatch, its parcel tracked.
    let key = format!("pvx-{}", d.number);
    let booked = report(
        || {
            let order = c.bed.ct.orders_by_number().remove(&number)?;
            let delivery = order
                .deliveries()
                .find(|d| d["key"] == key.as_str())?
                .clone();
            let tracked = delivery["parcels"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["trackingData"]["trackingId"] == tracking.as_str())
            });
            tracked.then_some(())
        },
        |(), took| {
            format!("commercetools shows delivery {key} with its tracking number after {took}")
        },
        |waited| format!("no delivery {key} in commercetools after {waited} ({NOT_FLOWING})"),
    )
    .await;
    reply(StatusCode::OK, format!("{despatched}; {booked}"))
}

async fn move_stock(State(c): State<Arc<Control>>, Json(req): Json<StockRequest>) -> Reply {
    let Some(channel) = c.bed.site_channels.get(&req.site) else {
        let sites: Vec<&String> = c.bed.site_channels.keys().collect();
        return reply(
            StatusCode::NOT_FOUND,
            format!("no site {:?}; the sandbox's sites are {sites:?}", req.site),
        );
    };
    if req.delta == 0 {
        return reply(StatusCode::BAD_REQUEST, "a delta of 0 moves nothing");
    }
    if c.bed.pvx.stock(&req.site, &req.sku).is_none() {
        return reply(
            StatusCode::NOT_FOUND,
            format!("Peoplevox has no item {:?} at {}", req.sku, req.site),
        );
    }
    // Read before the movement: its callbacks may be booked before the movement returns.
    let before = c
        .bed
        .ct
        .inventory_entry(&req.sku, Some(channel))
        .map(|e| (e.version, e.quantity_on_stock));
    let applied = if req.delta > 0 {
        c.bed.pvx.goods_in(&req.site, &req.sku, req.delta);
        req.delta
    } else {
        c.bed
            .pvx
            .adjust(&req.site, &req.sku, req.delta, "Stock count")
    };
    let now = c
        .bed
        .pvx
        .stock(&req.site, &req.sku)
        .map_or(0, |s| s.available);
    let moved = format!(
        "{} at {}: {applied:+} units, {now} available in Peoplevox",
        req.sku, req.site
    );
    if applied == 0 {
        return reply(StatusCode::OK, format!("{moved} (nothing left to take)"));
    }
    let written = report(
        || {
            let entry = c.bed.ct.inventory_entry(&req.sku, Some(channel))?;
            (Some((entry.version, entry.quantity_on_stock)) != before)
                .then_some(entry.quantity_on_stock)
        },
        |quantity, took| {
            format!(
                "commercetools shows {quantity} on stock at {}'s channel after {took}",
                req.site
            )
        },
        |waited| format!("commercetools' entry unchanged after {waited} ({NOT_FLOWING})"),
    )
    .await;
    reply(StatusCode::OK, format!("{moved}; {written}"))
}
