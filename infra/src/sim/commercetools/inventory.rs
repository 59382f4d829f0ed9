//! Inventory endpoints: query, create, get and update (`addQuantity`, `removeQuantity`,
//! `changeQuantity`). Reservations are not simulated: the reserved amount
//! (`quantityOnStock - availableQuantity`) stays as it is.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::query::paged_query;
use super::state::{SimState, Store, new_id, now_iso, parse_body, parse_update, versioned_update};

/// Fields the simulator can filter and sort inventory entries on.
const QUERY_FIELDS: [&str; 9] = [
    "id",
    "sku",
    "key",
    "supplyChannel",
    "supplyChannel.id",
    "quantityOnStock",
    "availableQuantity",
    "createdAt",
    "lastModifiedAt",
];

/// `GET /{project}/inventory?where=…`.
pub(crate) async fn query(
    State(state): State<Arc<SimState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let store = state.store();
    match paged_query(store.inventory.values(), &params, &QUERY_FIELDS) {
        Ok(page) => Json(page).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `GET /{project}/inventory/{id}` and `…/key={key}`.
pub(crate) async fn get(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
) -> Response {
    let store = state.store();
    match resolve(&store, &item) {
        Ok(id) => Json(store.inventory.get(&id).cloned()).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /{project}/inventory` with an InventoryEntryDraft; answers 201.
pub(crate) async fn create(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let result = parse_body(&body).and_then(|draft| create_entry(&mut state.store(), &draft));
    match result {
        Ok(entry) => (StatusCode::CREATED, Json(entry)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /{project}/inventory/{id}` (or `key=`) with `{version, actions}`.
pub(crate) async fn update(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = parse_update(&body).and_then(|(version, actions)| {
        let mut store = state.store();
        let id = resolve(&store, &item)?;
        apply_actions(&state, &mut store, &id, version, &actions)
    });
    match result {
        Ok(entry) => Json(entry).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Applies actions to a stored entry under optimistic concurrency; also used by the Rust-side
/// handle to play another writer.
pub(crate) fn apply_actions(
    state: &SimState,
    store: &mut Store,
    id: &str,
    version: i64,
    actions: &[Value],
) -> ApiResult<Value> {
    let entry = store
        .inventory
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found_id(id))?;
    versioned_update(state, entry, version, |copy| {
        actions.iter().try_for_each(|a| apply(copy, a))
    })
}

/// The stored entry of a (sku, supply channel) pair; `None` for the channel-less entry.
pub(crate) fn find_entry<'a>(
    store: &'a Store,
    sku: &str,
    channel_id: Option<&str>,
) -> Option<&'a Value> {
    store
        .inventory
        .values()
        .find(|e| e["sku"] == sku && e["supplyChannel"]["id"].as_str() == channel_id)
}

fn resolve(store: &Store, item: &str) -> ApiResult<String> {
    match item.strip_prefix("key=") {
        Some(key) => store
            .inventory
            .values()
            .find(|e| e["key"] == key)
            .and_then(|e| e["id"].as_str().map(str::to_owned))
            .ok_or_else(|| ApiError::not_found_key(key)),
        None if store.inventory.contains_key(item) => Ok(item.to_owned()),
        None => Err(ApiError::not_found_id(item)),
    }
}

/// Creates an entry from `{sku, quantityOnStock, key?, supplyChannel?, restockableInDays?,
/// expectedDelivery?}`; one entry per (sku, supply channel).
pub(crate) fn create_entry(store: &mut Store, draft: &Value) -> ApiResult<Value> {
    let sku = draft
        .get("sku")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("sku: Missing required value"))?;
    let quantity = draft
        .get("quantityOnStock")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid_json("quantityOnStock: Missing required value"))?;
    let channel_id = match draft.get("supplyChannel").filter(|v| !v.is_null()) {
        None => None,
        Some(reference) => {
            let id = reference
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    reference
                        .get("key")
                        .and_then(Value::as_str)
                        .and_then(|k| store.channel_keys.get(k).cloned())
                })
                .filter(|id| store.channels.contains_key(id))
                .ok_or_else(|| ApiError::referenced_not_found("channel", reference))?;
            Some(id)
        }
    };
    if find_entry(store, sku, channel_id.as_deref()).is_some() {
        // UNCONFIRMED: the code and field the real API reports for a second entry of a
        // (sku, supplyChannel) pair; DuplicateField is what setSupplyChannel documents.
        return Err(ApiError::duplicate_field("sku", &sku.into()));
    }
    let key = draft.get("key").and_then(Value::as_str);
    if let Some(key) = key
        && store.inventory.values().any(|e| e["key"] == key)
    {
        return Err(ApiError::duplicate_field("key", &key.into()));
    }
    let now = now_iso();
    let id = new_id();
    let mut entry = json!({
        "id": id, "version": 1, "sku": sku,
        "quantityOnStock": quantity, "availableQuantity": quantity,
        "createdAt": now, "lastModifiedAt": now,
    });
    if let Some(channel_id) = channel_id {
        entry["supplyChannel"] = json!({"typeId": "channel", "id": channel_id});
    }
    if let Some(key) = key {
        entry["key"] = key.into();
    }
    for field in ["restockableInDays", "expectedDelivery", "custom"] {
        if let Some(value) = draft.get(field).filter(|v| !v.is_null()) {
            entry[field] = value.clone();
        }
    }
    store.inventory.insert(id, entry.clone());
    Ok(entry)
}

/// One inventory update action.
fn apply(entry: &mut Value, action: &Value) -> ApiResult<()> {
    let name = action
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("actions: action: Missing required value"))?;
    let quantity = || {
        action
            .get("quantity")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                ApiError::invalid_json(format!("{name}: quantity: Missing required value"))
            })
    };
    let on_stock = entry["quantityOnStock"].as_i64().unwrap_or(0);
    let available = entry["availableQuantity"].as_i64().unwrap_or(on_stock);
    let reserved = on_stock - available;
    // removeQuantity may take stock below zero, as the API allows.
    let new_on_stock = match name {
        "addQuantity" => on_stock + quantity()?,
        "removeQuantity" => on_stock - quantity()?,
        "changeQuantity" => quantity()?,
        other => {
            return Err(ApiError::bad_request(
                "InvalidInput",
                format!("Unknown or unsimulated inventory update action '{other}'."),
            ));
        }
    };
    entry["quantityOnStock"] = new_on_stock.into();
    entry["availableQuantity"] = (new_on_stock - reserved).into();
    Ok(())
}
