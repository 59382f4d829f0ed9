//! States, `transitionState`, the state history and commercetools-side cancellation.

use serde_json::{Value, json};

use super::errors::ApiResult;
use super::history::StateChange;
use super::orders::Orders;
use super::resource::apply_actions;
use super::state::{CtSimConfig, SimState, Store};
use super::states::create_state;
use super::{CtSim, order_actions};

fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> String {
    result.unwrap_err().code().to_owned()
}

fn order(id: &str, number: &str) -> Value {
    json!({
        "id": id, "version": 1, "orderNumber": number, "orderState": "Open",
        "shipmentState": "Pending", "lineItems": [],
        "custom": {"type": {"typeId": "type", "id": "t"}, "fields": {"pvxStatus": "New"}},
    })
}

fn transition(reference: Value) -> Value {
    json!({"action": "transitionState", "state": reference, "force": true})
}

#[test]
fn states_are_created_once_and_checked() {
    let mut store = Store::default();
    let created = create_state(
        &mut store,
        &json!({"key": "pvx-sent", "type": "OrderState"}),
    )
    .unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["initial"], true);
    assert_eq!(created["builtIn"], false);
    assert!(created["transitions"].is_null());
    let again = json!({"key": "pvx-sent", "type": "OrderState"});
    assert_eq!(code(create_state(&mut store, &again)), "DuplicateField");
    let bad_type = json!({"key": "other", "type": "Order"});
    assert_eq!(
        code(create_state(&mut store, &bad_type)),
        "InvalidJsonInput"
    );
    let no_key = json!({"type": "OrderState"});
    assert_eq!(code(create_state(&mut store, &no_key)), "InvalidJsonInput");
    assert_eq!(store.states.len(), 1);
}

#[test]
fn transition_state_resolves_by_id_or_key() {
    let mut store = Store::default();
    let sent = create_state(&mut store, &json!({"key": "sent", "type": "OrderState"})).unwrap();
    create_state(&mut store, &json!({"key": "li", "type": "LineItemState"})).unwrap();
    let mut order = order("o-1", "1");
    let by_key = transition(json!({"typeId": "state", "key": "sent"}));
    order_actions::apply(&store, &mut order, &by_key).unwrap();
    assert_eq!(order["state"], json!({"typeId": "state", "id": sent["id"]}));
    order["state"] = Value::Null;
    let by_id = transition(json!({"typeId": "state", "id": sent["id"]}));
    order_actions::apply(&store, &mut order, &by_id).unwrap();
    assert_eq!(order["state"]["id"], sent["id"]);
    let missing = transition(json!({"typeId": "state", "key": "nope"}));
    assert_eq!(
        code(order_actions::apply(&store, &mut order, &missing)),
        "ReferencedResourceNotFound"
    );
    let missing_id = transition(json!({"typeId": "state", "id": "nope"}));
    assert_eq!(
        code(order_actions::apply(&store, &mut order, &missing_id)),
        "ReferencedResourceNotFound"
    );
    let wrong_type = transition(json!({"typeId": "state", "key": "li"}));
    assert_eq!(
        code(order_actions::apply(&store, &mut order, &wrong_type)),
        "InvalidOperation"
    );
    let no_state = json!({"action": "transitionState"});
    assert_eq!(
        code(order_actions::apply(&store, &mut order, &no_state)),
        "InvalidJsonInput"
    );
}

#[test]
fn history_compares_before_and_after_the_whole_update() {
    let state = SimState::new(CtSimConfig::default());
    let mut store = Store::default();
    let sent = create_state(&mut store, &json!({"key": "sent", "type": "OrderState"})).unwrap();
    store.orders.insert("o-1".into(), order("o-1", "10001"));
    let actions = [
        json!({"action": "changeShipmentState", "shipmentState": "Ready"}),
        json!({"action": "changeShipmentState", "shipmentState": "Shipped"}),
        // Set and reset within the update: no change.
        json!({"action": "changeOrderState", "orderState": "Confirmed"}),
        json!({"action": "changeOrderState", "orderState": "Open"}),
        json!({"action": "setCustomField", "name": "pvxStatus", "value": "Despatched"}),
        transition(json!({"typeId": "state", "key": "sent"})),
    ];
    apply_actions::<Orders>(&state, &mut store, "o-1", 1, &actions).unwrap();
    let change = |field: &str, from: Option<&str>, to: Option<&str>| StateChange {
        order_id: "o-1".into(),
        order_number: Some("10001".into()),
        field: field.into(),
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
        version: 2,
    };
    let sent_id = sent["id"].as_str().unwrap();
    assert_eq!(
        store.state_history,
        vec![
            change("shipmentState", Some("Pending"), Some("Shipped")),
            change("state", None, Some(sent_id)),
            change("pvxStatus", Some("New"), Some("Despatched")),
        ]
    );
    // A failing update and a stale one record nothing; a removed field goes to None.
    let failing = [
        json!({"action": "changeOrderState", "orderState": "Complete"}),
        json!({"action": "fly"}),
    ];
    assert!(apply_actions::<Orders>(&state, &mut store, "o-1", 2, &failing).is_err());
    let remove = [json!({"action": "setCustomField", "name": "pvxStatus"})];
    assert!(apply_actions::<Orders>(&state, &mut store, "o-1", 1, &remove).is_err());
    apply_actions::<Orders>(&state, &mut store, "o-1", 2, &remove).unwrap();
    assert_eq!(store.state_history.len(), 4);
    let last = &store.state_history[3];
    assert_eq!(
        (last.from.as_deref(), last.to.as_deref(), last.version),
        (Some("Despatched"), None, 3)
    );
}

