//! The simulator's own rules, checked without HTTP.

use serde_json::{Value, json};

use super::channels::create_channel;
use super::errors::ApiResult;
use super::order_actions::apply;
use super::state::{CtSimConfig, SimState, Store, versioned_update};

fn store_with_channels() -> Store {
    let mut store = Store::default();
    create_channel(
        &mut store,
        &json!({"key": "pvx-export", "roles": ["OrderExport"]}),
    )
    .unwrap();
    create_channel(&mut store, &json!({"key": "pvx-stock"})).unwrap();
    store
}

fn order() -> Value {
    json!({
        "id": "o-1", "version": 3, "orderNumber": "10001", "orderState": "Open",
        "lineItems": [{"id": "li-1", "quantity": 2, "variant": {"sku": "TEE"}}],
        "shippingInfo": {"shippingMethodName": "Next Day"},
        "custom": {"type": {"typeId": "type", "id": "t"}, "fields": {}},
    })
}

fn run(store: &Store, order: &mut Value, action: Value) -> ApiResult<()> {
    apply(store, order, &action)
}

fn code(result: ApiResult<()>) -> String {
    result.unwrap_err().code().to_owned()
}

#[test]
fn sync_info_needs_an_existing_export_channel() {
    let store = store_with_channels();
    let mut order = order();
    let export = json!({"typeId": "channel", "key": "pvx-export"});
    run(
        &store,
        &mut order,
        json!({"action": "updateSyncInfo", "channel": export, "externalId": "P1"}),
    )
    .unwrap();
    assert_eq!(order["syncInfo"][0]["externalId"], "P1");
    assert!(order["syncInfo"][0]["channel"]["id"].is_string());
    let stock = json!({"typeId": "channel", "key": "pvx-stock"});
    let wrong_role = run(
        &store,
        &mut order,
        json!({"action": "updateSyncInfo", "channel": stock}),
    );
    assert_eq!(code(wrong_role), "InvalidInput");
    let missing = json!({"typeId": "channel", "id": "nope"});
    let missing = run(
        &store,
        &mut order,
        json!({"action": "updateSyncInfo", "channel": missing}),
    );
    assert_eq!(code(missing), "ReferencedResourceNotFound");
}

#[test]
fn deliveries_parcels_and_tracking() {
    let store = Store::default();
    let mut order = order();
    let add = json!({"action": "addDelivery", "deliveryKey": "pvx-d-1",
        "items": [{"id": "li-1", "quantity": 2}],
        "parcels": [{"key": "pvx-p-1", "trackingData": {"trackingId": "T1", "isReturn": false}}]});
    run(&store, &mut order, add.clone()).unwrap();
    assert_eq!(code(run(&store, &mut order, add)), "DuplicateField");
    let parcel =
        json!({"action": "addParcelToDelivery", "deliveryKey": "pvx-d-1", "parcelKey": "pvx-p-2"});
    run(&store, &mut order, parcel).unwrap();
    let untrack = json!({"action": "setParcelTrackingData", "parcelKey": "pvx-p-1"});
    run(&store, &mut order, untrack).unwrap();
    let delivery = &order["shippingInfo"]["deliveries"][0];
    assert_eq!(delivery["parcels"].as_array().unwrap().len(), 2);
    assert!(delivery["parcels"][0].get("trackingData").is_none());
    let unknown_line = json!({"action": "addDelivery", "items": [{"id": "li-x", "quantity": 1}]});
    assert_eq!(
        code(run(&store, &mut order, unknown_line)),
        "InvalidOperation"
    );
}

#[test]
fn states_custom_fields_and_unknown_actions() {
    let store = Store::default();
    let mut order = order();
    run(
        &store,
        &mut order,
        json!({"action": "changeShipmentState", "shipmentState": "Shipped"}),
    )
    .unwrap();
    assert_eq!(order["shipmentState"], "Shipped");
    let bad = json!({"action": "changeOrderState", "orderState": "Canceled"});
    assert_eq!(code(run(&store, &mut order, bad)), "InvalidJsonInput");
    run(
        &store,
        &mut order,
        json!({"action": "setCustomField", "name": "pvx", "value": "X"}),
    )
    .unwrap();
    assert_eq!(order["custom"]["fields"]["pvx"], "X");
    run(
        &store,
        &mut order,
        json!({"action": "setCustomField", "name": "pvx"}),
    )
    .unwrap();
    assert!(order["custom"]["fields"].get("pvx").is_none());
    assert_eq!(
        code(run(&store, &mut order, json!({"action": "fly"}))),
        "InvalidInput"
    );
}

#[test]
fn updates_are_versioned_and_atomic() {
    let state = SimState::new(CtSimConfig::default());
    let store = Store::default();
    let mut order = order();
    let stale = versioned_update(&state, &mut order, 2, |_| Ok(()));
    assert_eq!(stale.unwrap_err().code(), "ConcurrentModification");
    let failing = versioned_update(&state, &mut order, 3, |copy| {
        run(
            &store,
            copy,
            json!({"action": "changeShipmentState", "shipmentState": "Ready"}),
        )?;
        run(&store, copy, json!({"action": "fly"}))
    });
    assert!(failing.is_err());
    assert_eq!(order["version"], 3);
    assert!(order.get("shipmentState").is_none());
    state.bump_version_before_next_update(1);
    assert!(versioned_update(&state, &mut order, 3, |_| Ok(())).is_err());
    let updated = versioned_update(&state, &mut order, 4, |_| Ok(())).unwrap();
    assert_eq!(updated["version"], 5);
}
