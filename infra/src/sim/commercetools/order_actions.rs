//! Order update actions applied to an order's JSON ([R] `types/order/updates/*.raml`).

use serde_json::{Map, Value, json};

use super::custom;
use super::deliveries;
use super::errors::{ApiError, ApiResult};
use super::resource::reference_id;
use super::state::{Store, new_id, now_iso};
use super::states;

const ORDER_STATES: [&str; 4] = ["Open", "Confirmed", "Complete", "Cancelled"];
const SHIPMENT_STATES: [&str; 8] = [
    "Shipped",
    "Delivered",
    "Ready",
    "Pending",
    "Delayed",
    "Partial",
    "Backorder",
    "Canceled",
];
const RETURN_SHIPMENT_STATES: [&str; 4] = ["Advised", "Returned", "BackInStock", "Unusable"];

/// Applies one action to `order`; `store` is read for referenced channels and Types.
pub(crate) fn apply(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
    let name = action
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("actions: action: Missing required value"))?;
    match name {
        "updateSyncInfo" => update_sync_info(store, order, action),
        "setCustomField" => set_custom_field(order, action),
        "changeShipmentState" => set_enum(order, action, "shipmentState", &SHIPMENT_STATES),
        "changeOrderState" => set_enum(order, action, "orderState", &ORDER_STATES),
        "setCustomType" => custom::set_custom_type(store, order, action),
        "addDelivery" => deliveries::add_delivery(store, order, action),
        "addParcelToDelivery" => deliveries::add_parcel_to_delivery(store, order, action),
        "setDeliveryCustomType" => deliveries::set_delivery_custom_type(store, order, action),
        "setParcelTrackingData" => deliveries::set_parcel_tracking_data(order, action),
        "addReturnInfo" => add_return_info(order, action),
        "setReturnShipmentState" => set_return_shipment_state(order, action),
        "transitionState" => transition_state(store, order, action),
        "setOrderNumber" => set_order_number(store, order, action),
        other => Err(ApiError::bad_request(
            "InvalidInput",
            format!("Unknown update action '{other}'."),
        )),
    }
}

fn required_str<'a>(action: &'a Value, field: &str) -> ApiResult<&'a str> {
    action
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json(format!("{field}: Missing required value")))
}

/// Sets a top-level enum field, checking the value against the enum.
fn set_enum(order: &mut Value, action: &Value, field: &str, allowed: &[&str]) -> ApiResult<()> {
    let value = required_str(action, field)?;
    if !allowed.contains(&value) {
        return Err(ApiError::invalid_json(format!(
            "{field}: '{value}' is not one of {}",
            allowed.join(", ")
        )));
    }
    order[field] = value.into();
    Ok(())
}

/// `setOrderNumber {orderNumber}` ([R] `OrderSetOrderNumberAction.raml`: "Once set, the value
/// cannot be changed"; the number is unique across the project). The index of numbers follows in
/// [`super::orders`]'s `updated`.
fn set_order_number(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
    let number = required_str(action, "orderNumber")?;
    if order.get("orderNumber").is_some_and(|n| !n.is_null()) {
        // UNCONFIRMED: the code the real API answers when the number is set already.
        return Err(ApiError::bad_request(
            "InvalidOperation",
            "The orderNumber of an order cannot be changed once set.",
        ));
    }
    if store.order_numbers.contains_key(number) {
        return Err(ApiError::duplicate_field("orderNumber", &number.into()));
    }
    order["orderNumber"] = number.into();
    Ok(())
}

/// `updateSyncInfo {channel, externalId?, syncedAt?}`: appends a syncInfo entry. It does not
/// replace an entry of the same channel, which is why it must not be sent twice.
fn update_sync_info(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
    let reference = action
        .get("channel")
        .ok_or_else(|| ApiError::invalid_json("channel: Missing required value"))?;
    let channel = reference_id(reference, &store.channel_keys)
        .and_then(|id| store.channels.get(&id))
        .ok_or_else(|| ApiError::referenced_not_found("channel", reference))?;
    let roles = channel["roles"].as_array().cloned().unwrap_or_default();
    if !roles
        .iter()
        .any(|r| r == "OrderExport" || r == "OrderImport")
    {
        // UNCONFIRMED: the code the real API uses for a channel without these roles.
        return Err(ApiError::bad_request(
            "InvalidInput",
            "The channel of updateSyncInfo must have the role OrderExport or OrderImport.",
        ));
    }
    let mut entry = Map::new();
    entry.insert(
        "channel".into(),
        json!({"typeId": "channel", "id": channel["id"]}),
    );
    if let Some(external_id) = action.get("externalId").filter(|v| !v.is_null()) {
        entry.insert("externalId".into(), external_id.clone());
    }
    let synced_at = action
        .get("syncedAt")
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| now_iso().into());
    entry.insert("syncedAt".into(), synced_at);
    push(order, "syncInfo", Value::Object(entry));
    Ok(())
}

/// `transitionState {state:{typeId:"state", id|key}, force?}`: the order gets a reference to
/// the State, by id. Unless forced, the move is checked as the API reference describes State
/// `transitions` (quoted in the labd commercetools provider's docs, pulumi registry
/// `commercetools/api-docs/statetransitions`: not set, no check; set, the current State must
/// list the new one; an empty list, a final State; an order's first State must be initial). UNCONFIRMED: the error code of a
/// refused move (`InvalidOperation` here) and of a State that is not an OrderState.
fn transition_state(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
    let reference = action
        .get("state")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::invalid_json("state: Missing required value"))?;
    let state = states::find(store, reference)
        .ok_or_else(|| ApiError::referenced_not_found("state", reference))?;
    if state["type"] != "OrderState" {
        return Err(ApiError::bad_request(
            "InvalidOperation",
            format!("The state '{}' is not an OrderState.", state["key"]),
        ));
    }
    let forced = action.get("force").and_then(Value::as_bool) == Some(true);
    if !forced {
        check_transition(store, order, state)?;
    }
    order["state"] = json!({"typeId": "state", "id": state["id"]});
    Ok(())
}

