//! The real commercetools client against the real simulator over loopback HTTP.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ctpvx_infra::sim::commercetools::{CtSim, CtSimConfig};
use ctpvx_shared::commercetools::actions::{
    DeliveryItem, OrderUpdateAction, ParcelDraft, ShipmentState, TrackingData, reference_by_id,
};
use ctpvx_shared::commercetools::types::{Channel, ChannelRole, Order};
use ctpvx_shared::commercetools::{CtClient, CtError, Decision};
use serde_json::{Value, json};

const TOKEN: &str = "POST /oauth/token";
const GET_ORDER: &str = "GET /{project}/orders/{id}";
const POST_ORDER: &str = "POST /{project}/orders/{id}";

/// A commercetools order as the API sends it, with a line item, shipping info and custom type.
fn order_json(number: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "version": 1,
        "orderNumber": number,
        "customerEmail": "jane@example.com",
        "orderState": "Open",
        "shipmentState": "Pending",
        "lineItems": [{"id": "li-1", "productId": "p-1", "name": {"en": "T-shirt"},
                       "variant": {"id": 1, "sku": "TEE-RED-M"}, "quantity": 2}],
        "shippingAddress": {"country": "GB", "city": "London"},
        "shippingInfo": {"shippingMethodName": "Next Day"},
        "custom": {"type": {"typeId": "type", "id": "t-1"}, "fields": {}},
        "createdAt": "2026-08-30T09:00:00.000Z",
    })
}

struct Fixture {
    sim: CtSim,
    client: CtClient,
    order: Order,
    export: Channel,
}

async fn fixture() -> Fixture {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    let order = sim.insert_order_json(order_json("10001")).unwrap();
    let export = sim
        .ensure_channel("pvx-export", &[ChannelRole::OrderExport])
        .unwrap();
    let client = CtClient::new(sim.settings()).unwrap();
    Fixture {
        sim,
        client,
        order,
        export,
    }
}

fn delivery_keys(order: &Order) -> Vec<String> {
    order
        .shipping_info
        .iter()
        .flat_map(|s| &s.deliveries)
        .filter_map(|d| d["key"].as_str().map(str::to_owned))
        .collect()
}

