//! The simulator's own rules, checked without HTTP.

use serde_json::{Value, json};

use super::channels::create_channel;
use super::errors::ApiResult;
use super::inventory::{create_entry, find_entry};
use super::order_actions::apply;
use super::placement::{self, OutOfStock};
use super::query::paged_query;
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

/// A store with a warehouse channel `wh` and entries: A in `wh` (5), A without channel (2),
/// B in `wh` (1, restockable in 3 days).
fn stocked() -> (Store, String) {
    let mut store = Store::default();
    let wh = create_channel(&mut store, &json!({"key": "wh"})).unwrap();
    let wh = wh["id"].as_str().unwrap().to_owned();
    let at_wh = json!({"typeId": "channel", "id": wh});
    for draft in [
        json!({"sku": "A", "quantityOnStock": 5, "supplyChannel": at_wh}),
        json!({"sku": "A", "quantityOnStock": 2}),
        json!({"sku": "B", "quantityOnStock": 1, "supplyChannel": at_wh, "restockableInDays": 3}),
    ] {
        create_entry(&mut store, &draft).unwrap();
    }
    (store, wh)
}

fn line(sku: &str, quantity: i64, channel: Option<&str>) -> Value {
    let mut line = json!({"id": sku, "variant": {"sku": sku}, "quantity": quantity});
    if let Some(id) = channel {
        line["supplyChannel"] = json!({"typeId": "channel", "id": id});
    }
    line
}

fn stock(store: &Store, sku: &str, channel: Option<&str>) -> (i64, i64, i64) {
    let e = find_entry(store, sku, channel).unwrap();
    (
        e["quantityOnStock"].as_i64().unwrap(),
        e["availableQuantity"].as_i64().unwrap(),
        e["version"].as_i64().unwrap(),
    )
}

fn place(store: &mut Store, order: &Value) -> Result<(), OutOfStock> {
    let deductions = placement::plan(store, order).unwrap()?;
    placement::apply(store, &deductions);
    Ok(())
}

#[test]
fn track_only_deducts_below_zero_and_needs_an_entry() {
    let (mut store, wh) = stocked();
    let order = json!({"inventoryMode": "TrackOnly",
        "lineItems": [line("A", 4, Some(&wh)), line("A", 4, Some(&wh)), line("A", 1, None)]});
    place(&mut store, &order).unwrap();
    assert_eq!(stock(&store, "A", Some(&wh)), (-3, -3, 2));
    assert_eq!(stock(&store, "A", None), (1, 1, 2));
    let missing = json!({"inventoryMode": "TrackOnly", "lineItems": [line("C", 1, Some(&wh))]});
    assert_eq!(
        place(&mut store, &missing),
        Err(OutOfStock {
            skus: vec!["C".into()]
        })
    );
}

#[test]
fn reserve_on_order_checks_the_sum_and_is_all_or_nothing() {
    let (mut store, wh) = stocked();
    // 3 + 3 > 5 in wh: short, and the channel-less line, which fits, changes nothing either.
    let order = json!({"inventoryMode": "ReserveOnOrder",
        "lineItems": [line("A", 1, None), line("A", 3, Some(&wh)), line("A", 3, Some(&wh))]});
    assert_eq!(
        place(&mut store, &order),
        Err(OutOfStock {
            skus: vec!["A".into()]
        })
    );
    assert_eq!(stock(&store, "A", Some(&wh)), (5, 5, 1));
    assert_eq!(stock(&store, "A", None), (2, 2, 1));
    // restockableInDays lets B go short.
    let order = json!({"inventoryMode": "ReserveOnOrder",
        "lineItems": [line("A", 5, Some(&wh)), line("B", 3, Some(&wh))]});
    place(&mut store, &order).unwrap();
    assert_eq!(stock(&store, "A", Some(&wh)), (0, 0, 2));
    assert_eq!(stock(&store, "B", Some(&wh)), (-2, -2, 2));
}

#[test]
fn a_line_mode_wins_and_none_changes_nothing() {
    let (mut store, wh) = stocked();
    let mut untracked = line("A", 9, Some(&wh));
    untracked["inventoryMode"] = "None".into();
    let mut tracked = line("A", 1, None);
    tracked["inventoryMode"] = "TrackOnly".into();
    let order = json!({"inventoryMode": "ReserveOnOrder", "lineItems": [untracked, tracked]});
    place(&mut store, &order).unwrap();
    assert_eq!(stock(&store, "A", Some(&wh)), (5, 5, 1));
    assert_eq!(stock(&store, "A", None), (1, 1, 2));
    place(&mut store, &json!({"lineItems": [line("Z", 1, None)]})).unwrap();
    let cart = json!({"inventoryMode": "ReserveOnCart", "lineItems": []});
    assert!(placement::plan(&store, &cart).is_err());
}

#[test]
fn over_long_predicates_are_refused_with_414() {
    let entries =
        std::collections::BTreeMap::from([("1".to_owned(), json!({"id": "1", "sku": "A"}))]);
    let skus = vec!["\"A-0000\""; 1_000].join(", ");
    let params = vec![("where".to_owned(), format!("sku in ({skus})"))];
    let err = paged_query(&entries, &params, &["sku"]).unwrap_err();
    assert_eq!(err.code(), "InvalidInput");
    assert!(format!("{err:?}").contains("414"), "{err:?}");
}

