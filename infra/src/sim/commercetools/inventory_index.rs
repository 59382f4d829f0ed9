//! The inventory's indexes: the entry of each (sku, supply channel) pair, which the API keeps
//! unique, and the entry of each key, so that a create, a find and a query by sku cost
//! lookups, not a scan of every entry. Entries are created only by
//! [`inventory`](super::inventory), which indexes them, and its updates re-index an entry
//! whose sku, channel or key changed; elsewhere (order placement) only quantities change.

use std::collections::HashMap;

use serde_json::Value;

/// Ids of inventory entries by (sku, supply channel id) and by key.
#[derive(Debug, Default)]
pub(crate) struct InventoryIndex {
    /// Per sku, its entries: a few at most (one per supply channel, and one without).
    by_sku: HashMap<String, Vec<Slot>>,
    by_key: HashMap<String, String>,
}

#[derive(Debug)]
struct Slot {
    channel: Option<String>,
    id: String,
}

/// What the index knows an entry by.
#[derive(Debug, PartialEq, Eq)]
struct Identity<'a> {
    id: &'a str,
    sku: &'a str,
    channel: Option<&'a str>,
    key: Option<&'a str>,
}

impl<'a> Identity<'a> {
    fn of(entry: &'a Value) -> Option<Self> {
        Some(Self {
            id: entry.get("id")?.as_str()?,
            sku: entry.get("sku")?.as_str()?,
            channel: entry
                .get("supplyChannel")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str),
            key: entry.get("key").and_then(Value::as_str),
        })
    }
}

impl InventoryIndex {
    /// The id of the entry of a sku in a supply channel (`None`: the channel-less entry).
    pub(crate) fn id_of(&self, sku: &str, channel: Option<&str>) -> Option<&str> {
        self.by_sku
            .get(sku)?
            .iter()
            .find(|slot| slot.channel.as_deref() == channel)
            .map(|slot| slot.id.as_str())
    }

    /// Every entry of a sku: its supply channel id (`None`: no channel) and its id.
    pub(crate) fn entries_of(&self, sku: &str) -> impl Iterator<Item = (Option<&str>, &str)> {
        self.by_sku
            .get(sku)
            .into_iter()
            .flatten()
            .map(|slot| (slot.channel.as_deref(), slot.id.as_str()))
    }

    /// The id of the entry with this key.
    pub(crate) fn id_by_key(&self, key: &str) -> Option<&str> {
        self.by_key.get(key).map(String::as_str)
    }

    /// Indexes a stored entry (one without a sku or an id is not indexed: it cannot exist).
    pub(crate) fn insert(&mut self, entry: &Value) {
        let Some(identity) = Identity::of(entry) else {
            return;
        };
        self.by_sku
            .entry(identity.sku.to_owned())
            .or_default()
            .push(Slot {
                channel: identity.channel.map(str::to_owned),
                id: identity.id.to_owned(),
            });
        if let Some(key) = identity.key {
            self.by_key.insert(key.to_owned(), identity.id.to_owned());
        }
    }

    /// Follows an update: an entry whose sku, supply channel or key changed moves.
    pub(crate) fn update(&mut self, before: &Value, after: &Value) {
        if Identity::of(before) != Identity::of(after) {
            self.remove(before);
            self.insert(after);
        }
    }

    fn remove(&mut self, entry: &Value) {
        let Some(identity) = Identity::of(entry) else {
            return;
        };
        if let Some(slots) = self.by_sku.get_mut(identity.sku) {
            slots.retain(|slot| slot.id != identity.id);
            if slots.is_empty() {
                self.by_sku.remove(identity.sku);
            }
        }
        if let Some(key) = identity.key
            && self.by_key.get(key).is_some_and(|id| id == identity.id)
        {
            self.by_key.remove(key);
        }
    }
}
