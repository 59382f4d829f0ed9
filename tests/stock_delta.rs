//! The stock flow end to end against both simulators: duplicates write once, reordered events
//! end at the newest figure, a worker killed after its write converges on retry, concurrent
//! writers converge, orders in flight are not re-sold, and bad input is parked with a reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ctpvx_infra::scenario;
use ctpvx_infra::testbed::Testbed;
use ctpvx_shared::domain::StockMessage;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::REASON_ATTRIBUTE;
use ctpvx_shared::flows::stock_delta::{StockCrash, ledger_row};
use ctpvx_shared::store::{AuditLog, Queue};
use ctpvx_tests::{
    STOCK_DLQ, STOCK_QUEUE, inventory_writes, run_one_batch, run_stock_batch, stock_flow, store,
    testbed,
};

const SITE: &str = "UK-DC";
const SKU: &str = "SKU-0001";

fn available(item: &str, value: i64, at_ms: i64) -> String {
    StockMessage::Available {
        id: format!("ev-{at_ms}"),
        site: SITE.into(),
        item: item.into(),
        available: value,
        received_at_ms: at_ms,
    }
    .to_json()
}

fn moved(item: &str, changed: i64, at_ms: i64) -> String {
    StockMessage::Moved {
        id: format!("mv-{at_ms}"),
        site: SITE.into(),
        item: item.into(),
        quantity_changed: changed,
        update_timestamp: None,
        reason: Some("Goods in".into()),
        received_at_ms: at_ms,
    }
    .to_json()
}

async fn send(store: &Arc<EmbeddedStore>, body: &str) {
    store
        .send(STOCK_QUEUE, body, &BTreeMap::new())
        .await
        .expect("enqueue");
}

fn uk_channel(bed: &Testbed) -> String {
    bed.site_channels[SITE].clone()
}

/// `quantityOnStock` of a SKU at the UK channel, if the entry exists.
fn on_stock(bed: &Testbed, sku: &str) -> Option<i64> {
    bed.ct
        .inventory_entry(sku, Some(&uk_channel(bed)))
        .map(|e| e.quantity_on_stock)
}