#[tokio::test]
async fn ensure_state_and_the_rust_side_update_record_history() {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    let id = sim.ensure_state("pvx-sent").unwrap();
    assert_eq!(sim.ensure_state("pvx-sent").unwrap(), id);
    sim.insert_order_json(order("o-1", "10001")).unwrap();
    let updated = sim
        .apply_order_actions(
            "o-1",
            vec![transition(json!({"typeId": "state", "key": "pvx-sent"}))],
        )
        .unwrap();
    assert_eq!(updated.version, 2);
    let history = sim.state_history();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].field.as_str(), history[0].to.as_deref()),
        ("state", Some(id.as_str()))
    );
    sim.stop().await;
}

#[tokio::test]
async fn cancel_order_returns_the_order_state_changed_message() {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    sim.insert_order_json(order("o-1", "10001")).unwrap();
    let message = sim.cancel_order("o-1").unwrap();
    let stored = sim.order_json("o-1").unwrap();
    assert_eq!(stored["orderState"], "Cancelled");
    assert_eq!(stored["version"], 2);
    assert_eq!(message["notificationType"], "Message");
    assert_eq!(message["projectKey"], "ctpvx-sim");
    assert_eq!(message["version"], 1);
    assert_eq!(message["sequenceNumber"], 2);
    assert_eq!(message["resource"], json!({"typeId": "order", "id": "o-1"}));
    assert_eq!(message["resourceVersion"], 2);
    assert_eq!(
        message["resourceUserProvidedIdentifiers"]["orderNumber"],
        "10001"
    );
    assert_eq!(message["type"], "OrderStateChanged");
    assert_eq!(message["orderState"], "Cancelled");
    assert_eq!(message["oldOrderState"], "Open");
    assert_eq!(message["createdAt"], stored["lastModifiedAt"]);
    assert!(message["id"].as_str().is_some_and(|id| id.len() == 36));
    let history = sim.state_history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].field, "orderState");
    assert_eq!(history[0].to.as_deref(), Some("Cancelled"));
    assert!(sim.cancel_order("o-1").is_err());
    assert!(sim.cancel_order("o-x").is_err());
    assert_eq!(sim.order_json("o-1").unwrap()["version"], 2);
    sim.stop().await;
}

#[tokio::test]
async fn states_are_served_over_http() {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    let http = reqwest::Client::new();
    let config = sim.config().clone();
    let token: Value = http
        .post(format!("{}/oauth/token", sim.auth_url()))
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let base = format!("{}/{}/states", sim.api_url(), config.project_key);
    let missing = http
        .get(format!("{base}/key=pvx-sent"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "ResourceNotFound");
    let draft = json!({"key": "pvx-sent", "type": "OrderState", "initial": false});
    let created = http
        .post(&base)
        .bearer_auth(&bearer)
        .json(&draft)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["initial"], false);
    let duplicate = http
        .post(&base)
        .bearer_auth(&bearer)
        .json(&draft)
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 400);
    let body: Value = duplicate.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DuplicateField");
    let found: Value = http
        .get(format!("{base}/key=pvx-sent"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["id"], created["id"]);
    assert_eq!(sim.ensure_state("pvx-sent").unwrap(), created["id"]);
    sim.stop().await;
}

/// Queries that pin `id` or `orderNumber` read those orders through the index and answer
/// exactly what testing every order would.
#[test]
fn order_queries_by_id_or_number_match_a_full_scan() {
    use super::query::PagedQuery;
    use super::resource::Resource;

    let mut store = Store::default();
    for n in 0..60 {
        let (id, number) = (format!("o-{n:03}"), format!("{}", 10_000 + n));
        let mut o = order(&id, &number);
        if n % 4 == 0 {
            o["orderState"] = "Cancelled".into();
        }
        store.order_numbers.insert(number, id.clone());
        store.orders.insert(id, o);
    }
    let wheres = [
        r#"id in ("o-004", "o-005", "o-008", "nope") and orderState = "Cancelled""#,
        r#"orderNumber = "10007""#,
        r#"orderNumber in ("10001", "10002") and id = "o-002""#,
        r#"id = "o-003" or orderNumber = "10009""#,
        r#"orderState = "Cancelled""#,
    ];
    for w in wheres {
        let params = vec![
            ("where".to_string(), w.to_string()),
            ("limit".to_string(), "500".to_string()),
        ];
        let query = PagedQuery::parse(&params, Orders::QUERY_FIELDS).unwrap();
        let served = query.answer(
            &store.orders,
            Orders::candidates(&store, query.predicates()),
        );
        let full = query.answer(&store.orders, None);
        assert_eq!(served, full, "{w}");
    }
    let params = vec![(
        "where".to_string(),
        r#"id in ("o-004", "o-005", "o-008") and orderState = "Cancelled""#.to_string(),
    )];
    let query = PagedQuery::parse(&params, Orders::QUERY_FIELDS).unwrap();
    let served = query.answer(
        &store.orders,
        Orders::candidates(&store, query.predicates()),
    );
    let ids: Vec<&str> = served["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["o-004", "o-008"]);
    let narrowed = Orders::candidates(&store, query.predicates()).unwrap();
    assert_eq!(narrowed.len(), 3, "only the pinned ids are read");
}