/// Whether the order's current State allows the move to `target`.
fn check_transition(store: &Store, order: &Value, target: &Value) -> ApiResult<()> {
    let refused = |why: String| Err(ApiError::bad_request("InvalidOperation", why));
    let Some(current) = order
        .get("state")
        .filter(|v| !v.is_null())
        .and_then(|r| states::find(store, r))
    else {
        if target["initial"] == false {
            return refused(format!(
                "The state '{}' is not an initial state.",
                target["key"]
            ));
        }
        return Ok(());
    };
    let Some(allowed) = current.get("transitions").and_then(Value::as_array) else {
        return Ok(());
    };
    let reachable = allowed
        .iter()
        .filter_map(|t| states::find(store, t))
        .any(|s| s["id"] == target["id"]);
    if reachable {
        Ok(())
    } else {
        refused(format!(
            "Transition from state '{}' to state '{}' is not allowed.",
            current["key"], target["key"]
        ))
    }
}

/// `setCustomField {name, value?}`: needs a custom type on the order; no value removes the field.
/// Values are not checked against the Type's field definitions.
fn set_custom_field(order: &mut Value, action: &Value) -> ApiResult<()> {
    let name = required_str(action, "name")?;
    let Some(Value::Object(custom)) = order.get_mut("custom") else {
        return Err(ApiError::bad_request(
            "InvalidOperation",
            "The order has no custom type; set one before setting custom fields.",
        ));
    };
    let fields = custom.entry("fields").or_insert_with(|| json!({}));
    let Value::Object(fields) = fields else {
        return Err(ApiError::invalid_json("custom.fields is not an object"));
    };
    match action.get("value").filter(|v| !v.is_null()) {
        Some(value) => {
            fields.insert(name.into(), value.clone());
        }
        None => {
            fields.remove(name);
        }
    }
    Ok(())
}

/// `setReturnShipmentState {returnItemId, shipmentState}`: the item of any `returnInfo` with
/// that id. UNCONFIRMED: the error code for an id no return item has (`InvalidOperation` here).
fn set_return_shipment_state(order: &mut Value, action: &Value) -> ApiResult<()> {
    let id = required_str(action, "returnItemId")?.to_owned();
    let state = required_str(action, "shipmentState")?.to_owned();
    if !RETURN_SHIPMENT_STATES.contains(&state.as_str()) {
        return Err(ApiError::invalid_json(format!(
            "shipmentState: '{state}' is not a return shipment state"
        )));
    }
    let item = order["returnInfo"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .flat_map(|info| info["items"].as_array_mut().into_iter().flatten())
        .find(|item| item["id"] == id.as_str());
    let Some(item) = item else {
        return Err(ApiError::bad_request(
            "InvalidOperation",
            format!("The order has no return item with id '{id}'."),
        ));
    };
    item["shipmentState"] = state.into();
    item["lastModifiedAt"] = now_iso().into();
    Ok(())
}

/// `addReturnInfo {items:[{quantity, lineItemId, shipmentState, comment?}], returnTrackingId?,
/// returnDate?}`.
fn add_return_info(order: &mut Value, action: &Value) -> ApiResult<()> {
    let drafts = action
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_json("items: Missing required value"))?;
    let now = now_iso();
    let mut items = Vec::new();
    for draft in drafts {
        let line_item_id = required_str(draft, "lineItemId")?;
        let quantity = draft
            .get("quantity")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::invalid_json("quantity: Missing required value"))?;
        let state = required_str(draft, "shipmentState")?;
        if !RETURN_SHIPMENT_STATES.contains(&state) {
            return Err(ApiError::invalid_json(format!(
                "shipmentState: '{state}' is not a return shipment state"
            )));
        }
        let known = order["lineItems"]
            .as_array()
            .is_some_and(|lines| lines.iter().any(|l| l["id"] == line_item_id));
        if !known {
            return Err(ApiError::bad_request(
                "InvalidOperation",
                format!("The order has no line item with id '{line_item_id}'."),
            ));
        }
        let mut item = json!({
            "type": "LineItemReturnItem",
            "id": new_id(),
            "quantity": quantity,
            "lineItemId": line_item_id,
            "shipmentState": state,
            // UNCONFIRMED: the paymentState the real API gives a new return item.
            "paymentState": "Initial",
            "createdAt": now,
            "lastModifiedAt": now,
        });
        if let Some(comment) = draft.get("comment").filter(|v| !v.is_null()) {
            item["comment"] = comment.clone();
        }
        items.push(item);
    }
    let mut info = json!({ "items": items });
    for field in ["returnTrackingId", "returnDate"] {
        if let Some(value) = action.get(field).filter(|v| !v.is_null()) {
            info[field] = value.clone();
        }
    }
    push(order, "returnInfo", info);
    Ok(())
}

/// Appends to a top-level array of the order, creating it if missing.
fn push(order: &mut Value, field: &str, value: Value) {
    match order.get_mut(field) {
        Some(Value::Array(list)) => list.push(value),
        _ => order[field] = json!([value]),
    }
}
