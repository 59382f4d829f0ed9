//! The delivery and parcel update actions of orders: `addDelivery`, `addParcelToDelivery`,
//! `setParcelTrackingData`, `setDeliveryCustomType` ([R] `Delivery.raml`, `Parcel.raml`).
//! Custom fields must name an existing Type ([`custom`]).

use serde_json::{Map, Value, json};

use super::custom;
use super::errors::{ApiError, ApiResult};
use super::resource::is_key_like;
use super::state::{Store, new_id, now_iso};

/// The deliveries of one `shippingInfo`.
fn list_of(info: &Value) -> impl Iterator<Item = &Value> {
    info.get("deliveries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Every delivery of the order: Single mode keeps them in `shippingInfo`, Multiple mode in each
/// `shipping[].shippingInfo`.
fn deliveries(order: &Value) -> impl Iterator<Item = &Value> {
    let single = order.get("shippingInfo").into_iter().flat_map(list_of);
    let multiple = order
        .get("shipping")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("shippingInfo"))
        .flat_map(list_of);
    single.chain(multiple)
}

/// Every delivery of the order, mutable.
fn deliveries_mut(order: &mut Value) -> Vec<&mut Value> {
    fn list_of_mut(info: &mut Value) -> impl Iterator<Item = &mut Value> {
        info.get_mut("deliveries")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
    }
    let mut found = Vec::new();
    let Value::Object(root) = order else {
        return found;
    };
    // Iterating the map's entries gives disjoint mutable borrows of both places.
    for (name, value) in root.iter_mut() {
        match name.as_str() {
            "shippingInfo" => found.extend(list_of_mut(value)),
            "shipping" => {
                for shipping in value.as_array_mut().into_iter().flatten() {
                    if let Some(info) = shipping.get_mut("shippingInfo") {
                        found.extend(list_of_mut(info));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// Every parcel of the order.
fn parcels(order: &Value) -> impl Iterator<Item = &Value> {
    deliveries(order)
        .filter_map(|d| d.get("parcels").and_then(Value::as_array))
        .flatten()
}

/// Keys of deliveries and parcels: 2–256 characters of `[a-zA-Z0-9_-]`.
fn check_key(key: &str, what: &str) -> ApiResult<()> {
    if is_key_like(key, 2, 256) {
        return Ok(());
    }
    Err(ApiError::invalid_json(format!(
        "{what}: '{key}' does not match [a-zA-Z0-9_-]{{2,256}}"
    )))
}

fn opt_str<'a>(action: &'a Value, field: &str) -> ApiResult<Option<&'a str>> {
    match action.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_json(format!(
            "{field}: expected a string"
        ))),
    }
}

/// Checks `[{id, quantity}]` against the order's line items (and custom line items).
fn delivery_items(order: &Value, items: Option<&Value>) -> ApiResult<Value> {
    let Some(items) = items.filter(|v| !v.is_null()) else {
        return Ok(json!([]));
    };
    let list = items
        .as_array()
        .ok_or_else(|| ApiError::invalid_json("items: expected an array"))?;
    let known = |id: &str| {
        ["lineItems", "customLineItems"].iter().any(|field| {
            order
                .get(field)
                .and_then(Value::as_array)
                .is_some_and(|lines| lines.iter().any(|l| l["id"] == id))
        })
    };
    for item in list {
        let id = item.get("id").and_then(Value::as_str);
        let quantity = item.get("quantity").and_then(Value::as_i64);
        match (id, quantity) {
            (Some(id), Some(q)) if q >= 0 => {
                if !known(id) {
                    // UNCONFIRMED: the code the real API uses for an unknown line item id.
                    return Err(ApiError::bad_request(
                        "InvalidOperation",
                        format!("The order has no line item with id '{id}'."),
                    ));
                }
            }
            _ => {
                return Err(ApiError::invalid_json(
                    "items: each item needs an id and a quantity >= 0",
                ));
            }
        }
    }
    Ok(items.clone())
}

/// A Parcel from a draft (`key`, `measurements`, `trackingData`, `items`, `custom`).
fn parcel(store: &Store, order: &Value, draft: &Value, key_field: &str) -> ApiResult<Value> {
    let mut parcel = Map::new();
    parcel.insert("id".into(), new_id().into());
    if let Some(key) = opt_str(draft, key_field)? {
        check_key(key, key_field)?;
        // UNCONFIRMED: whether the real API rejects a parcel key used twice in an order.
        if parcels(order).any(|p| p["key"] == key) {
            return Err(ApiError::duplicate_field("parcelKey", &key.into()));
        }
        parcel.insert("key".into(), key.into());
    }
    parcel.insert("createdAt".into(), now_iso().into());
    for field in ["measurements", "trackingData"] {
        if let Some(value) = draft.get(field).filter(|v| !v.is_null()) {
            parcel.insert(field.into(), value.clone());
        }
    }
    if let Some(draft) = draft.get("custom").filter(|v| !v.is_null()) {
        parcel.insert("custom".into(), custom::custom_fields(store, draft)?);
    }
    parcel.insert("items".into(), delivery_items(order, draft.get("items"))?);
    Ok(Value::Object(parcel))
}

/// `addDelivery {deliveryKey?, shippingKey?, items?, address?, parcels?, custom?}`.
pub(crate) fn add_delivery(store: &Store, order: &mut Value, action: &Value) -> ApiResult<()> {
    let key = opt_str(action, "deliveryKey")?;
    if let Some(key) = key {
        check_key(key, "deliveryKey")?;
        // UNCONFIRMED for real commercetools: that a duplicate deliveryKey within an order is
        // rejected, and with DuplicateField. The docs only say the key is unique per order.
        if deliveries(order).any(|d| d["key"] == key) {
            return Err(ApiError::duplicate_field("deliveryKey", &key.into()));
        }
    }
    let list = delivery_list_for(order, opt_str(action, "shippingKey")?)?;
    let mut delivery = Map::new();
    delivery.insert("id".into(), new_id().into());
    if let Some(key) = key {
        delivery.insert("key".into(), key.into());
    }
    delivery.insert("createdAt".into(), now_iso().into());
    delivery.insert("items".into(), delivery_items(order, action.get("items"))?);
    let mut parcels = Vec::new();
    for draft in action
        .get("parcels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let new = parcel(store, order, draft, "key")?;
        // Two parcels of the same draft with one key are duplicates as well.
        if new
            .get("key")
            .is_some_and(|k| parcels.iter().any(|p: &Value| p["key"] == *k))
        {
            return Err(ApiError::duplicate_field("parcelKey", &new["key"]));
        }
        parcels.push(new);
    }
    delivery.insert("parcels".into(), parcels.into());
    if let Some(address) = action.get("address").filter(|v| !v.is_null()) {
        delivery.insert("address".into(), address.clone());
    }
    if let Some(draft) = action.get("custom").filter(|v| !v.is_null()) {
        delivery.insert("custom".into(), custom::custom_fields(store, draft)?);
    }
    let deliveries = order.pointer_mut(&list).ok_or_else(|| {
        ApiError::bad_request("InvalidOperation", "The order has no shippingInfo.")
    })?;
    match deliveries {
        Value::Array(list) => list.push(Value::Object(delivery)),
        other => *other = json!([delivery]),
    }
    Ok(())
}

/// The pointer of the `deliveries` list a new delivery goes to, created if missing.
fn delivery_list_for(order: &mut Value, shipping_key: Option<&str>) -> ApiResult<String> {
    let multiple = order.get("shippingMode").and_then(Value::as_str) == Some("Multiple");
    let info = if multiple {
        let key = shipping_key.ok_or_else(|| {
            ApiError::bad_request(
                "InvalidOperation",
                "shippingKey is required for an order in Multiple shipping mode.",
            )
        })?;
        let index = order
            .get("shipping")
            .and_then(Value::as_array)
            .and_then(|s| s.iter().position(|s| s["shippingKey"] == key))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "InvalidOperation",
                    format!("The order has no shipping with key '{key}'."),
                )
            })?;
        format!("/shipping/{index}/shippingInfo")
    } else {
        "/shippingInfo".to_owned()
    };
    let Some(Value::Object(info_map)) = order.pointer_mut(&info) else {
        return Err(ApiError::bad_request(
            "InvalidOperation",
            "The order has no shippingInfo; a delivery cannot be added.",
        ));
    };
    info_map.entry("deliveries").or_insert_with(|| json!([]));
    Ok(format!("{info}/deliveries"))
}

