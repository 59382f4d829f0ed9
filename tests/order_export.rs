//! The order export end to end: real clients, real HTTP simulators, the embedded store.
//! Invariant 1: one commercetools order → exactly one Peoplevox sales order.

use std::time::Duration;

use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_shared::flows::batch::REASON_ATTRIBUTE;
use ctpvx_shared::flows::order_export::{CrashPoint, OrderLink, load_link, requeue_message};
use ctpvx_shared::store::{AuditLog, Queue};
use ctpvx_tests::*;

fn assert_each_exported_once(bed: &ctpvx_infra::testbed::Testbed, orders: &[serde_json::Value]) {
    for order in orders {
        let (id, number) = (
            order["id"].as_str().unwrap(),
            order["orderNumber"].as_str().unwrap(),
        );
        assert_eq!(
            bed.pvx.header_imports(number),
            1,
            "order {number} imported once into Peoplevox"
        );
        let so = bed.pvx.sales_order(number).expect("sales order exists");
        assert_eq!(
            so.items.len(),
            order["lineItems"].as_array().unwrap().len(),
            "lines of {number}"
        );
        assert!(
            exported_once_in_ct(bed, id, number),
            "order {number} marked once in commercetools"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_three_times_concurrently_exports_each_order_once() {
    let catalog = scenario::catalog(20);
    let bed = testbed(&catalog).await;
    let orders = seed_orders(&bed, 0..60, 3, &catalog);
    let store = store();
    // Every order is announced three times, in both formats, interleaved across the queue.
    for round in 0..3 {
        for order in &orders {
            let id = format!("m{round}-{}", order["id"]);
            let body = if round == 1 {
                scenario::cloud_event(order, &id)
            } else {
                scenario::platform_message(order, &id)
            };
            store.send(Q, &body, &Default::default()).await.unwrap();
        }
    }
    let options = StackOptions {
        workers: 3,
        batch_size: 20,
        orders_batch_size: 20,
        visibility: Duration::from_secs(1),
        ..StackOptions::default()
    };
    let stack = LocalStack::start(&bed.config, &bed.secrets, store.clone(), options)
        .await
        .unwrap();
    assert!(
        stack.wait_drained(Duration::from_secs(60)).await,
        "queue drains"
    );
    let totals = stack.totals.lock().await.clone();
    stack.stop().await;
    assert_each_exported_once(&bed, &orders);
    assert_eq!(totals.exported, 60, "{totals:?}");
    assert_eq!(totals.duplicates, 120, "{totals:?}");
    assert_eq!(bed.pvx.sales_orders().len(), 60);
    assert_eq!(store.depth(DLQ).await.unwrap().visible, 0);
    assert_eq!(bed.pvx.budget_violations(), 0, "the request budget held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_dying_after_save_data_does_not_export_twice() {
    let catalog = scenario::catalog(10);
    let bed = testbed(&catalog).await;
    let orders = seed_orders(&bed, 0..10, 2, &catalog);
    let store = store();
    enqueue(&store, &orders).await;

    let dying = flow(&bed, &store)
        .await
        .crash_at(Some(CrashPoint::AfterSaveData));
    // A Lambda of 3 s: the claims of its orders lapse soon after it died.
    let options = ctpvx_infra::local::worker::WorkerOptions {
        timeout: Duration::from_secs(3),
        ..worker_options(10)
    };
    let messages = ctpvx_infra::local::worker::gather(store.as_ref(), &options).await;
    let report = ctpvx_infra::local::worker::run_batch(
        &dying,
        store.as_ref(),
        store.as_ref(),
        &options,
        messages,
    )
    .await;
    assert_eq!(
        report.records.retried, 10,
        "the dead worker acknowledged nothing: {report:?}"
    );
    assert_eq!(
        bed.pvx.sales_orders().len(),
        10,
        "SaveData happened before the crash"
    );
    for order in &orders {
        let link = load_link(store.as_ref(), order["id"].as_str().unwrap())
            .await
            .unwrap();
        assert!(matches!(link, Some(OrderLink::Sending { .. })), "{link:?}");
    }

    // A fresh worker picks the messages up after the visibility timeout.
    let healthy = flow(&bed, &store).await;
    bed.pvx.reset_counters();
    drain(&healthy, &store, 10, Duration::from_secs(20)).await;
    assert_each_exported_once(&bed, &orders);
    let saves = bed
        .pvx
        .requests_by_operation()
        .get("SaveData")
        .copied()
        .unwrap_or(0);
    assert_eq!(saves, 0, "nothing was sent to Peoplevox again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_50_orders_costs_two_peoplevox_requests() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    // Warm-up: session, templates and the item cache, as a running Lambda has them.
    let warm = seed_orders(&bed, 0..6, 5, &catalog);
    enqueue(&store, &warm).await;
    drain(&flow, &store, 50, Duration::from_secs(20)).await;

    let orders = seed_orders(&bed, 100..150, 3, &catalog);
    enqueue(&store, &orders).await;
    bed.pvx.reset_counters();
    let report = run_one_batch(&flow, &store, 50).await;
    assert_eq!(report.exported, 50, "{report:?}");
    assert_eq!(
        bed.pvx.request_count(),
        2,
        "{:?}",
        bed.pvx.requests_by_operation()
    );
    assert_each_exported_once(&bed, &orders);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku_is_held_with_its_reason_and_exported_once_the_item_exists() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let ghost = vec!["GHOST-1".to_string()];
    let orders = seed_orders(&bed, 0..1, 1, &ghost);
    let id = orders[0]["id"].as_str().unwrap();
    enqueue(&store, &orders).await;

    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    assert!(bed.pvx.sales_orders().is_empty());
    assert!(bed.ct.order(id).unwrap().sync_info.is_empty());
    let audit = store.list(&format!("order#{id}"), 10).await.unwrap();
    let held = audit
        .iter()
        .find(|e| e.outcome == "held")
        .expect("held audit entry");
    assert!(
        held.reason.as_deref().unwrap_or("").contains("GHOST-1"),
        "{held:?}"
    );

    // Nothing changes while the item is missing.
    let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
    assert_eq!((sweep.checked, sweep.requeued), (1, 0));

    bed.pvx.add_item_type("GHOST-1");
    let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
    assert_eq!(sweep.requeued, 1);
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
    assert_each_exported_once(&bed, &orders);
    let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
    assert_eq!(sweep.checked, 0, "the held index is empty once exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_mid_batch_is_survived() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let first = seed_orders(&bed, 0..5, 2, &catalog);
    enqueue(&store, &first).await;
    drain(&flow, &store, 10, Duration::from_secs(20)).await;

    bed.pvx.expire_sessions();
    let orders = seed_orders(&bed, 10..20, 2, &catalog);
    enqueue(&store, &orders).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 10, "{report:?}");
    assert_eq!(
        bed.pvx.requests_by_operation().get("Authenticate").copied(),
        Some(2),
        "one re-authentication"
    );
    assert_each_exported_once(&bed, &orders);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_and_xml_special_characters_round_trip() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let orders = seed_orders(&bed, 0..5, 1, &catalog);
    enqueue(&store, &orders).await;
    drain(&flow, &store, 10, Duration::from_secs(20)).await;
    let line1 = |i: usize| {
        let so = bed.pvx.sales_order(&scenario::order_number(i)).unwrap();
        so.fields
            .get("ShippingAddressLine1")
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(line1(1), "2 Rue de l'Église, \"Bât. B\"");
    assert_eq!(line1(2), "3 =HYPERLINK(\"http://x\") Road");
    assert_eq!(line1(3), "4 Smith & Sons <Yard>");
    assert_eq!(line1(4), "5 Line one Line two");
    let so = bed.pvx.sales_order(&scenario::order_number(0)).unwrap();
    assert_eq!(
        so.fields.get("Notes").map(String::as_str),
        Some("Happy day #0, \"friend\" & co")
    );
    assert_eq!(
        so.fields.get("ContactName").map(String::as_str),
        Some("Jane O'Doe-0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisonous_record_is_dead_lettered_with_its_reason_and_the_rest_succeed() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let orders = seed_orders(&bed, 0..3, 1, &catalog);
    enqueue(&store, &orders).await;
    store
        .send(
            Q,
            "{\"notificationType\":\"Message\",\"type\":\"OrderCreated\"",
            &Default::default(),
        )
        .await
        .unwrap();
    // A reference to an order commercetools does not have: fetching it says 404.
    let ghost_id = scenario::order_id(999);
    store
        .send(Q, &requeue_message(&ghost_id), &Default::default())
        .await
        .unwrap();
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.exported, report.records.dead_lettered),
        (3, 2),
        "{report:?}"
    );
    assert_each_exported_once(&bed, &orders);
    let parked = store
        .receive(DLQ, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let reasons: Vec<&str> = parked
        .iter()
        .map(|m| m.attributes[REASON_ATTRIBUTE].as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("not valid JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&ghost_id) && r.contains("does not exist")),
        "{reasons:?}"
    );
    assert_eq!(
        store.depth(Q).await.unwrap().visible + store.depth(Q).await.unwrap().in_flight,
        0,
        "the rest were acknowledged"
    );
}

/// A commercetools subscription of another project can reach the orders queue (its policy
/// admits commercetools' account): such a Message, order and all, is parked naming the
/// project, and nothing reaches the warehouse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_message_of_another_project_is_parked_and_never_reaches_peoplevox() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let ours = seed_orders(&bed, 0..1, 1, &catalog);
    enqueue(&store, &ours).await;
    let theirs = scenario::order(7, 1, &catalog);
    let body = scenario::platform_message(&theirs, "msg-foreign").replace(
        "\"projectKey\":\"ctpvx-sim\"",
        "\"projectKey\":\"someone-else\"",
    );
    assert!(body.contains("someone-else"), "{body}");
    store.send(Q, &body, &Default::default()).await.unwrap();

    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.exported, report.records.dead_lettered),
        (1, 1),
        "{report:?}"
    );
    assert_each_exported_once(&bed, &ours);
    let number = theirs["orderNumber"].as_str().unwrap();
    assert!(bed.pvx.sales_order(number).is_none(), "{number} exported");
    let parked = store
        .receive(DLQ, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].attributes[REASON_ATTRIBUTE],
        "message of commercetools project `someone-else`; this deployment serves `ctpvx-sim`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peoplevox_down_is_retried_and_exports_once_when_it_is_back() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let warm = seed_orders(&bed, 0..1, 5, &catalog);
    enqueue(&store, &warm).await;
    drain(&flow, &store, 10, Duration::from_secs(20)).await;

    let orders = seed_orders(&bed, 10..20, 2, &catalog);
    enqueue(&store, &orders).await;
    bed.pvx.faults().set_error_rate(1.0);
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.records.retried, 10, "{report:?}");
    bed.pvx.faults().clear();
    drain(&flow, &store, 10, Duration::from_secs(20)).await;
    assert_each_exported_once(&bed, &orders);
}

#[tokio::test]
async fn exported_and_held_orders_can_be_found_by_their_number() {
    let catalog = ctpvx_infra::scenario::catalog(5);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let store = ctpvx_tests::store();
    let orders = ctpvx_tests::seed_orders(&bed, 0..3, 1, &catalog);
    ctpvx_tests::enqueue(&store, &orders).await;
    let flow = ctpvx_tests::flow(&bed, &store).await;
    ctpvx_tests::run_one_batch(&flow, &store, 10).await;
    for order in &orders {
        let number = order["orderNumber"].as_str().unwrap();
        let found = ctpvx_shared::flows::order_export::order_id_by_number(store.as_ref(), number)
            .await
            .unwrap();
        assert_eq!(found.as_deref(), order["id"].as_str(), "{number}");
    }
    let unknown =
        ctpvx_shared::flows::order_export::order_id_by_number(store.as_ref(), "NOPE").await;
    assert_eq!(unknown.unwrap(), None);
}

/// The order export flow over `store` with the test bed's configuration changed by `change`.
async fn flow_with(
    bed: &ctpvx_infra::testbed::Testbed,
    store: &std::sync::Arc<ctpvx_shared::embedded::EmbeddedStore>,
    change: impl FnOnce(&mut ctpvx_shared::config::Config),
) -> ctpvx_shared::flows::order_export::OrderExport {
    let mut config = bed.config.clone();
    change(&mut config);
    let stores = ctpvx_shared::app::Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) =
        ctpvx_shared::app::clients(&config, &bed.secrets, store.clone()).expect("clients");
    ctpvx_shared::app::order_export(&config, &stores, ct, pvx)
        .await
        .expect("flow")
}

/// A scenario order changed by `change`, inserted into the commercetools simulator.
fn seed_changed(
    bed: &ctpvx_infra::testbed::Testbed,
    i: usize,
    catalog: &[String],
    change: impl FnOnce(&mut serde_json::Value),
) -> serde_json::Value {
    let mut order = scenario::order(i, 1, catalog);
    change(&mut order);
    bed.ct
        .insert_order_json(order.clone())
        .expect("insert order");
    order
}

async fn send(store: &std::sync::Arc<ctpvx_shared::embedded::EmbeddedStore>, body: &str) {
    store.send(Q, body, &Default::default()).await.unwrap();
}

async fn audit_of(
    store: &std::sync::Arc<ctpvx_shared::embedded::EmbeddedStore>,
    order: &serde_json::Value,
) -> Vec<ctpvx_shared::store::AuditEntry> {
    let id = order["id"].as_str().unwrap();
    store.list(&format!("order#{id}"), 20).await.unwrap()
}

/// Item 6: an order without `orderNumber` waits (held, re-read by every held-order sweep) and
/// is exported under its number once commercetools has one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_without_a_number_waits_and_is_exported_once_commercetools_numbers_it() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let order = seed_changed(&bed, 0, &catalog, |o| {
        o.as_object_mut().unwrap().remove("orderNumber");
    });
    let id = order["id"].as_str().unwrap().to_string();
    send(&store, &scenario::platform_message(&order, "m-unnumbered")).await;

    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    let link = load_link(store.as_ref(), &id).await.unwrap();
    assert!(
        matches!(
            link,
            Some(OrderLink::Held {
                reason: ctpvx_shared::domain::HoldReason::AwaitingOrderNumber,
                ..
            })
        ),
        "{link:?}"
    );
    // Every sweep re-reads it while it has no number.
    for _ in 0..2 {
        let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
        assert_eq!((sweep.checked, sweep.requeued), (1, 1));
        let report = run_one_batch(&flow, &store, 10).await;
        assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    }
    assert!(bed.pvx.sales_orders().is_empty());

    bed.ct
        .apply_order_actions(
            &id,
            vec![serde_json::json!({"action": "setOrderNumber", "orderNumber": "W-1001"})],
        )
        .unwrap();
    let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
    assert_eq!(sweep.requeued, 1);
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
    assert_eq!(bed.pvx.header_imports("W-1001"), 1);
    assert!(exported_once_in_ct(&bed, &id, "W-1001"));
    let sweep = flow.retry_held(store.as_ref(), Q).await.unwrap();
    assert_eq!(sweep.checked, 0, "the held index is empty once exported");
}