#[tokio::test]
async fn the_same_event_delivered_five_times_writes_once() {
    let bed = testbed(&[]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    bed.ct
        .insert_inventory(SKU, Some(&uk_channel(&bed)), 3)
        .unwrap();
    let body = available(SKU, 12, 1_000);
    let mut writes = 0;
    for _ in 0..5 {
        send(&store, &body).await;
        let report = run_stock_batch(&flow, &store, 10).await;
        writes += report.writes + report.created;
    }
    assert_eq!(writes, 1);
    assert_eq!(
        inventory_writes(&bed),
        1,
        "{:?}",
        bed.ct.requests_by_route()
    );
    assert_eq!(on_stock(&bed, SKU), Some(12));
}

#[tokio::test]
async fn thirty_events_for_one_pair_in_a_batch_make_one_write() {
    let bed = testbed(&[]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    for i in 0..30 {
        send(&store, &available(SKU, 100 + i, 1_000 + i)).await;
    }
    let report = run_stock_batch(&flow, &store, 100).await;
    assert_eq!((report.events, report.pairs), (30, 1));
    assert_eq!(report.writes + report.created, 1);
    assert_eq!(on_stock(&bed, SKU), Some(129), "the newest figure wins");
    assert_eq!(report.coalesced, 29);
}

#[tokio::test]
async fn events_applied_in_reverse_order_end_at_the_newest_value() {
    let bed = testbed(&[]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    // Received at t = 1..=10 with value 10 * t; processed newest first, one per batch.
    for t in (1..=10).rev() {
        send(&store, &available(SKU, 10 * t, t)).await;
        run_stock_batch(&flow, &store, 1).await;
    }
    assert_eq!(on_stock(&bed, SKU), Some(100));
    let row = ledger_row(store.as_ref(), SITE, SKU)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.figure.available, row.figure.at_ms), (100, 10));
    let stale = store
        .list(&format!("stock#{SKU}#{SITE}"), 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.outcome == "stale")
        .count();
    assert_eq!(stale, 9, "every older event is recorded as stale");
}

#[tokio::test]
async fn a_worker_killed_after_its_write_converges_on_retry() {
    let bed = testbed(&[]).await;
    let store = store();
    bed.ct
        .insert_inventory(SKU, Some(&uk_channel(&bed)), 40)
        .unwrap();
    let dying = stock_flow(&bed, &store)
        .await
        .crash_at(Some(StockCrash::AfterCommercetoolsWrite));
    send(&store, &available(SKU, 25, 1_000)).await;
    let report = run_stock_batch(&dying, &store, 10).await;
    assert_eq!(report.records.retried, 1, "nothing is acknowledged");
    assert_eq!(
        on_stock(&bed, SKU),
        Some(25),
        "the write landed before the crash"
    );

    // The message comes back after its visibility timeout; a healthy worker takes it.
    let healthy = stock_flow(&bed, &store).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = run_stock_batch(&healthy, &store, 10).await;
    assert_eq!(report.events, 1);
    assert_eq!(
        (report.writes, report.skipped_unchanged),
        (0, 1),
        "the retry computes a delta of 0 from the absolute target"
    );
    assert_eq!(on_stock(&bed, SKU), Some(25));
    let row = ledger_row(store.as_ref(), SITE, SKU)
        .await
        .unwrap()
        .unwrap();
    assert!(row.synced());
}

#[tokio::test]
async fn a_conflict_storm_from_concurrent_writers_converges() {
    let bed = testbed(&[]).await;
    let store = store();
    let channel = uk_channel(&bed);
    let entry = bed.ct.insert_inventory(SKU, Some(&channel), 0).unwrap();
    // Another writer changes the entry before each of our next 8 writes.
    bed.ct.bump_version_before_next_update(8);
    let flows: Vec<_> = futures_flows(&bed, &store, 4).await;
    for t in 1..=40 {
        send(&store, &available(SKU, 50 + t, t)).await;
    }
    // Four workers at once, plus a writer moving the entry underneath them.
    let writer = async {
        for _ in 0..20 {
            let _ = bed.ct.apply_inventory_actions(
                &entry.id,
                vec![serde_json::json!({"action": "removeQuantity", "quantity": 1})],
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    let workers = futures::future::join_all(flows.iter().map(|flow| {
        let store = store.clone();
        async move {
            let mut conflicts = 0;
            for _ in 0..10 {
                conflicts += run_stock_batch(flow, &store, 4).await.conflicts;
            }
            conflicts
        }
    }));
    let ((), per_worker) = tokio::join!(writer, workers);
    let conflicts: usize = per_worker.iter().sum();
    assert!(
        conflicts > 0,
        "the storm produced no conflicts; the test proves nothing"
    );
    // One more pass re-applies the newest figure over whatever the writer left.
    let flow = stock_flow(&bed, &store).await;
    send(
        &store,
        &StockMessage::Recheck {
            id: "final".into(),
            site: SITE.into(),
            items: vec![SKU.into()],
            reread: false,
            source: "test".into(),
            not_before_ms: 0,
        }
        .to_json(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    while store.depth(STOCK_QUEUE).await.unwrap().visible > 0 {
        run_stock_batch(&flow, &store, 100).await;
    }
    assert_eq!(
        on_stock(&bed, SKU),
        Some(90),
        "the newest figure (t = 40) is applied"
    );
}

/// `n` independent flows (as `n` Lambdas would be) over one store.
async fn futures_flows(
    bed: &Testbed,
    store: &Arc<EmbeddedStore>,
    n: usize,
) -> Vec<ctpvx_shared::flows::stock_delta::StockDelta> {
    let mut flows = Vec::new();
    for _ in 0..n {
        flows.push(stock_flow(bed, store).await);
    }
    flows
}

#[tokio::test]
async fn an_order_in_flight_is_not_resold() {
    let catalog = scenario::catalog(3);
    let bed = testbed(&catalog).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    let channel = uk_channel(&bed);
    bed.pvx.set_stock(SITE, SKU, 10, 10);
    send(&store, &available(SKU, 10, 1_000)).await;
    run_stock_batch(&flow, &store, 10).await;
    assert_eq!(on_stock(&bed, SKU), Some(10));

    // A storefront sells 3 (TrackOnly decrements commercetools at once); Peoplevox has not
    // heard of the order yet, and a stock event arrives with the old figure.
    let mut order = scenario::order_from(0, 1, &[SKU.to_string()], |_| channel.clone());
    order["inventoryMode"] = "TrackOnly".into();
    order["lineItems"][0]["quantity"] = 3.into();
    bed.ct
        .place_order(order.clone())
        .unwrap()
        .expect("in stock");
    assert_eq!(on_stock(&bed, SKU), Some(7));
    send(&store, &available(SKU, 10, 2_000)).await;
    let report = run_stock_batch(&flow, &store, 10).await;
    assert_eq!(report.writes, 0, "{report:?}");
    assert_eq!(
        on_stock(&bed, SKU),
        Some(7),
        "the 3 units in flight are not sold again"
    );

    // The order reaches Peoplevox, which allocates it; its recheck keeps 7.
    store
        .send(
            ctpvx_tests::Q,
            &scenario::platform_message(&order, "m-1"),
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let export = ctpvx_tests::flow(&bed, &store)
        .await
        .with_stock_hints(Some(store.clone()));
    let exported = run_one_batch(&export, &store, 10).await;
    assert_eq!(exported.exported, 1, "{exported:?}");
    assert_eq!(bed.pvx.stock(SITE, SKU).unwrap().available, 7);
    send(&store, &available(SKU, 7, 3_000)).await;
    while store.depth(STOCK_QUEUE).await.unwrap().visible > 0 {
        run_stock_batch(&flow, &store, 10).await;
    }
    assert_eq!(on_stock(&bed, SKU), Some(7));
    assert_eq!(bed.pvx.shortfall_total(), 0);
}

#[tokio::test]
async fn movements_are_hints_the_figure_is_read_from_peoplevox() {
    let bed = testbed(&[SKU.to_string()]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    bed.pvx.set_stock(SITE, SKU, 17, 20);
    // The movement says +500; Peoplevox says 17 are available. Peoplevox wins.
    send(&store, &moved(SKU, 500, 1_000)).await;
    send(&store, &moved(SKU, 500, 1_001)).await;
    let before = bed.pvx.requests_by_operation();
    let report = run_stock_batch(&flow, &store, 10).await;
    let after = bed.pvx.requests_by_operation();
    let reads = after.get("GetReportData").copied().unwrap_or(0)
        - before.get("GetReportData").copied().unwrap_or(0);
    assert_eq!(reads, 1, "one report read covers the batch");
    assert_eq!(report.rereads, 1);
    assert_eq!(on_stock(&bed, SKU), Some(17));
}

#[tokio::test]
async fn the_safety_buffer_and_packs_shape_the_target() {
    let bed = Testbed::start(ctpvx_infra::testbed::TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(300),
        safety_buffer: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    // SOCK-3PK is 3 x SOCK (testbed units of measure): 14 - 2 = 12 singles, 4 packs.
    send(&store, &available("SOCK", 14, 1_000)).await;
    let report = run_stock_batch(&flow, &store, 10).await;
    assert_eq!(report.created, 2, "{report:?}");
    assert_eq!(on_stock(&bed, "SOCK"), Some(12));
    assert_eq!(on_stock(&bed, "SOCK-3PK"), Some(4));
    send(&store, &available("SOCK", 1, 2_000)).await;
    run_stock_batch(&flow, &store, 10).await;
    assert_eq!(on_stock(&bed, "SOCK"), Some(0), "floored at 0");
    assert_eq!(on_stock(&bed, "SOCK-3PK"), Some(0));
}

#[tokio::test]
async fn bad_input_is_parked_with_a_reason_and_the_rest_of_the_batch_succeeds() {
    let bed = testbed(&[SKU.to_string()]).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    let unknown_site = StockMessage::Available {
        id: "e1".into(),
        site: "MOON-BASE".into(),
        item: SKU.into(),
        available: 5,
        received_at_ms: 1,
    }
    .to_json();
    let bad = [
        unknown_site,
        // Peoplevox knows no such item: the re-read finds nothing.
        moved("NO-SUCH-ITEM", 1, 2),
        r#"{"kind":"available","id":"e","site":"UK-DC","item":"X","available":"lots","receivedAtMs":1}"#
            .to_string(),
        "{{{".to_string(),
    ];
    for body in &bad {
        send(&store, body).await;
    }
    bed.pvx.set_stock(SITE, SKU, 8, 8);
    send(&store, &available(SKU, 8, 5)).await;
    let report = run_stock_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.records.dead_lettered, report.records.retried),
        (4, 0),
        "{report:?}"
    );
    assert_eq!(on_stock(&bed, SKU), Some(8), "the good event is applied");
    let parked = store
        .receive(STOCK_DLQ, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let reasons: Vec<String> = parked
        .iter()
        .map(|m| m.attributes[REASON_ATTRIBUTE].clone())
        .collect();
    for expected in [
        "unknown site `MOON-BASE`",
        "unknown SKU: Peoplevox reports no item `NO-SUCH-ITEM`",
        "not a valid stock message",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "no reason mentions {expected:?}: {reasons:#?}"
        );
    }
    assert_eq!(store.depth(STOCK_QUEUE).await.unwrap().visible, 0);
}

/// The whole path at a small scale: Peoplevox calls back (some callbacks twice, some late) on
/// hundreds of movements while a storefront sells; after everything settles, commercetools is
/// at the target everywhere and nothing was sold that Peoplevox could not allocate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_with_duplicates_and_reordering_converge_through_the_stack() {
    use ctpvx_infra::checks;
    use ctpvx_infra::local::{LocalStack, StackOptions};
    use ctpvx_infra::stock_scenario;
    use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, STOCK_SITES, TestbedOptions};

    let catalog = scenario::catalog(8);
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(300),
        items: catalog.clone(),
        safety_buffer: 5,
        confirm_after_s: 1,
        ..TestbedOptions::default()
    })
    .await
    .unwrap();
    let sites: Vec<String> = STOCK_SITES.iter().map(|(s, _)| s.to_string()).collect();
    let stack = LocalStack::start(&bed.config, &bed.secrets, store(), StackOptions::default())
        .await
        .unwrap();
    stock_scenario::subscribe(
        &stack.pvx,
        &stack.server.url,
        DEMO_CALLBACK_TOKEN,
        &sites,
        &sites[..1],
    )
    .await
    .unwrap();
    let faults = bed.pvx.callback_faults();
    faults.set_seed(11);
    faults.set_duplicate_rate(0.3);
    faults.set_reorder_window(Duration::from_millis(100));
    let mut rng = fastrand::Rng::with_seed(11);
    stock_scenario::opening_stock(&bed, &sites, &catalog, &mut rng);
    assert!(stock_scenario::settle(&bed, &stack, Duration::from_secs(60)).await);

    let moving =
        stock_scenario::move_stock(&bed, &sites, &catalog, 400, Duration::from_secs(1), 11);
    let selling = stock_scenario::sell(&bed, 0..60, &catalog, Duration::from_secs(1));
    let (movements, sales) = tokio::join!(moving, selling);
    let sales = sales.unwrap();
    let http = reqwest::Client::new();
    for (n, order) in sales.placed.iter().enumerate() {
        let status = http
            .post(format!(
                "{}{}",
                stack.server.url,
                ctpvx_shared::webhook::ORDERS_PATH
            ))
            .bearer_auth(ctpvx_infra::testbed::DEMO_WEBHOOK_TOKEN)
            .body(scenario::platform_message(order, &format!("m-{n}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 202);
    }
    assert!(
        stock_scenario::settle(&bed, &stack, Duration::from_secs(120)).await,
        "queues did not drain"
    );
    let report = stack.stock_totals.lock().await.clone();
    stack.stop().await;

    assert!(movements.total() == 400 && !sales.placed.is_empty());
    assert!(
        bed.pvx.callbacks_duplicated() > 0,
        "no duplicates: the test proves less"
    );
    assert!(
        report.writes > 0 && report.skipped_unchanged > 0,
        "{report:?}"
    );
    assert_eq!(checks::stock::mismatches(&bed), vec![], "{report:?}");
    assert_eq!(checks::stock::oversold_units(&bed), 0);
    assert_eq!(report.records.dead_lettered, 0, "{report:?}");
}

/// Four workers take batches of the same pair at once, with no outside writer: the last write
/// must be the newest figure without any later event to correct it (a worker whose write may
/// have landed after a newer one applies the pair again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_on_one_pair_end_at_the_newest_figure() {
    let bed = testbed(&[]).await;
    let store = store();
    bed.ct
        .insert_inventory(SKU, Some(&uk_channel(&bed)), 0)
        .unwrap();
    let flows = futures_flows(&bed, &store, 4).await;
    for round in 0..5 {
        for t in 1..=40 {
            let at = round * 100 + t;
            send(&store, &available(SKU, 1000 + at, at)).await;
        }
        let workers = futures::future::join_all(flows.iter().map(|flow| {
            let store = store.clone();
            async move {
                while store.depth(STOCK_QUEUE).await.unwrap().visible > 0 {
                    run_stock_batch(flow, &store, 3).await;
                }
            }
        }));
        workers.await;
        let newest = 1000 + round * 100 + 40;
        // Retried records come back after the 1 s visibility timeout; let them finish.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.depth(STOCK_QUEUE).await.unwrap() != Default::default()
            && std::time::Instant::now() < deadline
        {
            run_stock_batch(&flows[0], &store, 10).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(on_stock(&bed, SKU), Some(newest), "round {round}");
        let row = ledger_row(store.as_ref(), SITE, SKU)
            .await
            .unwrap()
            .unwrap();
        assert!(row.synced(), "round {round}: {row:?}");
    }
}
