//! Order endpoints: get by id or `order-number=`, query, and update (the actions are in
//! [`order_actions`]). The handlers are the shared ones of [`resource`](super::resource). Every
//! successful update adds the changes of the order's state fields to the state history
//! ([`history`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::errors::ApiResult;
use super::history;
use super::order_actions;
use super::predicate::{Predicate, pinned_by_all};
use super::resource::Resource;
use super::state::Store;

/// Fields the simulator can filter and sort orders on.
const QUERY_FIELDS: [&str; 16] = [
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
    "syncInfo.externalId",
    "syncInfo.syncedAt",
    "lineItems.variant.sku",
    "lineItems.quantity",
    "lineItems.supplyChannel.id",
    "shippingInfo.deliveries.id",
];

/// Orders, named by id or `order-number={n}`.
pub(crate) struct Orders;

impl Resource for Orders {
    const ALIAS: &'static str = "order-number=";
    const QUERY_FIELDS: &'static [&'static str] = &QUERY_FIELDS;

    fn map(store: &Store) -> &BTreeMap<String, Value> {
        &store.orders
    }

    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value> {
        &mut store.orders
    }

    fn id_by_alias(store: &Store, number: &str) -> Option<String> {
        store.order_numbers.get(number).cloned()
    }

    fn apply(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
        order_actions::apply(store, order, action)
    }

    /// A query that pins `id` or `orderNumber` (`id in (…)`, `orderNumber = "…"`), or pins
    /// each match by its `orderNumber` or its syncInfo `externalId` (an `or` of both, as the
    /// callbacks' lookup by Peoplevox number asks), reads only those orders, as the platform's
    /// indexes would, instead of every order placed so far.
    fn candidates<'s>(store: &'s Store, predicates: &[Predicate]) -> Option<BTreeSet<&'s str>> {
        let pinned = |path: &str| pinned_by_all(predicates, path);
        let by_id = pinned("id").map(|ids| {
            ids.into_iter()
                .filter_map(|id| store.orders.get_key_value(id).map(|(k, _)| k.as_str()))
                .collect::<BTreeSet<_>>()
        });
        let by_number = pinned("orderNumber").map(|numbers| {
            numbers
                .into_iter()
                .filter_map(|n| store.order_numbers.get(n).map(String::as_str))
                .collect::<BTreeSet<_>>()
        });
        match (by_id, by_number) {
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
            (None, None) => by_number_or_mark(store, predicates),
            (a, b) => a.or(b),
        }
    }

    fn updated(store: &mut Store, before: &Value, after: &Value) {
        store.state_history.extend(history::changes(before, after));
        store.index_external_ids(after);
        // `setOrderNumber` gave the order its number: it can be read by it from now on.
        if let (None | Some(Value::Null), Some(Value::String(number)), Some(Value::String(id))) = (
            before.get("orderNumber"),
            after.get("orderNumber"),
            after.get("id"),
        ) {
            store.order_numbers.insert(number.clone(), id.clone());
        }
    }
}

/// The orders a predicate allows by `orderNumber` or syncInfo `externalId`, when every match
/// must have one of the pinned values in one of them.
fn by_number_or_mark<'s>(store: &'s Store, predicates: &[Predicate]) -> Option<BTreeSet<&'s str>> {
    let pins = predicates
        .iter()
        .find_map(|p| p.pinned_any(&["orderNumber", "syncInfo.externalId"]))?;
    let mut ids = BTreeSet::new();
    for (path, values) in pins {
        for value in values {
            if path == 0 {
                ids.extend(store.order_numbers.get(value).map(String::as_str));
            } else if let Some(marked) = store.external_ids.get(value) {
                ids.extend(marked.iter().map(String::as_str));
            }
        }
    }
    Some(ids)
}