/// Item 6: a UUID-style orderNumber (36 characters) is exported under a number derived from
/// the order id, recorded in the order link and as the syncInfo externalId, where a despatch
/// callback for that number finds its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uuid_order_number_is_exported_under_a_derived_number_that_callbacks_find() {
    use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    for item in &catalog {
        bed.pvx.set_stock("UK-DC", item, 1000, 1000);
        bed.pvx.set_stock("EU-DC", item, 1000, 1000);
    }
    let store = store();
    let flow = flow(&bed, &store).await;
    let uuid = "0b5c1a9e-6f0e-4f7e-9a55-3c2d1e0f9a8b";
    let order = seed_changed(&bed, 0, &catalog, |o| o["orderNumber"] = uuid.into());
    let id = order["id"].as_str().unwrap().to_string();
    send(&store, &scenario::platform_message(&order, "m-uuid")).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");

    let link = load_link(store.as_ref(), &id).await.unwrap().unwrap();
    let number = link.number().unwrap().to_string();
    assert!(number.starts_with("CT-") && number.len() <= 30, "{number}");
    assert_eq!(bed.pvx.header_imports(&number), 1);
    assert!(
        exported_once_in_ct(&bed, &id, &number),
        "externalId is the number"
    );
    let audit = audit_of(&store, &order).await;
    let exported = audit.iter().find(|e| e.outcome == "exported").unwrap();
    assert!(
        exported.detail["notes"][0]
            .as_str()
            .unwrap()
            .contains(&format!(
                "Peoplevox number {number} derived from the order id"
            )),
        "{exported:?}"
    );

    // The resolver finds it by that number (and an ordinary order by its orderNumber).
    let ct = ctpvx_shared::commercetools::CtClient::new(ctpvx_shared::app::ct_settings(
        &bed.config,
        &bed.secrets,
    ))
    .unwrap();
    let plain = seed_orders(&bed, 1..2, 1, &catalog);
    let wanted = vec![
        number.clone(),
        plain[0]["orderNumber"].as_str().unwrap().to_string(),
        "NOPE".to_string(),
    ];
    let found = ct
        .orders_by_peoplevox_number(&wanted, &bed.export_channel_id)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{:?}", found.keys());
    assert_eq!(found[&number].id, id);

    // A despatch of the derived number becomes a delivery on the order.
    let despatch = bed
        .pvx
        .despatch(
            &number,
            DespatchPlan::everything(
                "Royal Mail",
                "Tracked 24",
                vec![PackagePlan::tracked("T-1")],
            ),
        )
        .unwrap();
    let message = ctpvx_shared::domain::ShipmentMessage {
        id: uuid::Uuid::new_v4().to_string(),
        event: "tracking".into(),
        despatch: despatch.number.clone(),
        order: None,
        tracking: None,
        package: None,
        carrier: None,
        service: None,
        service_code: None,
        received_at_ms: 0,
    };
    store
        .send(SHIPMENTS_QUEUE, &message.to_json(), &Default::default())
        .await
        .unwrap();
    let shipments = shipment_flow(&bed, &store).await;
    let report = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(report.deliveries_added, 1, "{report:?}");
}

