//! Order endpoints: get by id or `order-number=`, query, and update.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{ApiError, ApiResult};
use super::order_actions;
use super::query::paged_query;
use super::state::{SimState, Store, parse_update, versioned_update};

/// Fields the simulator can filter and sort orders on.
const QUERY_FIELDS: [&str; 14] = [
    "id",
    "orderNumber",
    "createdAt",
    "lastModifiedAt",
    "orderState",
    "shipmentState",
    "paymentState",
    "customerId",
    "version",
    "syncInfo.channel.id",
    "lineItems.variant.sku",
    "lineItems.quantity",
    "lineItems.supplyChannel.id",
    "shippingInfo.deliveries.id",
];

/// The id of the order a path segment names: `{id}` or `order-number={n}` (already decoded).
fn resolve(store: &Store, item: &str) -> ApiResult<String> {
    match item.strip_prefix("order-number=") {
        Some(number) => store
            .order_numbers
            .get(number)
            .cloned()
            .ok_or_else(|| ApiError::not_found_key(number)),
        None if store.orders.contains_key(item) => Ok(item.to_owned()),
        None => Err(ApiError::not_found_id(item)),
    }
}

/// `GET /{project}/orders/{id}` and `GET /{project}/orders/order-number={n}`.
pub(crate) async fn get(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
) -> Response {
    let store = state.store();
    match resolve(&store, &item) {
        Ok(id) => Json(store.orders.get(&id).cloned()).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `GET /{project}/orders?where=…`.
pub(crate) async fn query(
    State(state): State<Arc<SimState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let store = state.store();
    match paged_query(store.orders.values(), &params, &QUERY_FIELDS) {
        Ok(page) => Json(page).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /{project}/orders/{id}` and `POST /{project}/orders/order-number={n}` with
/// `{version, actions}`: all actions apply, or none.
pub(crate) async fn update(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    match update_order(&state, &item, &body) {
        Ok(order) => Json(order).into_response(),
        Err(err) => err.into_response(),
    }
}

fn update_order(state: &SimState, item: &str, body: &[u8]) -> ApiResult<Value> {
    let (version, actions) = parse_update(body)?;
    let mut store = state.store();
    let id = resolve(&store, item)?;
    apply_actions(state, &mut store, &id, version, &actions)
}

/// Applies actions to a stored order under optimistic concurrency; also used by the Rust-side
/// handle to play a concurrent writer.
pub(crate) fn apply_actions(
    state: &SimState,
    store: &mut Store,
    id: &str,
    version: i64,
    actions: &[Value],
) -> ApiResult<Value> {
    // The order leaves the map while it changes, so that the actions can read the rest of the store.
    let mut order = store
        .orders
        .remove(id)
        .ok_or_else(|| ApiError::not_found_id(id))?;
    let result = versioned_update(state, &mut order, version, |copy| {
        actions
            .iter()
            .try_for_each(|action| order_actions::apply(store, copy, action))
    });
    store.orders.insert(id.to_owned(), order);
    result
}
