//! What creating an order does to stock, by inventory mode ([R] `types/cart/InventoryMode.raml`,
//! https://docs.commercetools.com/api/inventory-overview):
//!
//! - `None` (the default): no check, no change.
//! - `TrackOnly`: deducts the line quantity, which may take stock below zero; OutOfStock only
//!   when the (sku, supply channel) pair has no inventory entry.
//! - `ReserveOnOrder`: OutOfStock when there is no entry or too little available, unless the
//!   entry has `restockableInDays`; otherwise deducts like TrackOnly.
//!
//! A line's own `inventoryMode` wins over the order's. Both `quantityOnStock` and
//! `availableQuantity` drop (UNCONFIRMED, commercetools.md §3: the reservation is assumed to be
//! transient). Lines of one order that share an entry are checked against their sum.
//! commercetools emits no InventoryEntryQuantitySet message for changes caused by order creation,
//! so nothing here records one.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use serde_json::Value;

use super::inventory::find_entry;
use super::state::{Store, touch};

/// The API's OutOfStock error of order creation: the skus whose stock was missing or short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfStock {
    /// Each sku once, in line order.
    pub skus: Vec<String>,
}

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "out of stock: {}", self.skus.join(", "))
    }
}

impl std::error::Error for OutOfStock {}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    None,
    TrackOnly,
    ReserveOnOrder,
}

/// The mode a field names; absent or null means `fallback`.
fn mode(field: Option<&Value>, fallback: Mode) -> anyhow::Result<Mode> {
    match field.filter(|v| !v.is_null()).map(Value::as_str) {
        None => Ok(fallback),
        Some(Some("None")) => Ok(Mode::None),
        Some(Some("TrackOnly")) => Ok(Mode::TrackOnly),
        Some(Some("ReserveOnOrder")) => Ok(Mode::ReserveOnOrder),
        Some(Some("ReserveOnCart")) => bail!("inventoryMode ReserveOnCart is not simulated"),
        Some(other) => bail!("{other:?} is not an inventory mode"),
    }
}

/// The supply channel id of a line: by id, or by key through the channel index.
fn line_channel<'a>(store: &'a Store, line: &'a Value) -> anyhow::Result<Option<&'a str>> {
    let Some(reference) = line.get("supplyChannel").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let by_key = || {
        reference
            .get("key")
            .and_then(Value::as_str)
            .and_then(|key| store.channel_keys.get(key))
            .map(String::as_str)
    };
    reference
        .get("id")
        .and_then(Value::as_str)
        .or_else(by_key)
        .map(Some)
        .ok_or_else(|| anyhow!("supplyChannel {reference} names no known channel"))
}

/// The deductions the order makes (entry id → quantity), or the skus that are out of stock.
/// Reads only: nothing changes until [`apply`].
pub(crate) fn plan(
    store: &Store,
    order: &Value,
) -> anyhow::Result<Result<BTreeMap<String, i64>, OutOfStock>> {
    let order_mode = mode(order.get("inventoryMode"), Mode::None)?;
    let mut deductions: BTreeMap<String, i64> = BTreeMap::new();
    let mut short: Vec<String> = Vec::new();
    for line in order["lineItems"].as_array().into_iter().flatten() {
        let line_mode = mode(line.get("inventoryMode"), order_mode)?;
        if line_mode == Mode::None {
            continue;
        }
        let sku = line["variant"]["sku"]
            .as_str()
            .ok_or_else(|| anyhow!("a line with inventoryMode {line_mode:?} needs variant.sku"))?;
        let quantity = line["quantity"]
            .as_i64()
            .ok_or_else(|| anyhow!("line of {sku} has no quantity"))?;
        let Some(entry) = find_entry(store, sku, line_channel(store, line)?) else {
            push_once(&mut short, sku);
            continue;
        };
        let id = entry["id"].as_str().unwrap_or_default().to_owned();
        let pending = deductions.entry(id).or_default();
        let restockable = entry.get("restockableInDays").is_some_and(|v| !v.is_null());
        let available = entry["availableQuantity"].as_i64().unwrap_or(0);
        if line_mode == Mode::ReserveOnOrder && !restockable && available - *pending < quantity {
            push_once(&mut short, sku);
            continue;
        }
        *pending += quantity;
    }
    Ok(if short.is_empty() {
        Ok(deductions)
    } else {
        Err(OutOfStock { skus: short })
    })
}

/// Deducts planned quantities; every changed entry gets a new version and `lastModifiedAt`.
pub(crate) fn apply(store: &mut Store, deductions: &BTreeMap<String, i64>) {
    for (id, quantity) in deductions {
        let Some(entry) = store.inventory.get_mut(id).filter(|_| *quantity != 0) else {
            continue;
        };
        for field in ["quantityOnStock", "availableQuantity"] {
            let now = entry[field].as_i64().unwrap_or(0);
            entry[field] = (now - quantity).into();
        }
        touch(entry);
    }
}

fn push_once(skus: &mut Vec<String>, sku: &str) {
    if !skus.iter().any(|s| s == sku) {
        skus.push(sku.to_owned());
    }
}