/// Item 5: an OrderImported message is exported like OrderCreated; with
/// `orders.export_imported = false` it is acknowledged, counted as ignored and remembered, so
/// that a later re-queue of the order does not export it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_imported_message_is_exported_like_order_created_unless_turned_off() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let imported = |order: &serde_json::Value, id: &str| {
        scenario::platform_message(order, id).replace("\"OrderCreated\"", "\"OrderImported\"")
    };
    let exported = seed_orders(&bed, 0..1, 1, &catalog);
    let body = imported(&exported[0], "m-import-1");
    assert!(body.contains("\"type\":\"OrderImported\""), "{body}");
    send(&store, &body).await;
    let flow = flow(&bed, &store).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
    assert_each_exported_once(&bed, &exported);

    let left_alone = seed_orders(&bed, 1..2, 1, &catalog);
    let id = left_alone[0]["id"].as_str().unwrap();
    let off = flow_with(&bed, &store, |c| c.orders.export_imported = false).await;
    send(&store, &imported(&left_alone[0], "m-import-2")).await;
    let report = run_one_batch(&off, &store, 10).await;
    assert_eq!(
        (report.ignored, report.exported, report.held),
        (1, 0, 0),
        "{report:?}"
    );
    send(&store, &requeue_message(id)).await;
    let report = run_one_batch(&off, &store, 10).await;
    assert_eq!((report.ignored, report.exported), (1, 0), "{report:?}");
    let number = left_alone[0]["orderNumber"].as_str().unwrap();
    assert!(bed.pvx.sales_order(number).is_none());
    let audit = audit_of(&store, &left_alone[0]).await;
    assert!(
        audit.iter().all(|e| e.outcome == "ignored")
            && audit[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("orders.export_imported is false"),
        "{audit:?}"
    );
    // Turned back on, the order is exported when it comes again.
    send(&store, &requeue_message(id)).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
}

