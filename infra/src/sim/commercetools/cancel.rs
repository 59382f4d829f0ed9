//! A cancellation made in commercetools (by a merchant or another tool), and the
//! `OrderStateChanged` Message a subscription would deliver for it, so that flows reacting to
//! cancellations can be driven from the commercetools side.

use anyhow::{anyhow, bail};
use serde_json::{Map, Value, json};

use super::orders::Orders;
use super::resource;
use super::state::{SimState, Store, new_id, version_of};

/// Moves an order to `Cancelled` through the ordinary update path (the version moves by one and
/// the state history records the change) and returns the Message in the Platform format.
/// Like any other writer's update, it consumes a pending concurrent-writer switch.
pub(crate) fn cancel(state: &SimState, id: &str) -> anyhow::Result<Value> {
    let mut store = state.store();
    let order = store
        .orders
        .get(id)
        .ok_or_else(|| anyhow!("no order {id}"))?;
    let old_state = order.get("orderState").cloned().unwrap_or(Value::Null);
    if old_state == "Cancelled" {
        bail!("order {id} is already Cancelled");
    }
    let version = version_of(order);
    let action = json!({"action": "changeOrderState", "orderState": "Cancelled"});
    let updated = resource::apply_actions::<Orders>(state, &mut store, id, version, &[action])
        .map_err(|e| anyhow!("cancellation refused: {e:?}"))?;
    let sequence = next_sequence(&mut store, id);
    Ok(order_state_changed(
        &state.config.project_key,
        &updated,
        old_state,
        sequence,
    ))
}

/// The next `sequenceNumber` of messages about this order. The first is 2, as the OrderCreated
/// message (which the simulator does not issue) is taken to be 1. UNCONFIRMED as a likeness: the
/// real numbers also count messages of other updates (shipment state, deliveries, …), which the
/// simulator does not issue, so they can be higher; only their increase is relied on.
fn next_sequence(store: &mut Store, id: &str) -> u64 {
    let last = store.message_sequences.entry(id.to_owned()).or_insert(1);
    *last += 1;
    *last
}

/// The `OrderStateChanged` Message (`orderState`, `oldOrderState`, [R]
/// `OrderStateChangedMessage.raml`) for an order as it is after the change. The order number
/// goes in `resourceUserProvidedIdentifiers` only when the order has one.
fn order_state_changed(project_key: &str, order: &Value, old_state: Value, sequence: u64) -> Value {
    let mut identifiers = Map::new();
    if let Some(number) = order.get("orderNumber").filter(|v| v.is_string()) {
        identifiers.insert("orderNumber".into(), number.clone());
    }
    let at = order.get("lastModifiedAt").cloned().unwrap_or(Value::Null);
    json!({
        "notificationType": "Message",
        "projectKey": project_key,
        "id": new_id(),
        "version": 1,
        "sequenceNumber": sequence,
        "resource": {"typeId": "order", "id": order["id"]},
        "resourceVersion": version_of(order),
        "resourceUserProvidedIdentifiers": identifiers,
        "type": "OrderStateChanged",
        "orderState": order["orderState"],
        "oldOrderState": old_state,
        "createdAt": at,
        "lastModifiedAt": at,
    })
}
