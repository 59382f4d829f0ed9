//! The handle's stock methods: seeding and reading inventory, playing another writer, and
//! placing orders as a storefront checkout would, with their effect on stock.

use anyhow::anyhow;
use ctpvx_shared::commercetools::types::{InventoryEntry, Order};
use serde_json::{Value, json};

use super::CtSim;
use super::inventory::{self, Inventory};
use super::placement::OutOfStock;
use super::{resource, staged};

impl CtSim {
    /// Creates an inventory entry (`quantityOnStock` = `availableQuantity` = `quantity`).
    pub fn insert_inventory(
        &self,
        sku: &str,
        supply_channel_id: Option<&str>,
        quantity: i64,
    ) -> anyhow::Result<InventoryEntry> {
        let mut draft = json!({"sku": sku, "quantityOnStock": quantity});
        if let Some(id) = supply_channel_id {
            draft["supplyChannel"] = json!({"typeId": "channel", "id": id});
        }
        let entry = inventory::create_entry(&mut self.state.store(), &draft)
            .map_err(|e| anyhow!("inventory entry refused: {e:?}"))?;
        Ok(serde_json::from_value(entry)?)
    }

    /// Creates many inventory entries `(sku, supply channel id, quantity)` at once, without
    /// HTTP and under one lock (for seeding benchmarks): all, or none when a channel is
    /// unknown or a (sku, channel) pair already has an entry or comes twice. Returns how many
    /// were created.
    pub fn insert_inventory_bulk(
        &self,
        entries: impl IntoIterator<Item = (String, Option<String>, i64)>,
    ) -> anyhow::Result<usize> {
        let entries: Vec<_> = entries.into_iter().collect();
        inventory::create_entries(&mut self.state.store(), entries)
            .map_err(|e| anyhow!("inventory entries refused: {e}"))
    }

    /// Every inventory entry, by id.
    pub fn inventory_entries(&self) -> Vec<InventoryEntry> {
        resource::all_parsed::<Inventory, _>(&self.state)
    }

    /// The entry of a sku in a supply channel (`None`: the channel-less entry), if there is one.
    pub fn inventory_entry(&self, sku: &str, channel_id: Option<&str>) -> Option<InventoryEntry> {
        let store = self.state.store();
        inventory::find_entry(&store, sku, channel_id)
            .and_then(|e| serde_json::from_value(e.clone()).ok())
    }

    /// Applies inventory update actions (raw JSON) to the current version of an entry, as another
    /// writer (a merchant, another integration) would: the version moves by one.
    pub fn apply_inventory_actions(
        &self,
        id: &str,
        actions: Vec<Value>,
    ) -> anyhow::Result<InventoryEntry> {
        let entry = resource::apply_as_other_writer::<Inventory>(&self.state, id, &actions)
            .ok_or_else(|| anyhow!("no inventory entry {id}"))?
            .map_err(|e| anyhow!("update refused: {e:?}"))?;
        Ok(serde_json::from_value(entry)?)
    }

    /// Creates an order as a checkout does: applies its `inventoryMode` to stock (see
    /// `placement`), then stores it like [`CtSim::insert_order_json`]. All or nothing under one
    /// lock: with an `OutOfStock` answer no entry changed and no order was stored. A malformed
    /// order, or an id or order number in use, is an error, also with nothing changed.
    ///
    /// No message is recorded: commercetools emits no InventoryEntryQuantitySet for order creation.
    pub fn place_order(&self, order: Value) -> anyhow::Result<Result<Order, OutOfStock>> {
        staged::place(&mut self.state.store(), order)
    }
}