/// Item 8: a message whose embedded order is empty is fetched by id, as for
/// payloadNotIncluded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_embedded_order_is_fetched_by_id_and_exported() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let orders = seed_orders(&bed, 0..1, 2, &catalog);
    let mut message: serde_json::Value =
        serde_json::from_str(&scenario::platform_message(&orders[0], "m-empty")).unwrap();
    message["order"] = serde_json::json!({});
    send(&store, &message.to_string()).await;
    let flow = flow(&bed, &store).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.exported, report.records.dead_lettered),
        (1, 0),
        "{report:?}"
    );
    assert_each_exported_once(&bed, &orders);
}

/// Items 1, 2, 4 and 7 through the whole flow: what the customer pays per unit and for
/// shipping, custom lines left out and named in the audit entry, and a long UK business
/// address exported, not held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounted_uk_orders_with_custom_lines_export_with_their_notes() {
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let order = seed_changed(&bed, 0, &catalog, |o| {
        let line = &mut o["lineItems"][0];
        line["quantity"] = 1.into();
        line["price"]["value"] = serde_json::json!({"type": "highPrecision", "currencyCode": "GBP", "centAmount": 3400, "preciseAmount": 339_999, "fractionDigits": 4});
        line["discountedPricePerQuantity"] = serde_json::json!([{"quantity": 1, "discountedPrice": {"value": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 3000, "fractionDigits": 2}, "includedDiscounts": []}}]);
        line["totalPrice"] = serde_json::json!({"type": "centPrecision", "currencyCode": "GBP", "centAmount": 3000, "fractionDigits": 2});
        o["shippingInfo"]["discountedPrice"] = serde_json::json!({"value": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 0, "fractionDigits": 2}, "includedDiscounts": []});
        o["customLineItems"] = serde_json::json!([{"id": "cli-1", "slug": "gift-wrap", "name": {"en": "Gift wrap"}, "quantity": 1,
            "money": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 349, "fractionDigits": 2},
            "totalPrice": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 349, "fractionDigits": 2}}]);
        let a = &mut o["shippingAddress"];
        a["company"] = "Pemberton & Whitfield Architectural Salvage Ltd".into();
        a["building"] = "Unit 7, Riverside Trading Estate".into();
        a["apartment"] = "Suite 2B".into();
        a["additionalStreetInfo"] = "Rear loading bay".into();
        a["additionalAddressInfo"] = "Ring the bell marked Goods In; if nobody answers, leave the parcel with reception at Unit 5. Never leave it outside.".into();
    });
    send(&store, &scenario::platform_message(&order, "m-uk")).await;
    let flow = flow(&bed, &store).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.exported, report.held), (1, 0), "{report:?}");
    let number = order["orderNumber"].as_str().unwrap();
    let so = bed.pvx.sales_order(number).unwrap();
    assert_eq!(so.items.len(), 1, "the custom line is not a warehouse line");
    assert_eq!(
        so.items[0].fields.get("SalePrice").map(String::as_str),
        Some("30.00")
    );
    assert_eq!(
        so.fields.get("ShippingCost").map(String::as_str),
        Some("0.00")
    );
    for (field, value) in &so.fields {
        if field.contains("Address") {
            assert!(value.chars().count() <= 100, "{field}: {value}");
        }
    }
    let notes = so.fields.get("Notes").cloned().unwrap_or_default();
    assert!(
        notes.starts_with("Ring the bell marked Goods In;"),
        "{notes}"
    );
    let audit = audit_of(&store, &order).await;
    let exported = audit.iter().find(|e| e.outcome == "exported").unwrap();
    let noted = exported.detail["notes"].to_string();
    assert!(
        noted.contains("custom line item `gift-wrap` (Gift wrap) ×1, 3.49 GBP left out"),
        "{noted}"
    );
}