#[test]
fn an_order_number_is_set_once_unique_and_indexed() {
    use super::orders::Orders;
    use super::resource::Resource;
    let mut store = Store::default();
    store.order_numbers.insert("TAKEN".into(), "o-2".into());
    let mut order = order();
    order["orderNumber"] = Value::Null;
    let before = order.clone();
    let set = |number: &str| json!({"action": "setOrderNumber", "orderNumber": number});
    assert_eq!(
        code(run(&store, &mut order, set("TAKEN"))),
        "DuplicateField"
    );
    run(&store, &mut order, set("N-1")).unwrap();
    assert_eq!(order["orderNumber"], "N-1");
    Orders::updated(&mut store, &before, &order);
    assert_eq!(store.order_numbers["N-1"], "o-1");
    assert_eq!(
        code(run(&store, &mut order, set("N-2"))),
        "InvalidOperation"
    );
    assert_eq!(
        code(run(&store, &mut order, json!({"action": "setOrderNumber"}))),
        "InvalidJsonInput"
    );
}

/// The callbacks' lookup by Peoplevox number: `orderNumber in (…) or syncInfo(channel(id=…)
/// and externalId in (…))` parses, matches by either, and reads only the orders it can match.
#[test]
fn orders_are_found_by_order_number_or_by_their_export_mark() {
    use super::new_order::NewOrder;
    use super::orders::Orders;
    use super::predicate::Predicate;
    use super::resource::Resource;
    let mut store = Store::default();
    let mark = |external: &str| json!([{"channel": {"typeId": "channel", "id": "ch-x"}, "externalId": external}]);
    for order in [
        json!({"id": "a", "orderNumber": "N-1", "lineItems": []}),
        json!({"id": "b", "lineItems": [], "syncInfo": mark("CT-b")}),
        json!({"id": "c", "orderNumber": "N-3", "lineItems": [], "syncInfo": mark("N-3")}),
        json!({"id": "d", "orderNumber": "CT-b", "lineItems": []}),
    ] {
        NewOrder::prepare(order)
            .unwrap()
            .insert(&mut store)
            .unwrap();
    }
    let predicate = Predicate::parse(
        r#"orderNumber in ("N-1", "CT-b") or syncInfo(channel(id="ch-x") and externalId in ("N-1", "CT-b"))"#,
        Orders::QUERY_FIELDS,
    )
    .unwrap();
    let candidates = Orders::candidates(&store, std::slice::from_ref(&predicate)).unwrap();
    assert_eq!(candidates.into_iter().collect::<Vec<_>>(), ["a", "b", "d"]);
    let matching: Vec<&str> = store
        .orders
        .iter()
        .filter(|(_, o)| predicate.matches(o))
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(matching, ["a", "b", "d"]);
    // A term that pins neither leaves the query to test every order.
    let open = Predicate::parse(
        r#"orderNumber in ("N-1") or orderState = "Open""#,
        Orders::QUERY_FIELDS,
    )
    .unwrap();
    assert_eq!(Orders::candidates(&store, &[open]), None);
}

#[test]
fn an_export_mark_is_found_by_when_it_was_stamped() {
    use super::orders::Orders;
    use super::predicate::Predicate;
    use super::resource::Resource;
    let marked = |id: &str, at: &str| json!({"id": id, "syncInfo": [{"channel": {"typeId": "channel", "id": "ch-x"}, "syncedAt": at}]});
    let orders = [
        json!({"id": "none"}),
        marked("early", "2026-01-01T10:00:00.5Z"),
        marked("late", "2026-01-01T10:00:01.000000001Z"),
    ];
    // Instants, not strings: ".5Z" sorts after "01" as text but is earlier.
    let predicate = Predicate::parse(
        r#"not(syncInfo(channel(id="ch-x") and syncedAt <= "2026-01-01T10:00:01.000Z"))"#,
        Orders::QUERY_FIELDS,
    )
    .unwrap();
    let matching: Vec<&str> = orders
        .iter()
        .filter(|o| predicate.matches(o))
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(matching, ["none", "late"]);
}

#[test]
fn a_staged_order_is_placed_once_at_its_moment_of_its_route() {
    use super::staged::Moment;
    let state = SimState::new(CtSimConfig::default());
    let wh = {
        let mut store = state.store();
        let wh = create_channel(&mut store, &json!({"key": "wh"})).unwrap();
        let wh = wh["id"].as_str().unwrap().to_owned();
        let at_wh = json!({"typeId": "channel", "id": wh});
        create_entry(
            &mut store,
            &json!({"sku": "A", "quantityOnStock": 5, "supplyChannel": at_wh}),
        )
        .unwrap();
        wh
    };
    let order = json!({
        "id": "o-1", "inventoryMode": "TrackOnly", "lineItems": [line("A", 2, Some(&wh))]
    });
    let route = "GET /{project}/inventory";
    state.staged.stage(
        &[route, "GET /{project}/orders"],
        Moment::BeforeAnswer,
        order,
    );
    state
        .staged
        .fire(&state, "GET /{project}/channels", Moment::BeforeAnswer);
    state.staged.fire(&state, route, Moment::BeforeHandling);
    assert!(
        state.staged.outcomes().is_empty(),
        "not its route or moment"
    );
    state.staged.fire(&state, route, Moment::BeforeAnswer);
    state.staged.fire(&state, route, Moment::BeforeAnswer);
    assert_eq!(state.staged.outcomes(), [Ok("o-1".to_string())]);
    assert_eq!(stock(&state.store(), "A", Some(&wh)).0, 3);
}
