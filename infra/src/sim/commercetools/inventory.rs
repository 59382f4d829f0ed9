//! Inventory endpoints: query, create, get and update (`addQuantity`, `removeQuantity`,
//! `changeQuantity`). Reservations are not simulated: the reserved amount
//! (`quantityOnStock - availableQuantity`) stays as it is. The handlers are the shared ones of
//! [`resource`](super::resource).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::resource::{Create, Resource, reference_id};
use super::state::{Store, new_id, now_iso};

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

/// Inventory entries, named by id or `key={key}`.
pub(crate) struct Inventory;

impl Resource for Inventory {
    const QUERY_FIELDS: &'static [&'static str] = &QUERY_FIELDS;

    fn map(store: &Store) -> &BTreeMap<String, Value> {
        &store.inventory
    }

    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value> {
        &mut store.inventory
    }

    fn id_by_alias(store: &Store, key: &str) -> Option<String> {
        store
            .inventory
            .values()
            .find(|e| e["key"] == key)
            .and_then(|e| e["id"].as_str().map(str::to_owned))
    }

    fn apply(_store: &Store, entry: &mut Value, action: &Value) -> ApiResult<()> {
        apply(entry, action)
    }
}

impl Create for Inventory {
    fn create(store: &mut Store, draft: &Value) -> ApiResult<Value> {
        create_entry(store, draft)
    }
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
            let id = reference_id(reference, &store.channel_keys)
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
