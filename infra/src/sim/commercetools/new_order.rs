//! An order the Rust-side handle stores: defaults filled in, parsed as a commercetools Order, and
//! checked against the ids and order numbers in use. Preparing, checking and inserting are
//! separate steps so that order placement can check stock between them under one lock.

use anyhow::{Context, anyhow, bail};
use ctpvx_shared::commercetools::types::Order;
use serde_json::Value;

use super::state::{Store, now_iso, version_of};

/// An order ready to be stored.
pub(crate) struct NewOrder {
    id: String,
    json: Value,
    parsed: Order,
}

impl NewOrder {
    /// Needs `id`; `version` defaults to 1 and the timestamps to now. Unknown fields are kept.
    pub(crate) fn prepare(mut order: Value) -> anyhow::Result<Self> {
        let Value::Object(map) = &mut order else {
            bail!("an order must be a JSON object");
        };
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("an order needs an id"))?
            .to_owned();
        if version_of(&order) < 1 {
            order["version"] = 1.into();
        }
        for field in ["createdAt", "lastModifiedAt"] {
            if order.get(field).is_none_or(Value::is_null) {
                order[field] = now_iso().into();
            }
        }
        let parsed: Order = serde_json::from_value(order.clone())
            .context("the order does not parse as a commercetools Order")?;
        Ok(Self {
            id,
            json: order,
            parsed,
        })
    }

    /// The order as it will be stored.
    pub(crate) fn json(&self) -> &Value {
        &self.json
    }

    /// Refuses an id or an `orderNumber` already in use.
    pub(crate) fn check(&self, store: &Store) -> anyhow::Result<()> {
        if store.orders.contains_key(&self.id) {
            bail!("an order with id {} exists", self.id);
        }
        if let Some(number) = &self.parsed.order_number
            && store.order_numbers.contains_key(number)
        {
            bail!("order number {number} is in use");
        }
        Ok(())
    }

    /// Checks, then stores the order and indexes its number.
    pub(crate) fn insert(self, store: &mut Store) -> anyhow::Result<Order> {
        self.check(store)?;
        if let Some(number) = self.parsed.order_number.clone() {
            store.order_numbers.insert(number, self.id.clone());
        }
        store.index_external_ids(&self.json);
        store.orders.insert(self.id, self.json);
        Ok(self.parsed)
    }
}
