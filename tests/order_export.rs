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
    let report = run_one_batch(&dying, &store, 10).await;
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
