//! Inventory endpoints: query, create, get and update (`addQuantity`, `removeQuantity`,
//! `changeQuantity`). Reservations are not simulated: the reserved amount
//! (`quantityOnStock - availableQuantity`) stays as it is. The handlers are the shared ones of
//! [`resource`](super::resource). Every entry is stored, and changed, here, in step with the
//! store's [`InventoryIndex`](super::inventory_index::InventoryIndex).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::predicate::{Predicate, pinned_by_all};
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
        store.inventory_index.id_by_key(key).map(str::to_owned)
    }

    fn apply(_store: &Store, entry: &mut Value, action: &Value) -> ApiResult<()> {
        apply(entry, action)
    }

    fn updated(store: &mut Store, before: &Value, after: &Value) {
        store.inventory_index.update(before, after);
    }

    /// A query that pins `sku` (`sku in (…)`, `sku = "…"`) reads the entries of those skus,
    /// in the pinned supply channels if it pins those too.
    fn candidates<'s>(store: &'s Store, predicates: &[Predicate]) -> Option<BTreeSet<&'s str>> {
        let pinned = |path: &str| pinned_by_all(predicates, path);
        let skus = pinned("sku")?;
        let channels = pinned("supplyChannel.id");
        let in_channels = |channel: Option<&str>| match (&channels, channel) {
            (None, _) => true,
            (Some(pinned), Some(channel)) => pinned.contains(channel),
            (Some(_), None) => false,
        };
        Some(
            skus.into_iter()
                .flat_map(|sku| store.inventory_index.entries_of(sku))
                .filter(|(channel, _)| in_channels(*channel))
                .map(|(_, id)| id)
                .collect(),
        )
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
        .inventory_index
        .id_of(sku, channel_id)
        .and_then(|id| store.inventory.get(id))
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
        && store.inventory_index.id_by_key(key).is_some()
    {
        return Err(ApiError::duplicate_field("key", &key.into()));
    }
    let mut entry = new_entry(sku, channel_id.as_deref(), quantity, &now_iso());
    if let Some(key) = key {
        entry["key"] = key.into();
    }
    for field in ["restockableInDays", "expectedDelivery", "custom"] {
        if let Some(value) = draft.get(field).filter(|v| !v.is_null()) {
            entry[field] = value.clone();
        }
    }
    store_entry(store, entry.clone());
    Ok(entry)
}

/// Creates entries `(sku, supply channel id, quantity)` as [`create_entry`] would, all or
/// none: an unknown channel, or a (sku, channel) pair that has an entry or comes twice, is an
/// error and nothing is stored. Returns how many were created.
pub(crate) fn create_entries(
    store: &mut Store,
    entries: Vec<(String, Option<String>, i64)>,
) -> Result<usize, String> {
    let mut seen = HashSet::new();
    for (sku, channel, _) in &entries {
        if let Some(channel) = channel
            && !store.channels.contains_key(channel)
        {
            return Err(format!("no channel {channel} (for sku {sku})"));
        }
        let pair = (sku.as_str(), channel.as_deref());
        if find_entry(store, pair.0, pair.1).is_some() || !seen.insert(pair) {
            return Err(format!(
                "a second entry of sku {sku} in channel {channel:?}"
            ));
        }
    }
    let now = now_iso();
    let created = entries.len();
    for (sku, channel, quantity) in entries {
        store_entry(store, new_entry(&sku, channel.as_deref(), quantity, &now));
    }
    Ok(created)
}

/// A new entry with a new id, all its stock available.
fn new_entry(sku: &str, channel_id: Option<&str>, quantity: i64, now: &str) -> Value {
    let mut entry = json!({
        "id": new_id(), "version": 1, "sku": sku,
        "quantityOnStock": quantity, "availableQuantity": quantity,
        "createdAt": now, "lastModifiedAt": now,
    });
    if let Some(channel_id) = channel_id {
        entry["supplyChannel"] = json!({"typeId": "channel", "id": channel_id});
    }
    entry
}

fn store_entry(store: &mut Store, entry: Value) {
    let Some(id) = entry.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    store.inventory_index.insert(&entry);
    store.inventory.insert(id, entry);
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
