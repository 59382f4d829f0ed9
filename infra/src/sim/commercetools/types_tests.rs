//! Types, channel roles and the Type check of custom fields, without HTTP.

use serde_json::{Value, json};

use super::channels::{Channels, create_channel};
use super::errors::ApiResult;
use super::order_actions::apply;
use super::resource;
use super::state::{CtSimConfig, SimState, Store};
use super::types::{Types, create_type};

fn field(name: &str, type_name: &str) -> Value {
    json!({"type": {"name": type_name}, "name": name, "label": {"en": name}, "required": false})
}

fn delivery_type() -> Value {
    json!({"key": "ctpvx-delivery", "name": {"en": "Delivery"},
        "resourceTypeIds": ["order-delivery"], "fieldDefinitions": [field("despatchNumber", "String")]})
}

fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> String {
    result.unwrap_err().code().to_owned()
}

#[test]
fn types_are_created_once_and_checked() {
    let mut store = Store::default();
    let created = create_type(&mut store, &delivery_type()).unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["fieldDefinitions"][0]["name"], "despatchNumber");
    assert_eq!(
        code(create_type(&mut store, &delivery_type())),
        "DuplicateField"
    );
    let mut typo = delivery_type();
    typo["key"] = "other".into();
    typo["resourceTypeIds"] = json!(["delivery"]);
    assert_eq!(code(create_type(&mut store, &typo)), "InvalidJsonInput");
    let mut bad_field = delivery_type();
    bad_field["key"] = "other".into();
    bad_field["fieldDefinitions"] = json!([field("x!", "String")]);
    assert_eq!(
        code(create_type(&mut store, &bad_field)),
        "InvalidJsonInput"
    );
    assert_eq!(store.types.len(), 1);
}

#[test]
fn field_definitions_are_added_under_versions() {
    let state = SimState::new(CtSimConfig::default());
    let mut store = Store::default();
    let id = create_type(&mut store, &delivery_type()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = |name: &str| json!({"action": "addFieldDefinition", "fieldDefinition": field(name, "DateTime")});
    let updated =
        resource::apply_actions::<Types>(&state, &mut store, &id, 1, &[add("despatchedAt")])
            .unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["fieldDefinitions"][1]["type"]["name"], "DateTime");
    let stale = resource::apply_actions::<Types>(&state, &mut store, &id, 1, &[add("pvxCarrier")]);
    assert_eq!(code(stale), "ConcurrentModification");
    // A duplicate in the same request fails the whole update.
    let twice = [add("pvxCarrier"), add("despatchNumber")];
    assert_eq!(
        code(resource::apply_actions::<Types>(
            &state, &mut store, &id, 2, &twice
        )),
        "DuplicateField"
    );
    assert_eq!(
        store.types[&id]["fieldDefinitions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let rename = json!({"action": "changeName", "name": {"en": "PVX delivery"}});
    let renamed = resource::apply_actions::<Types>(&state, &mut store, &id, 2, &[rename]).unwrap();
    assert_eq!(renamed["name"]["en"], "PVX delivery");
}

#[test]
fn add_roles_adds_only_missing_roles() {
    let state = SimState::new(CtSimConfig::default());
    let mut store = Store::default();
    let channel = create_channel(
        &mut store,
        &json!({"key": "pvx", "roles": ["InventorySupply"]}),
    )
    .unwrap();
    let id = channel["id"].as_str().unwrap().to_owned();
    let add = json!({"action": "addRoles", "roles": ["OrderExport", "InventorySupply"]});
    let updated = resource::apply_actions::<Channels>(&state, &mut store, &id, 1, &[add]).unwrap();
    assert_eq!(updated["roles"], json!(["InventorySupply", "OrderExport"]));
    assert_eq!(updated["version"], 2);
    let bad = json!({"action": "addRoles", "roles": ["Warehouse"]});
    assert_eq!(
        code(resource::apply_actions::<Channels>(
            &state,
            &mut store,
            &id,
            2,
            &[bad]
        )),
        "InvalidJsonInput"
    );
}

fn order() -> Value {
    json!({
        "id": "o-1", "version": 1, "orderState": "Open",
        "lineItems": [{"id": "li-1", "quantity": 2, "variant": {"sku": "TEE"}}],
        "shippingInfo": {"shippingMethodName": "Next Day"},
    })
}

#[test]
fn custom_fields_need_an_existing_type() {
    let mut store = Store::default();
    let type_id = create_type(&mut store, &delivery_type()).unwrap()["id"].clone();
    let mut order = order();
    let custom = |key: &str| json!({"type": {"typeId": "type", "key": key}, "fields": {"despatchNumber": "D1"}});
    let missing = json!({"action": "addDelivery", "deliveryKey": "d-1", "custom": custom("nope")});
    assert_eq!(
        code(apply(&store, &mut order, &missing)),
        "ReferencedResourceNotFound"
    );
    let parcel_missing = json!({"action": "addDelivery", "deliveryKey": "d-1",
        "parcels": [{"key": "p-1", "custom": custom("nope")}]});
    assert_eq!(
        code(apply(&store, &mut order, &parcel_missing)),
        "ReferencedResourceNotFound"
    );
    let ok =
        json!({"action": "addDelivery", "deliveryKey": "d-1", "custom": custom("ctpvx-delivery")});
    apply(&store, &mut order, &ok).unwrap();
    let delivery = &order["shippingInfo"]["deliveries"][0];
    assert_eq!(
        delivery["custom"]["type"],
        json!({"typeId": "type", "id": type_id})
    );
    assert_eq!(delivery["custom"]["fields"]["despatchNumber"], "D1");
    let by_id = json!({"action": "setCustomType", "type": {"typeId": "type", "id": "t-x"}});
    assert_eq!(
        code(apply(&store, &mut order, &by_id)),
        "ReferencedResourceNotFound"
    );
    let set = json!({"action": "setDeliveryCustomType", "deliveryKey": "d-1"});
    apply(&store, &mut order, &set).unwrap();
    assert!(
        order["shippingInfo"]["deliveries"][0]
            .get("custom")
            .is_none()
    );
}