fn add_delivery(key: &str) -> OrderUpdateAction {
    OrderUpdateAction::AddDelivery {
        delivery_key: Some(key.into()),
        shipping_key: None,
        items: vec![DeliveryItem {
            id: "li-1".into(),
            quantity: 2,
        }],
        address: None,
        parcels: vec![ParcelDraft {
            key: Some(format!("{key}-p1")),
            tracking_data: Some(TrackingData {
                tracking_id: Some("1550".into()),
                carrier: Some("DPD".into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        custom: None,
    }
}

#[tokio::test]
async fn one_token_serves_many_concurrent_calls() {
    let f = fixture().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = f.client.clone();
        let id = f.order.id.clone();
        tasks.spawn(async move { client.get_order(&id).await });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
    }
    for _ in 0..5 {
        f.client.get_order_by_number("10001").await.unwrap();
    }
    assert_eq!(f.sim.requests_to(TOKEN), 1);
    assert_eq!(f.client.requests_made(), 18);
}

#[tokio::test]
async fn an_expired_token_is_replaced_once() {
    let f = fixture().await;
    f.client.get_order(&f.order.id).await.unwrap();
    f.sim.expire_tokens();
    let order = f.client.get_order(&f.order.id).await.unwrap();
    assert_eq!(order.id, f.order.id);
    assert_eq!(f.sim.requests_to(TOKEN), 2);
    // The first call, the refused one and its repetition.
    assert_eq!(f.sim.requests_to(GET_ORDER), 3);
}

#[tokio::test]
async fn orders_by_id_and_by_encoded_number() {
    let f = fixture().await;
    let odd = f.sim.insert_order_json(order_json("A/10 #2?x=1")).unwrap();
    assert_eq!(f.client.get_order(&f.order.id).await.unwrap(), f.order);
    let by_number = f.client.get_order_by_number("A/10 #2?x=1").await.unwrap();
    assert_eq!(by_number.id, odd.id);
    assert_eq!(
        by_number.line_items[0].variant.sku.as_deref(),
        Some("TEE-RED-M")
    );
}

#[tokio::test]
async fn unknown_resources_are_not_found() {
    let f = fixture().await;
    let err = f.client.get_order("no-such-id").await.unwrap_err();
    assert!(matches!(err, CtError::NotFound { .. }), "{err:?}");
    let err = f.client.get_order_by_number("99999").await.unwrap_err();
    assert!(matches!(err, CtError::NotFound { .. }), "{err:?}");
    assert_eq!(f.client.get_channel_by_key("nope").await.unwrap(), None);
    // Not found is final: no retries.
    assert_eq!(f.sim.requests_to(GET_ORDER), 1);
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_with_the_current_version() {
    let f = fixture().await;
    let ship = [OrderUpdateAction::ChangeShipmentState {
        shipment_state: ShipmentState::Ready,
    }];
    let updated = f.client.update_order(&f.order.id, 1, &ship).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.shipment_state.as_deref(), Some("Ready"));
    let err = f
        .client
        .update_order(&f.order.id, 1, &ship)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CtError::ConcurrentModification {
                current_version: Some(2)
            }
        ),
        "{err:?}"
    );
    assert_eq!(f.sim.requests_to(POST_ORDER), 2);
}

#[tokio::test]
async fn update_with_converges_under_concurrent_writers_without_duplicates() {
    let f = fixture().await;
    f.sim.bump_version_before_next_update(3);
    let decisions = AtomicU32::new(0);
    let channel_id = f.export.id.clone();
    let outcome = f
        .client
        .update_order_with(&f.order.id, 5, |order| {
            decisions.fetch_add(1, Ordering::Relaxed);
            let mut actions = Vec::new();
            if order.sync_info_for(&channel_id).is_none() {
                actions.push(OrderUpdateAction::UpdateSyncInfo {
                    channel: reference_by_id("channel", &channel_id),
                    external_id: Some("PVX-1".into()),
                    synced_at: None,
                });
            }
            if !delivery_keys(order).contains(&"pvx-d-1".to_owned()) {
                actions.push(add_delivery("pvx-d-1"));
            }
            Decision::Update(actions)
        })
        .await
        .unwrap();
    assert!(outcome.applied);
    assert_eq!(outcome.attempts, 4);
    assert_eq!(decisions.load(Ordering::Relaxed), 4);
    let stored = f.sim.order(&f.order.id).unwrap();
    assert_eq!(stored.sync_info.len(), 1);
    assert_eq!(stored.sync_info[0].external_id.as_deref(), Some("PVX-1"));
    assert_eq!(delivery_keys(&stored), ["pvx-d-1"]);
    // 1, three writes by others, then ours.
    assert_eq!(stored.version, 5);
    assert_eq!(outcome.order, stored);

    // Run again: the order already is as wanted, so nothing is sent.
    let again = f
        .client
        .update_order_with(&f.order.id, 5, |order| {
            if delivery_keys(order).is_empty() {
                Decision::Update(vec![add_delivery("pvx-d-1")])
            } else {
                Decision::Done
            }
        })
        .await
        .unwrap();
    assert!(!again.applied);
    assert_eq!(f.sim.requests_to(POST_ORDER), 4);
}

#[tokio::test]
async fn a_relative_action_is_decided_again_after_a_conflict() {
    let f = fixture().await;
    let sim = &f.sim;
    let id = f.order.id.clone();
    let decisions = AtomicU32::new(0);
    let outcome = f
        .client
        .update_order_with(&f.order.id, 3, |order| {
            if decisions.fetch_add(1, Ordering::Relaxed) == 0 {
                // Between our read and our write another writer records the same despatch.
                let same = serde_json::to_value(add_delivery("pvx-d-7")).unwrap();
                sim.apply_order_actions(&id, vec![same]).unwrap();
            }
            if delivery_keys(order).contains(&"pvx-d-7".to_owned()) {
                Decision::Done
            } else {
                Decision::Update(vec![add_delivery("pvx-d-7")])
            }
        })
        .await
        .unwrap();
    assert!(!outcome.applied);
    assert_eq!(outcome.attempts, 2);
    assert_eq!(
        delivery_keys(&f.sim.order(&f.order.id).unwrap()),
        ["pvx-d-7"]
    );
}

#[tokio::test]
async fn overload_is_retried_and_the_write_applies_once() {
    let f = fixture().await;
    f.sim.faults().fail_next(2);
    f.client.get_order(&f.order.id).await.unwrap();
    // Token request and GET share the two 503s; both are retried.
    assert_eq!(f.sim.request_count(), 4);

    f.sim.faults().fail_next(1);
    let ship = [OrderUpdateAction::ChangeShipmentState {
        shipment_state: ShipmentState::Shipped,
    }];
    let updated = f.client.update_order(&f.order.id, 1, &ship).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(f.sim.requests_to(POST_ORDER), 2);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let f = fixture().await;
    f.client.get_order(&f.order.id).await.unwrap();
    f.sim.rate_limit_next(1);
    f.client.get_order(&f.order.id).await.unwrap();
    assert_eq!(f.sim.requests_to(GET_ORDER), 3);
}

#[tokio::test]
async fn persistent_overload_gives_up_after_max_retries() {
    let f = fixture().await;
    f.client.get_order(&f.order.id).await.unwrap();
    f.sim.faults().fail_next(10);
    let err = f.client.get_order(&f.order.id).await.unwrap_err();
    assert!(
        matches!(err, CtError::Unavailable { status: 503, .. }),
        "{err:?}"
    );
    // The first attempt and max_retries (3) more.
    assert_eq!(f.sim.requests_to(GET_ORDER), 5);
}

#[tokio::test]
async fn a_timed_out_write_is_not_resent() {
    let f = fixture().await;
    let mut settings = f.sim.settings();
    settings.request_timeout = Duration::from_millis(300);
    let client = CtClient::new(settings).unwrap();
    client.get_order(&f.order.id).await.unwrap();
    f.sim.faults().set_hang(Duration::from_secs(3));
    f.sim.faults().set_timeout_rate(1.0);
    let ship = [OrderUpdateAction::ChangeShipmentState {
        shipment_state: ShipmentState::Shipped,
    }];
    let err = client
        .update_order(&f.order.id, 1, &ship)
        .await
        .unwrap_err();
    f.sim.faults().clear();
    assert!(err.outcome_unknown(), "{err:?}");
    assert!(
        matches!(err, CtError::Transport { timeout: true, .. }),
        "{err:?}"
    );
    assert_eq!(f.sim.requests_to(POST_ORDER), 1);
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error() {
    let f = fixture().await;
    let mut settings = f.sim.settings();
    settings.client_secret = "wrong".to_owned().into();
    let client = CtClient::new(settings).unwrap();
    let err = client.get_order(&f.order.id).await.unwrap_err();
    assert!(
        matches!(&err, CtError::Unauthorized { code, .. } if code == "invalid_client"),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert_eq!(f.sim.requests_to(TOKEN), 1);
    assert_eq!(f.sim.requests_to(GET_ORDER), 0);
}

#[tokio::test]
async fn a_missing_scope_is_forbidden() {
    let f = fixture().await;
    let mut settings = f.sim.settings();
    settings.scopes = Some(format!("view_orders:{}", f.sim.config().project_key));
    let client = CtClient::new(settings).unwrap();
    client.get_order(&f.order.id).await.unwrap();
    let ship = [OrderUpdateAction::ChangeShipmentState {
        shipment_state: ShipmentState::Shipped,
    }];
    let err = client
        .update_order(&f.order.id, 1, &ship)
        .await
        .unwrap_err();
    assert!(err.has_code("insufficient_scope"), "{err:?}");
    assert!(matches!(err, CtError::Forbidden { .. }));
}

#[tokio::test]
async fn unknown_fields_in_real_payloads_are_tolerated() {
    let f = fixture().await;
    let mut raw = order_json("20002");
    raw["someFutureField"] = json!({"nested": [1, 2, 3]});
    raw["taxedPrice"] = json!({"totalNet": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 1000, "fractionDigits": 2}});
    raw["lineItems"][0]["priceMode"] = json!("Platform");
    raw["lineItems"][0]["state"] =
        json!([{"quantity": 2, "state": {"typeId": "state", "id": "s"}}]);
    raw["shippingAddress"]["custom"] = json!({"type": {"typeId": "type", "id": "a"}, "fields": {}});
    raw["shippingInfo"]["shippingMethodState"] = json!("MatchesCart");
    raw["store"] = json!({"typeId": "store", "key": "uk"});
    let inserted = f.sim.insert_order_json(raw).unwrap();
    let order = f.client.get_order(&inserted.id).await.unwrap();
    assert_eq!(order.order_number.as_deref(), Some("20002"));
    assert_eq!(order.store.and_then(|s| s.key).as_deref(), Some("uk"));
    // The simulator keeps what it does not know, like the real API.
    let stored = f.sim.order_json(&inserted.id).unwrap();
    assert_eq!(stored["someFutureField"]["nested"][2], 3);
}

#[tokio::test]
async fn queries_filter_sort_and_refuse_what_is_not_simulated() {
    let f = fixture().await;
    for (number, created) in [
        ("10002", "2026-08-31T09:00:00.000Z"),
        ("10003", "2026-09-01T09:00:00.000Z"),
    ] {
        let mut raw = order_json(number);
        raw["createdAt"] = created.into();
        f.sim.insert_order_json(raw).unwrap();
    }
    let found = f
        .client
        .query_orders(Some(r#"orderNumber="10002""#), None, 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].order_number.as_deref(), Some("10002"));
    let recent = f
        .client
        .query_orders(
            Some(r#"createdAt > "2026-08-30T12:00:00Z""#),
            Some("createdAt desc"),
            500,
        )
        .await
        .unwrap();
    let numbers: Vec<_> = recent
        .iter()
        .filter_map(|o| o.order_number.clone())
        .collect();
    assert_eq!(numbers, ["10003", "10002"]);

    // The id cursor walk: pages of one, sorted by id.
    let mut seen = Vec::new();
    let mut predicate = None::<String>;
    loop {
        let page = f
            .client
            .query_orders(predicate.as_deref(), Some("id asc"), 1)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        seen.push(last.id.clone());
        predicate = Some(format!(r#"id > "{}""#, last.id));
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let err = f
        .client
        .query_orders(Some(r#"syncInfo is empty"#), None, 10)
        .await
        .unwrap_err();
    assert!(err.has_code("InvalidInput"), "{err:?}");
}

#[tokio::test]
async fn channels_are_created_once() {
    let f = fixture().await;
    let created = f
        .client
        .create_channel("pvx-uk", &[ChannelRole::InventorySupply])
        .await
        .unwrap();
    assert_eq!(created.roles, ["InventorySupply"]);
    let err = f
        .client
        .create_channel("pvx-uk", &[ChannelRole::InventorySupply])
        .await
        .unwrap_err();
    assert!(err.has_code("DuplicateField"), "{err:?}");
    let ensured = f
        .client
        .ensure_channel("pvx-uk", &[ChannelRole::InventorySupply])
        .await
        .unwrap();
    assert_eq!(ensured.id, created.id);
    let fetched = f.client.get_channel_by_key("pvx-export").await.unwrap();
    assert_eq!(fetched.map(|c| c.id), Some(f.export.id.clone()));
}

#[tokio::test]
async fn sync_info_needs_an_order_export_channel() {
    let f = fixture().await;
    let stock = f
        .sim
        .ensure_channel("pvx-stock", &[ChannelRole::InventorySupply])
        .unwrap();
    let sync = |channel: &str| {
        [OrderUpdateAction::UpdateSyncInfo {
            channel: reference_by_id("channel", channel),
            external_id: Some("PVX-9".into()),
            synced_at: None,
        }]
    };
    let err = f
        .client
        .update_order(&f.order.id, 1, &sync(&stock.id))
        .await
        .unwrap_err();
    assert!(matches!(err, CtError::BadRequest { .. }), "{err:?}");
    let err = f
        .client
        .update_order(&f.order.id, 1, &sync("missing"))
        .await
        .unwrap_err();
    assert!(err.has_code("ReferencedResourceNotFound"), "{err:?}");
    let order = f
        .client
        .update_order(&f.order.id, 1, &sync(&f.export.id))
        .await
        .unwrap();
    assert_eq!(
        order
            .sync_info_for(&f.export.id)
            .and_then(|s| s.external_id.as_deref()),
        Some("PVX-9")
    );
    assert!(order.sync_info[0].synced_at.is_some());
}

/// Callbacks name an order by its Peoplevox number: its `orderNumber`, or the number the export
/// derived and recorded as the export mark's `externalId`, which wins over another order's
/// `orderNumber` that happens to be the same.
#[tokio::test]
async fn orders_are_found_by_their_peoplevox_number_the_export_mark_first() {
    let f = fixture().await;
    let mut unnumbered = order_json("unused");
    unnumbered.as_object_mut().unwrap().remove("orderNumber");
    let marked = f.sim.insert_order_json(unnumbered).unwrap();
    let mark = OrderUpdateAction::UpdateSyncInfo {
        channel: reference_by_id("channel", &f.export.id),
        external_id: Some("CT-0123456789abcdef01234567".into()),
        synced_at: None,
    };
    f.client
        .update_order(&marked.id, marked.version, &[mark])
        .await
        .unwrap();
    // An order whose own number equals the derived one, and an order of another channel's mark.
    let clash = f
        .sim
        .insert_order_json(order_json("CT-0123456789abcdef01234567"))
        .unwrap();
    let wanted = ["10001", "CT-0123456789abcdef01234567", "NOT-THERE"].map(String::from);
    let found = f
        .client
        .orders_by_peoplevox_number(&wanted, &f.export.id)
        .await
        .unwrap();
    let ids: Vec<(&str, &str)> = found
        .iter()
        .map(|(n, o)| (n.as_str(), o.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("10001", f.order.id.as_str()),
            ("CT-0123456789abcdef01234567", marked.id.as_str()),
        ]
    );
    assert_ne!(clash.id, marked.id);
}