/// Item 3: an order in Multiple shipping mode becomes one Peoplevox sales order per shipping
/// (`<number>-1`, `-2`), each marked on the order; each part's despatch becomes a delivery in
/// its own shipping (`addDelivery` with the `shippingKey`), and the order is Shipped once both
/// have left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multiple_shipping_order_is_one_sales_order_per_shipping_and_delivered_in_each() {
    use ctpvx_infra::shapes_scenario::{self, Shape};
    use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    for item in &catalog {
        bed.pvx.set_stock("UK-DC", item, 1000, 1000);
    }
    let store = store();
    let flow = flow(&bed, &store).await;
    let shape = shapes_scenario::orders(700, &catalog)
        .into_iter()
        .find(|s| s.shape == Shape::MultipleShipping)
        .unwrap();
    bed.ct.insert_order_json(shape.order.clone()).unwrap();
    let id = shape.order["id"].as_str().unwrap().to_string();
    let number = shape.order["orderNumber"].as_str().unwrap().to_string();
    send(&store, &shape.message).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");

    let parts = [format!("{number}-1"), format!("{number}-2")];
    let link = load_link(store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(link.numbers(), parts);
    let order = bed.ct.order(&id).unwrap();
    assert_eq!(order.peoplevox_numbers(&bed.export_channel_id), parts);
    let postcodes: Vec<String> = parts
        .iter()
        .map(|n| {
            assert_eq!(bed.pvx.header_imports(n), 1, "{n}");
            let so = bed.pvx.sales_order(n).unwrap();
            so.fields["ShippingAddressPostcode"].clone()
        })
        .collect();
    assert_eq!(postcodes, ["SW1A 1AA", "EC2N 2DB"]);
    // A second announcement changes nothing.
    send(&store, &shape.message).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.exported, report.duplicates), (0, 1), "{report:?}");

    let shipments = shipment_flow(&bed, &store).await;
    for (i, part) in parts.iter().enumerate() {
        let despatch = bed
            .pvx
            .despatch(
                part,
                DespatchPlan::everything(
                    "DPD",
                    "Next Day",
                    vec![PackagePlan::tracked(format!("T-{i}"))],
                ),
            )
            .unwrap();
        let message = ctpvx_shared::domain::ShipmentMessage {
            id: uuid::Uuid::new_v4().to_string(),
            event: "tracking".into(),
            despatch: despatch.number.clone(),
            order: None,
            tracking: None,
            package: None,
            carrier: None,
            service: None,
            service_code: None,
            received_at_ms: 0,
        };
        store
            .send(SHIPMENTS_QUEUE, &message.to_json(), &Default::default())
            .await
            .unwrap();
        let report = run_shipment_batch(&shipments, &store, 10).await;
        assert_eq!(report.deliveries_added, 1, "{report:?}");
        let json = bed.ct.order_json(&id).unwrap();
        let deliveries = json["shipping"][i]["shippingInfo"]["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(deliveries.len(), 1, "part {part}: {json:#}");
        assert_eq!(deliveries[0]["key"], format!("pvx-{}", despatch.number));
        let expected_state = if i == 0 { "Partial" } else { "Shipped" };
        assert_eq!(json["shipmentState"], expected_state);
    }
}

/// Review mend: Peoplevox refuses one part of a split order (its line names an item it no
/// longer has) after taking the other part and both headers. The order is held with every
/// part's number; once the item exists, the next attempt finds what Peoplevox took and sends
/// only what it lacks: no header is imported twice (a re-import could reset an order being
/// picked), and the order is marked with both parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_order_peoplevox_refused_a_part_of_is_completed_without_importing_twice() {
    use ctpvx_infra::shapes_scenario::{self, Shape};
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    // An order of the second item makes the flow know it (its item cache) ...
    let first = seed_changed(&bed, 0, &[catalog[1].clone()], |_| {});
    send(&store, &scenario::platform_message(&first, "m-first")).await;
    assert_eq!(run_one_batch(&flow, &store, 10).await.exported, 1);
    // ... before the warehouse deletes it: part 2's line is refused.
    assert!(bed.pvx.remove_item_type(&catalog[1]));
    let shape = shapes_scenario::orders(710, &catalog)
        .into_iter()
        .find(|s| s.shape == Shape::MultipleShipping)
        .unwrap();
    bed.ct.insert_order_json(shape.order.clone()).unwrap();
    let id = shape.order["id"].as_str().unwrap().to_string();
    let number = shape.order["orderNumber"].as_str().unwrap().to_string();
    let parts = [format!("{number}-1"), format!("{number}-2")];
    send(&store, &shape.message).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    let link = load_link(store.as_ref(), &id).await.unwrap().unwrap();
    assert!(matches!(link, OrderLink::Held { .. }), "{link:?}");
    assert_eq!(link.numbers(), parts);
    assert!(bed.ct.order(&id).unwrap().sync_info.is_empty());

    bed.pvx.add_item_type(&catalog[1]);
    send(&store, &requeue_message(&id)).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!(report.recovered + report.exported, 1, "{report:?}");
    for part in &parts {
        assert_eq!(bed.pvx.header_imports(part), 1, "{part} imported again");
    }
    let units: i64 = parts
        .iter()
        .flat_map(|p| bed.pvx.sales_order(p).unwrap().items)
        .map(|i| i.quantity.parse::<i64>().unwrap())
        .sum();
    assert_eq!(units, 3, "every unit in Peoplevox once");
    let order = bed.ct.order(&id).unwrap();
    assert_eq!(order.peoplevox_numbers(&bed.export_channel_id), parts);
}