/// `addParcelToDelivery {deliveryId|deliveryKey, parcelKey?, measurements?, trackingData?, items?}`.
pub(crate) fn add_parcel_to_delivery(
    store: &Store,
    order: &mut Value,
    action: &Value,
) -> ApiResult<()> {
    let selector = delivery_selector(action)?;
    let new = parcel(store, order, action, "parcelKey")?;
    let delivery = find_delivery_mut(order, &selector)?;
    match delivery.get_mut("parcels") {
        Some(Value::Array(parcels)) => parcels.push(new),
        _ => {
            delivery["parcels"] = json!([new]);
        }
    }
    Ok(())
}

/// `setParcelTrackingData {parcelId|parcelKey, trackingData?}`; no `trackingData` removes it.
pub(crate) fn set_parcel_tracking_data(order: &mut Value, action: &Value) -> ApiResult<()> {
    let (field, wanted) = match (opt_str(action, "parcelId")?, opt_str(action, "parcelKey")?) {
        (Some(id), _) => ("id", id.to_owned()),
        (None, Some(key)) => ("key", key.to_owned()),
        (None, None) => {
            return Err(ApiError::invalid_json(
                "setParcelTrackingData: parcelId or parcelKey is required",
            ));
        }
    };
    let tracking = action.get("trackingData").filter(|v| !v.is_null()).cloned();
    for delivery in deliveries_mut(order) {
        let Some(parcels) = delivery.get_mut("parcels").and_then(Value::as_array_mut) else {
            continue;
        };
        if let Some(Value::Object(parcel)) = parcels.iter_mut().find(|p| p[field] == *wanted) {
            match tracking {
                Some(data) => parcel.insert("trackingData".into(), data),
                None => parcel.remove("trackingData"),
            };
            return Ok(());
        }
    }
    Err(ApiError::bad_request(
        "InvalidOperation",
        format!("The order has no parcel with {field} '{wanted}'."),
    ))
}

/// `setDeliveryCustomType {deliveryId|deliveryKey, type?, fields?}`; no `type` removes `custom`.
pub(crate) fn set_delivery_custom_type(
    store: &Store,
    order: &mut Value,
    action: &Value,
) -> ApiResult<()> {
    let selector = delivery_selector(action)?;
    let delivery = find_delivery_mut(order, &selector)?;
    custom::set_custom_type(store, delivery, action)
}

/// `("id", …)` or `("key", …)` of `deliveryId|deliveryKey`.
fn delivery_selector(action: &Value) -> ApiResult<(&'static str, String)> {
    match (
        opt_str(action, "deliveryId")?,
        opt_str(action, "deliveryKey")?,
    ) {
        (Some(id), _) => Ok(("id", id.to_owned())),
        (None, Some(key)) => Ok(("key", key.to_owned())),
        (None, None) => Err(ApiError::invalid_json(
            "deliveryId or deliveryKey is required",
        )),
    }
}

fn find_delivery_mut<'a>(
    order: &'a mut Value,
    (field, wanted): &(&'static str, String),
) -> ApiResult<&'a mut Value> {
    deliveries_mut(order)
        .into_iter()
        .find(|d| d[*field] == **wanted)
        // UNCONFIRMED: the code the real API uses for an unknown delivery.
        .ok_or_else(|| {
            ApiError::bad_request(
                "InvalidOperation",
                format!("The order has no delivery with {field} '{wanted}'."),
            )
        })
}