/// Review mend: a number ctpvx makes (a split order's part) that another commercetools
/// order already holds is never sent over it: neither over an order of the index (another
/// order numbered `<number>-1`) nor over a Peoplevox sales order of another order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_number_another_order_holds_is_not_sent_over_it() {
    use ctpvx_infra::shapes_scenario::{self, Shape};
    let catalog = scenario::catalog(5);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = flow(&bed, &store).await;
    let shapes = shapes_scenario::orders(720, &catalog);
    let shape = shapes
        .iter()
        .find(|s| s.shape == Shape::MultipleShipping)
        .unwrap()
        .clone();
    let number = shape.order["orderNumber"].as_str().unwrap().to_string();
    // Another order, exported first, is numbered like the split order's first part.
    let other = seed_changed(&bed, 1, &catalog, |o| {
        o["orderNumber"] = format!("{number}-1").into()
    });
    send(&store, &scenario::platform_message(&other, "m-other")).await;
    assert_eq!(run_one_batch(&flow, &store, 10).await.exported, 1);
    bed.ct.insert_order_json(shape.order.clone()).unwrap();
    send(&store, &shape.message).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    let id = shape.order["id"].as_str().unwrap();
    let Some(OrderLink::Held { reason, .. }) = load_link(store.as_ref(), id).await.unwrap() else {
        panic!("not held");
    };
    assert!(
        reason
            .to_string()
            .contains("already another commercetools order's"),
        "{reason}"
    );
    assert_eq!(bed.pvx.header_imports(&format!("{number}-1")), 1);
    assert_eq!(bed.pvx.header_imports(&format!("{number}-2")), 0);

    // A Peoplevox sales order ctpvx never made, of another order, under the second part's
    // number of another split order.
    let shape = shapes_scenario::orders(730, &catalog)
        .into_iter()
        .find(|s| s.shape == Shape::MultipleShipping)
        .unwrap();
    let number = shape.order["orderNumber"].as_str().unwrap().to_string();
    let pvx = ctpvx_shared::peoplevox::PvxClient::new(bed.pvx.settings(), store.clone()).unwrap();
    let table = ctpvx_shared::peoplevox::CsvTable {
        headers: vec![
            "SalesOrderNumber".into(),
            "CustomerPurchaseOrderReferenceNumber".into(),
        ],
        rows: vec![vec![format!("{number}-2"), "another-channel-order".into()]],
    };
    pvx.save_data(
        "Sales orders",
        &table,
        ctpvx_shared::peoplevox::SaveAction::Upsert,
    )
    .await
    .unwrap();
    bed.ct.insert_order_json(shape.order.clone()).unwrap();
    send(&store, &shape.message).await;
    let report = run_one_batch(&flow, &store, 10).await;
    assert_eq!((report.held, report.exported), (1, 0), "{report:?}");
    let id = shape.order["id"].as_str().unwrap();
    let Some(OrderLink::Held { reason, .. }) = load_link(store.as_ref(), id).await.unwrap() else {
        panic!("not held");
    };
    assert!(
        reason.to_string().contains("another-channel-order"),
        "{reason}"
    );
    assert_eq!(bed.pvx.header_imports(&format!("{number}-1")), 0);
}
