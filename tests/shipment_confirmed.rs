//! The shipment flow end to end against both simulators: orders are exported to Peoplevox by
//! the order flow, despatched by the Peoplevox simulator, and confirmed into commercetools.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use ctpvx_infra::sim::peoplevox::{DespatchPlan, PackagePlan};
use ctpvx_infra::testbed::Testbed;
use ctpvx_shared::domain::ShipmentMessage;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::REASON_ATTRIBUTE;
use ctpvx_shared::store::{AuditLog, Queue};
use ctpvx_tests::{
    SHIPMENTS_DLQ, SHIPMENTS_QUEUE, run_shipment_batch, shipment_flow, store, testbed,
};

async fn exported(n: usize, lines: usize) -> (Testbed, Arc<EmbeddedStore>, Vec<Value>) {
    ctpvx_tests::exported_orders(n, lines).await
}

fn number(order: &Value) -> String {
    order["orderNumber"].as_str().unwrap().to_string()
}

async fn announce(store: &Arc<EmbeddedStore>, despatch: &str, event: &str) {
    let message = ShipmentMessage {
        id: uuid::Uuid::new_v4().to_string(),
        event: event.into(),
        despatch: despatch.into(),
        order: None,
        tracking: None,
        package: None,
        carrier: None,
        service: None,
        service_code: None,
        received_at_ms: 0,
    };
    store
        .send(SHIPMENTS_QUEUE, &message.to_json(), &BTreeMap::new())
        .await
        .unwrap();
}

fn deliveries(bed: &Testbed, order: &Value) -> Vec<Value> {
    let id = order["id"].as_str().unwrap();
    bed.ct.order_json(id).unwrap()["shippingInfo"]["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn shipment_state(bed: &Testbed, order: &Value) -> String {
    let id = order["id"].as_str().unwrap();
    bed.ct.order_json(id).unwrap()["shipmentState"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_despatch_confirmed_four_times_concurrently_gives_one_delivery() {
    let (bed, store, orders) = exported(1, 2).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything(
                "Royal Mail",
                "Tracked 24",
                vec![PackagePlan::tracked("TRK-1"), PackagePlan::tracked("TRK-2")],
            ),
        )
        .unwrap();
    for event in [
        "tracking",
        "package-tracking",
        "package-tracking",
        "package-despatched",
    ] {
        announce(&store, &despatch.number, event).await;
    }
    // Four workers, one record each, at the same time.
    let mut flows = Vec::new();
    for _ in 0..4 {
        flows.push(shipment_flow(&bed, &store).await);
    }
    let reports =
        futures::future::join_all(flows.iter().map(|f| run_shipment_batch(f, &store, 1))).await;
    let added: usize = reports.iter().map(|r| r.deliveries_added).sum();
    assert_eq!(added, 1, "{reports:?}");
    let found = deliveries(&bed, &orders[0]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["key"], format!("pvx-{}", despatch.number));
    let tracking: Vec<&str> = found[0]["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["trackingData"]["trackingId"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(tracking, ["TRK-1", "TRK-2"]);
    assert_eq!(
        found[0]["parcels"][0]["trackingData"]["carrier"],
        "Royal Mail"
    );
    assert_eq!(shipment_state(&bed, &orders[0]), "Shipped");
    assert_eq!(
        store.depth(SHIPMENTS_QUEUE).await.unwrap(),
        Default::default()
    );
}

#[tokio::test]
async fn a_split_order_goes_partial_then_shipped_with_both_deliveries() {
    let (bed, store, orders) = exported(1, 2).await;
    let order = &orders[0];
    let first_item = order["lineItems"][0]["variant"]["sku"].as_str().unwrap();
    let first_qty = order["lineItems"][0]["quantity"].as_i64().unwrap();
    let flow = shipment_flow(&bed, &store).await;

    let first = bed
        .pvx
        .despatch(
            &number(order),
            DespatchPlan {
                lines: vec![(first_item.to_string(), first_qty)],
                packages: vec![PackagePlan::tracked("A-1")],
                carrier: "DPD".into(),
                service: "Next Day".into(),
            },
        )
        .unwrap();
    announce(&store, &first.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(report.deliveries_added, 1, "{report:?}");
    assert_eq!(shipment_state(&bed, order), "Partial");

    let rest = bed
        .pvx
        .despatch(
            &number(order),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("B-1")]),
        )
        .unwrap();
    announce(&store, &rest.number, "tracking").await;
    // The first despatch is announced again (a late duplicate): nothing new for it.
    announce(&store, &first.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(report.deliveries_added, 1, "{report:?}");
    let found = deliveries(&bed, order);
    assert_eq!(found.len(), 2, "{found:#?}");
    let delivered: i64 = found
        .iter()
        .flat_map(|d| d["items"].as_array().unwrap().iter())
        .map(|i| i["quantity"].as_i64().unwrap())
        .sum();
    let ordered: i64 = order["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(delivered, ordered);
    assert_eq!(shipment_state(&bed, order), "Shipped");
}

#[tokio::test]
async fn tracking_arriving_after_the_delivery_lands_on_the_existing_parcel() {
    let (bed, store, orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("Royal Mail", "Tracked 48", vec![PackagePlan::default()]),
        )
        .unwrap();
    announce(&store, &despatch.number, "package-despatched").await;
    run_shipment_batch(&flow, &store, 10).await;
    let before = deliveries(&bed, &orders[0]);
    assert_eq!(before.len(), 1);
    assert!(before[0]["parcels"][0]["trackingData"]["trackingId"].is_null());

    bed.pvx
        .set_package_tracking(&despatch.number, 1, "LATE-42")
        .unwrap();
    announce(&store, &despatch.number, "package-tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.tracking_set, report.deliveries_added),
        (1, 0),
        "{report:?}"
    );
    let after = deliveries(&bed, &orders[0]);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["parcels"].as_array().unwrap().len(), 1);
    assert_eq!(
        after[0]["parcels"][0]["trackingData"]["trackingId"],
        "LATE-42"
    );
    assert_eq!(after[0]["id"], before[0]["id"]);
}

#[tokio::test]
async fn a_409_between_read_and_write_converges_without_duplicating() {
    let (bed, store, orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("X-1")]),
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    // Another writer changes the order between our read and our write, twice.
    bed.ct.bump_version_before_next_update(2);
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert!(report.conflicts >= 1, "{report:?}");
    assert_eq!(report.deliveries_added, 1, "{report:?}");
    assert_eq!(deliveries(&bed, &orders[0]).len(), 1);
    assert_eq!(shipment_state(&bed, &orders[0]), "Shipped");
}

#[tokio::test]
async fn unknown_despatches_are_retried_then_parked_with_the_reason() {
    let (bed, store, _orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    announce(&store, "DSP-NOPE", "tracking").await;
    store
        .send(
            SHIPMENTS_QUEUE,
            "{\"not\": \"a shipment\"}",
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.records.retried, report.records.dead_lettered),
        (1, 1),
        "{report:?}"
    );
    // Redelivered until its last attempt, where it is parked with the reason. (With re-queues
    // left it would go back as a delayed copy first: tests/dlq.rs covers that.)
    let options = ctpvx_infra::local::worker::WorkerOptions {
        retry: ctpvx_shared::flows::settle::RetryPolicy {
            requeues: 0,
            ..ctpvx_shared::queues::retry_policy(SHIPMENTS_QUEUE)
        },
        ..ctpvx_tests::queue_options(SHIPMENTS_QUEUE, SHIPMENTS_DLQ, 10)
    };
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let messages = ctpvx_infra::local::worker::gather(store.as_ref(), &options).await;
        ctpvx_infra::local::worker::run_batch(
            &flow,
            store.as_ref(),
            store.as_ref(),
            &options,
            messages,
        )
        .await;
    }
    let parked = store
        .receive(SHIPMENTS_DLQ, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let reasons: Vec<&str> = parked
        .iter()
        .filter_map(|m| m.attributes.get(REASON_ATTRIBUTE).map(String::as_str))
        .collect();
    assert_eq!(parked.len(), 2, "{parked:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("DSP-NOPE") && r.contains("despatch report")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not a valid shipment message")),
        "{reasons:?}"
    );
    assert!(bed.ct.orders().iter().all(|o| {
        o.shipping_info
            .as_ref()
            .is_none_or(|s| s.deliveries.is_empty())
    }));
}

#[tokio::test]
async fn commercetools_requests_per_despatch_stay_at_two() {
    let (bed, store, orders) = exported(20, 2).await;
    let flow = shipment_flow(&bed, &store).await;
    for order in &orders {
        let d = bed
            .pvx
            .despatch(
                &number(order),
                DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]),
            )
            .unwrap();
        announce(&store, &d.number, "tracking").await;
    }
    bed.ct.reset_counters();
    let report = run_shipment_batch(&flow, &store, 100).await;
    assert_eq!(report.deliveries_added, 20, "{report:?}");
    let requests = bed.ct.request_count();
    // One query for the orders of the batch plus one update per despatch (plus a token).
    assert!(requests <= 2 * 20, "{requests} requests for 20 despatches");
    println!(
        "commercetools requests per despatch: {}",
        requests as f64 / 20.0
    );
}

/// Writes rows straight into Peoplevox, as another channel or a person at the warehouse would.
async fn save(bed: &Testbed, store: &Arc<EmbeddedStore>, template: &str, rows: &[&[&str]]) {
    use ctpvx_shared::peoplevox::{CsvTable, PvxClient, SaveAction};
    let pvx = PvxClient::new(
        ctpvx_shared::app::pvx_settings(&bed.config, &bed.secrets),
        store.clone(),
    )
    .unwrap();
    let headers: &[&str] = if template == "Sales orders" {
        &["SalesOrderNumber", "Site"]
    } else {
        &["SalesOrderNumber", "ItemCode", "QuantityOrdered", "Line"]
    };
    let table = CsvTable {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|v| v.to_string()).collect())
            .collect(),
    };
    let outcome = pvx
        .save_data(template, &table, SaveAction::Upsert)
        .await
        .unwrap();
    assert!(outcome.all_succeeded(), "{outcome:?}");
}

#[tokio::test]
async fn an_unknown_order_number_or_sku_is_parked_with_a_clear_reason() {
    let (mut bed, store, orders) = exported(1, 1).await;
    // A tenant whose other sales channels' orders are to be looked at by a person.
    bed.config.orders.other_orders = ctpvx_shared::config::OtherOrders::Park;
    let flow = shipment_flow(&bed, &store).await;
    // An order Peoplevox has and commercetools does not.
    save(&bed, &store, "Sales orders", &[&["GHOST-1", "UK-DC"]]).await;
    save(
        &bed,
        &store,
        "Sales order items",
        &[&["GHOST-1", "SKU-0001", "1", "1"]],
    )
    .await;
    bed.pvx.set_stock("UK-DC", "SKU-0001", 1000, 1000);
    let ghost = bed
        .pvx
        .despatch(
            "GHOST-1",
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("G")]),
        )
        .unwrap();
    // A line added in Peoplevox that the commercetools order does not have.
    let known = number(&orders[0]);
    let ordered = orders[0]["lineItems"][0]["variant"]["sku"]
        .as_str()
        .unwrap();
    let stranger = ["SKU-0001", "SKU-0002"]
        .into_iter()
        .find(|s| *s != ordered)
        .unwrap();
    save(
        &bed,
        &store,
        "Sales order items",
        &[&[known.as_str(), stranger, "1", "99"]],
    )
    .await;
    let odd = bed
        .pvx
        .despatch(
            &known,
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("O")]),
        )
        .unwrap();
    announce(&store, &ghost.number, "tracking").await;
    announce(&store, &odd.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.records.dead_lettered, report.deliveries_added),
        (2, 0),
        "{report:?}"
    );
    let parked = store
        .receive(SHIPMENTS_DLQ, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let reasons: Vec<&str> = parked
        .iter()
        .filter_map(|m| m.attributes.get(REASON_ATTRIBUTE).map(String::as_str))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("unknown order number `GHOST-1`")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("`{stranger}`")) && r.contains("does not contain")),
        "{reasons:?}"
    );
    assert!(deliveries(&bed, &orders[0]).is_empty());
}

/// Issue 22 item 10 (second bullet): another sales channel shares the Peoplevox tenant. Its
/// despatches are not ours: by default they are skipped with an audit entry on the number's
/// trail and counted, so they raise no dead-letter alarm; an order of ours still ships.
#[tokio::test]
async fn another_channel_s_despatch_is_a_recorded_skip_not_a_dead_letter() {
    let (bed, store, orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    save(&bed, &store, "Sales orders", &[&["AMZ-1", "UK-DC"]]).await;
    save(
        &bed,
        &store,
        "Sales order items",
        &[&["AMZ-1", "SKU-0001", "1", "1"]],
    )
    .await;
    bed.pvx.set_stock("UK-DC", "SKU-0001", 1000, 1000);
    let theirs = bed
        .pvx
        .despatch(
            "AMZ-1",
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("A")]),
        )
        .unwrap();
    let ours = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("O")]),
        )
        .unwrap();
    announce(&store, &theirs.number, "tracking").await;
    announce(&store, &ours.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (
            report.records.dead_lettered,
            report.not_ours,
            report.deliveries_added
        ),
        (0, 1, 1),
        "{report:?}"
    );
    let trail = store.list("pvx-order#AMZ-1", 10).await.unwrap();
    assert!(
        trail.iter().any(|e| e.outcome == "skipped-not-ours"
            && e.reason.as_deref().is_some_and(|r| r.contains("AMZ-1"))),
        "{trail:?}"
    );
    assert!(
        store
            .receive(SHIPMENTS_DLQ, 10, std::time::Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_flow_refuses_to_start_without_its_delivery_type() {
    let bed = testbed(&[]).await;
    let store = store();
    let mut config = bed.config.clone();
    config.shipments.delivery_type = Some("never-set-up".into());
    let stores = ctpvx_shared::app::Stores {
        state: store.clone(),
        idempotency: store.clone(),
        audit: store.clone(),
    };
    let (ct, pvx) = ctpvx_shared::app::clients(&config, &bed.secrets, store.clone()).unwrap();
    let Err(e) = ctpvx_shared::app::shipment_confirmed(&config, &stores, ct, pvx).await else {
        panic!("started without the custom type");
    };
    assert!(
        e.to_string().contains("never-set-up") && e.to_string().contains("ctpvx setup"),
        "{e}"
    );
}

// ---- Peoplevox reads as tenants differ (paging, ignored clauses, packages, report times) ----

/// The parcels of the order's only delivery: `(key, tracking id)`.
fn parcels(bed: &Testbed, order: &Value) -> Vec<(String, String)> {
    let found = deliveries(bed, order);
    assert_eq!(found.len(), 1, "{found:#?}");
    found[0]["parcels"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap_or("").to_string(),
                p["trackingData"]["trackingId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_despatch_of_more_than_1000_lines_is_booked_whole_from_pages_of_1000() {
    // The default tenant serves at most 1000 rows a page; this despatch has 1100 lines.
    let catalog = ctpvx_infra::scenario::catalog(1200);
    let bed = testbed(&catalog).await;
    bed.pvx.set_stock_bulk(
        catalog
            .iter()
            .map(|item| ("UK-DC".to_string(), item.clone(), 1000, 1000)),
    );
    let store = store();
    let orders = ctpvx_tests::seed_orders(&bed, 0..1, 1100, &catalog);
    ctpvx_tests::enqueue(&store, &orders).await;
    let export = ctpvx_tests::flow(&bed, &store).await;
    let report = ctpvx_tests::run_one_batch(&export, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("BIG-1")]),
        )
        .unwrap();
    assert_eq!(despatch.lines.len(), 1100);
    announce(&store, &despatch.number, "tracking").await;
    let flow = shipment_flow(&bed, &store).await;
    let booked = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(booked.deliveries_added, 1, "{booked:?}");
    let found = deliveries(&bed, &orders[0]);
    assert_eq!(found[0]["items"].as_array().unwrap().len(), 1100);
    assert_eq!(shipment_state(&bed, &orders[0]), "Shipped");
}

#[tokio::test]
async fn a_tenant_that_ignores_the_search_clause_books_only_the_despatches_asked_for() {
    use ctpvx_infra::sim::peoplevox::dialect::BARE;
    let (bed, store, orders) = ctpvx_tests::exported_orders_in(BARE, 3, 1).await;
    let mut made = Vec::new();
    for order in &orders {
        made.push(
            bed.pvx
                .despatch(
                    &number(order),
                    DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]),
                )
                .unwrap(),
        );
    }
    // Only the second despatch is announced; the report answers with all three.
    announce(&store, &made[1].number, "tracking").await;
    let flow = shipment_flow(&bed, &store).await;
    let booked = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(booked.deliveries_added, 1, "{booked:?}");
    assert!(deliveries(&bed, &orders[0]).is_empty());
    assert_eq!(deliveries(&bed, &orders[1]).len(), 1);
    assert!(deliveries(&bed, &orders[2]).is_empty());
}

#[tokio::test]
async fn without_a_packages_template_each_tracking_number_of_the_summary_is_a_parcel() {
    use ctpvx_infra::sim::peoplevox::dialect::BARE;
    let (bed, store, orders) = ctpvx_tests::exported_orders_in(BARE, 1, 1).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything(
                "Royal Mail",
                "Tracked 24",
                vec![PackagePlan::tracked("RM-1"), PackagePlan::tracked("RM-2")],
            ),
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let flow = shipment_flow(&bed, &store).await;
    let booked = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(booked.deliveries_added, 1, "{booked:?}");
    let key = |n: u32| format!("pvx-{}-{n}", despatch.number);
    assert_eq!(
        parcels(&bed, &orders[0]),
        [(key(1), "RM-1".to_string()), (key(2), "RM-2".to_string())]
    );
    // Announced again: nothing new.
    announce(&store, &despatch.number, "tracking").await;
    let again = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(again.unchanged, 1, "{again:?}");
}

#[tokio::test]
async fn late_tracking_without_a_template_lands_on_the_existing_parcel_and_never_duplicates() {
    use ctpvx_infra::sim::peoplevox::dialect::BARE;
    let (bed, store, orders) = ctpvx_tests::exported_orders_in(BARE, 1, 1).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything(
                "Evri",
                "Standard",
                vec![PackagePlan::untracked(), PackagePlan::untracked()],
            ),
        )
        .unwrap();
    let flow = shipment_flow(&bed, &store).await;
    announce(&store, &despatch.number, "package-despatched").await;
    run_shipment_batch(&flow, &store, 10).await;
    let key = |suffix: &str| format!("pvx-{}-{suffix}", despatch.number);
    // Nothing tells of two packages yet: one parcel, untracked.
    assert_eq!(parcels(&bed, &orders[0]), [(key("1"), String::new())]);

    // The second package's number comes first: it goes on that parcel.
    bed.pvx
        .set_package_tracking(&despatch.number, 2, "LATE-2")
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.tracking_set, report.parcels_added),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(
        parcels(&bed, &orders[0]),
        [(key("1"), "LATE-2".to_string())]
    );

    // Then the first package's: a parcel of its own; LATE-2 stays where it is.
    bed.pvx
        .set_package_tracking(&despatch.number, 1, "LATE-1")
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.tracking_set, report.parcels_added),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(
        parcels(&bed, &orders[0]),
        [
            (key("1"), "LATE-2".to_string()),
            (key("1-2"), "LATE-1".to_string())
        ]
    );
    // And again: nothing changes.
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(report.unchanged, 1, "{report:?}");
}

#[tokio::test]
async fn a_package_booked_from_the_summary_and_read_again_from_the_template_stays_one_parcel() {
    // The default tenant has the packages template. A flow without it (as before the template
    // was configured) books from the summary; one with it reads the template afterwards.
    let (bed, store, orders) = exported(1, 1).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything(
                "DPD",
                "Next Day",
                vec![
                    PackagePlan::untracked().weighing(1.5),
                    PackagePlan::tracked("P-2").weighing(0.5),
                ],
            ),
        )
        .unwrap();
    let mut config = bed.config.clone();
    config.shipments.packages.template = String::new();
    let summary_only = {
        let stores = ctpvx_shared::app::Stores {
            state: store.clone(),
            idempotency: store.clone(),
            audit: store.clone(),
        };
        let (ct, pvx) = ctpvx_shared::app::clients(&config, &bed.secrets, store.clone()).unwrap();
        ctpvx_shared::app::shipment_confirmed(&config, &stores, ct, pvx)
            .await
            .unwrap()
    };
    announce(&store, &despatch.number, "tracking").await;
    run_shipment_batch(&summary_only, &store, 10).await;
    let key = |suffix: &str| format!("pvx-{}-{suffix}", despatch.number);
    assert_eq!(parcels(&bed, &orders[0]), [(key("1"), "P-2".to_string())]);

    let with_template = shipment_flow(&bed, &store).await;
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&with_template, &store, 10).await;
    assert_eq!(
        (report.parcels_added, report.tracking_set),
        (1, 0),
        "{report:?}"
    );
    // P-2 is still on one parcel; the untracked package got one of its own.
    assert_eq!(
        parcels(&bed, &orders[0]),
        [(key("1"), "P-2".to_string()), (key("1-2"), String::new())]
    );
    let found = deliveries(&bed, &orders[0]);
    assert_eq!(
        found[0]["parcels"][1]["measurements"]["weightInGram"], 1500,
        "weights come from the template"
    );
}

#[tokio::test]
async fn packages_come_from_the_template_under_the_tenant_s_field_names() {
    let (bed, store, orders) = exported(1, 1).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything(
                "DPD",
                "Next Day",
                vec![
                    PackagePlan::tracked("W-1").weighing(2.25),
                    PackagePlan::untracked(),
                ],
            ),
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let flow = shipment_flow(&bed, &store).await;
    run_shipment_batch(&flow, &store, 10).await;
    let found = deliveries(&bed, &orders[0]);
    let parcels = found[0]["parcels"].as_array().unwrap();
    assert_eq!(parcels.len(), 2, "{found:#?}");
    assert_eq!(parcels[0]["trackingData"]["trackingId"], "W-1");
    assert_eq!(parcels[0]["measurements"]["weightInGram"], 2250);
    assert!(parcels[1]["trackingData"].is_null());

    // With the connector's default field names the tenant's template is not readable: the
    // despatch is retried with a reason that names the field, never booked without packages.
    let (bed2, store2, orders2) = exported(1, 1).await;
    let despatch2 = bed2
        .pvx
        .despatch(
            &number(&orders2[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("X")]),
        )
        .unwrap();
    let mut config2 = bed2.config.clone();
    config2.shipments.packages = ctpvx_shared::config::PackageTemplate::default();
    let stores = ctpvx_shared::app::Stores {
        state: store2.clone(),
        idempotency: store2.clone(),
        audit: store2.clone(),
    };
    let (ct, pvx) = ctpvx_shared::app::clients(&config2, &bed2.secrets, store2.clone()).unwrap();
    let misnamed = ctpvx_shared::app::shipment_confirmed(&config2, &stores, ct, pvx)
        .await
        .unwrap();
    announce(&store2, &despatch2.number, "tracking").await;
    let report = run_shipment_batch(&misnamed, &store2, 10).await;
    assert_eq!(report.records.retried, 1, "{report:?}");
    assert!(deliveries(&bed2, &orders2[0]).is_empty());
}

#[tokio::test]
async fn despatch_times_are_read_in_the_tenant_s_zone_across_the_october_change() {
    // The default tenant reports London wall-clock times.
    let (bed, store, orders) = exported(2, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    let mut booked_at = Vec::new();
    // 00:30 BST on 25 October 2026, then 02:30 GMT after the clocks went back.
    for (order, at) in orders
        .iter()
        .zip(["2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"])
    {
        bed.pvx.pin_clock(at).unwrap();
        let despatch = bed
            .pvx
            .despatch(
                &number(order),
                DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("T")]),
            )
            .unwrap();
        announce(&store, &despatch.number, "tracking").await;
        run_shipment_batch(&flow, &store, 10).await;
        booked_at.push(deliveries(&bed, order)[0]["custom"]["fields"]["despatchedAt"].clone());
    }
    assert_eq!(booked_at, ["2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"]);
}

/// Issue 22 item 1: lines `SOCK` ×2 and `SOCK-3PK` ×1 (3 SOCK units, testbed units of
/// measure), and the warehouse despatches only the pack's 3 units. Matched greedily in line
/// order, the singles took 2, the third fitted no line, and the despatch was dead-lettered
/// (then re-queued nightly into the same refusal). The pack line is delivered.
#[tokio::test]
async fn a_despatch_of_a_pack_s_units_is_delivered_on_the_pack_line() {
    let catalog = ctpvx_infra::scenario::catalog(5);
    let bed = testbed(&catalog).await;
    for site in ["UK-DC", "EU-DC"] {
        bed.pvx.set_stock(site, "SOCK", 1000, 1000);
    }
    let store = store();
    let mut order = ctpvx_infra::scenario::order(0, 2, &catalog);
    for (line, (sku, quantity)) in [("SOCK", 2), ("SOCK-3PK", 1)].into_iter().enumerate() {
        order["lineItems"][line]["variant"]["sku"] = sku.into();
        order["lineItems"][line]["quantity"] = quantity.into();
    }
    bed.ct.insert_order_json(order.clone()).unwrap();
    ctpvx_tests::enqueue(&store, std::slice::from_ref(&order)).await;
    let report =
        ctpvx_tests::run_one_batch(&ctpvx_tests::flow(&bed, &store).await, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");

    let despatch = bed
        .pvx
        .despatch(
            &number(&order),
            DespatchPlan {
                lines: vec![("SOCK".to_string(), 3)],
                packages: vec![PackagePlan::tracked("PACK-1")],
                carrier: "DPD".into(),
                service: "Next Day".into(),
            },
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let shipments = shipment_flow(&bed, &store).await;
    let report = run_shipment_batch(&shipments, &store, 10).await;
    assert_eq!(
        (report.deliveries_added, report.records.dead_lettered),
        (1, 0),
        "{report:?}"
    );
    let found = deliveries(&bed, &order);
    let pack_line = order["lineItems"][1]["id"].clone();
    assert_eq!(found[0]["items"].as_array().unwrap().len(), 1, "{found:#?}");
    assert_eq!(found[0]["items"][0]["id"], pack_line, "{found:#?}");
    assert_eq!(found[0]["items"][0]["quantity"], 1, "{found:#?}");
    assert_eq!(shipment_state(&bed, &order), "Partial");
}

/// Issue 22 item 2: two despatches of one order in one batch, the second of an item the
/// commercetools order does not have. Each despatch is planned on its own: the good one is
/// delivered, only the bad one is parked with its reason (before, both were parked).
#[tokio::test]
async fn one_despatch_that_cannot_be_booked_does_not_park_the_others_of_its_order() {
    let (bed, store, orders) = exported(1, 1).await;
    let order = &orders[0];
    let known = number(order);
    let ordered = order["lineItems"][0]["variant"]["sku"].as_str().unwrap();
    let quantity = order["lineItems"][0]["quantity"].as_i64().unwrap();
    let flow = shipment_flow(&bed, &store).await;
    let good = bed
        .pvx
        .despatch(
            &known,
            DespatchPlan {
                lines: vec![(ordered.to_string(), quantity)],
                packages: vec![PackagePlan::tracked("GOOD-1")],
                carrier: "DPD".into(),
                service: "Next Day".into(),
            },
        )
        .unwrap();
    // A line added in Peoplevox that the commercetools order does not have, despatched apart.
    let stranger = ["SKU-0001", "SKU-0002"]
        .into_iter()
        .find(|s| *s != ordered)
        .unwrap();
    save(
        &bed,
        &store,
        "Sales order items",
        &[&[known.as_str(), stranger, "1", "99"]],
    )
    .await;
    let bad = bed
        .pvx
        .despatch(
            &known,
            DespatchPlan {
                lines: vec![(stranger.to_string(), 1)],
                packages: vec![PackagePlan::tracked("BAD-1")],
                carrier: "DPD".into(),
                service: "Next Day".into(),
            },
        )
        .unwrap();
    announce(&store, &good.number, "tracking").await;
    announce(&store, &bad.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (report.deliveries_added, report.records.dead_lettered),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(deliveries(&bed, order).len(), 1);
    assert_eq!(shipment_state(&bed, order), "Shipped");
    let parked = store
        .receive(SHIPMENTS_DLQ, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(parked.len(), 1);
    let reason = parked[0].attributes.get(REASON_ATTRIBUTE).unwrap();
    assert!(
        reason.contains(&bad.number) && reason.contains("does not contain"),
        "{reason}"
    );
}

/// Issue 22 item 10 (third bullet): commercetools applies the delivery and its answer is lost
/// (a 500). The re-read finds the delivery there: it is counted and audited as delivered by
/// this flow, with the lost answer named, not as "unchanged".
#[tokio::test]
async fn a_delivery_whose_answer_was_lost_is_audited_as_delivered() {
    let (bed, store, orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("L")]),
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    bed.ct.lose_answer_of_next_writes(1);
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (
            report.deliveries_added,
            report.unchanged,
            report.records.retried
        ),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(deliveries(&bed, &orders[0]).len(), 1);
    let id = orders[0]["id"].as_str().unwrap();
    let trail = store.list(&format!("order#{id}"), 50).await.unwrap();
    assert!(
        trail.iter().any(|e| e.flow == "shipment-confirmed"
            && e.outcome == "delivered"
            && e.reason
                .as_deref()
                .is_some_and(|r| r.contains("answer was lost"))),
        "{trail:?}"
    );
}

/// Issue 22 item 10 (fifth bullet): commercetools takes at most 500 update actions a request.
/// Tracking for 600 parcels of one despatch (a pallet-sized B2B order) is 600 actions: it goes
/// in two requests, and every parcel gets its number.
#[tokio::test]
async fn tracking_for_600_parcels_is_split_into_updates_of_at_most_500_actions() {
    let (bed, store, orders) = exported(1, 1).await;
    let flow = shipment_flow(&bed, &store).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(&orders[0]),
            DespatchPlan::everything("DPD", "Pallet", vec![PackagePlan::untracked(); 600]),
        )
        .unwrap();
    announce(&store, &despatch.number, "package-despatched").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(report.deliveries_added, 1, "{report:?}");
    for package in 1..=600 {
        bed.pvx
            .set_package_tracking(&despatch.number, package, &format!("T-{package}"))
            .unwrap();
    }
    announce(&store, &despatch.number, "package-tracking").await;
    bed.ct.reset_counters();
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (
            report.tracking_set,
            report.records.retried,
            report.records.dead_lettered
        ),
        (600, 0, 0),
        "{report:?}"
    );
    assert_eq!(bed.ct.requests_to("POST /{project}/orders/{id}"), 2);
    let shown = deliveries(&bed, &orders[0]);
    let tracked = shown[0]["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["trackingData"]["trackingId"].is_string())
        .count();
    assert_eq!(tracked, 600);
}

/// Issue 22 item 3: a person records a delivery by hand in the Merchant Center (no `pvx-` key)
/// for a line before the warehouse's despatch of the same units comes in. The despatch is
/// booked all the same: its parcel and tracking number reach the order, nothing is parked, and
/// the overlap is recorded for a person (`pvxException`, the order's audit trail, the report).
/// Before, the despatch was refused for "more units than left" and dead-lettered.
#[tokio::test]
async fn a_despatch_of_units_delivered_by_hand_is_booked_and_the_overlap_recorded() {
    let (bed, store, orders) = exported(1, 2).await;
    let order = &orders[0];
    let id = order["id"].as_str().unwrap();
    let line = &order["lineItems"][0];
    let sku = line["variant"]["sku"].as_str().unwrap();
    bed.ct
        .apply_order_actions(
            id,
            vec![serde_json::json!({
                "action": "addDelivery",
                "deliveryKey": "merchant-center-1",
                "items": [{"id": line["id"], "quantity": line["quantity"]}],
                "parcels": [],
            })],
        )
        .unwrap();
    let flow = shipment_flow(&bed, &store).await;
    let despatch = bed
        .pvx
        .despatch(
            &number(order),
            DespatchPlan::everything("DPD", "Next Day", vec![PackagePlan::tracked("HAND-1")]),
        )
        .unwrap();
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (
            report.deliveries_added,
            report.records.dead_lettered,
            report.records.retried,
            hand_made_overlaps(&report)
        ),
        (1, 0, 0, 1),
        "{report:?}"
    );

    // The despatch's parcel with its tracking number is on the order, next to the hand-made
    // delivery, and every line has left.
    let found = deliveries(&bed, order);
    assert_eq!(found.len(), 2, "{found:#?}");
    let ours = found
        .iter()
        .find(|d| d["key"] == format!("pvx-{}", despatch.number))
        .expect("the despatch's delivery");
    assert_eq!(ours["parcels"][0]["trackingData"]["trackingId"], "HAND-1");
    assert_eq!(shipment_state(&bed, order), "Shipped");
    let parked = store
        .receive(SHIPMENTS_DLQ, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(parked.is_empty(), "{parked:?}");

    // The overlap, for a person: on the order and on its trail, naming the despatch and line.
    let shown = bed.ct.order_json(id).unwrap();
    let exception = shown["custom"]["fields"]["pvxException"]
        .as_str()
        .unwrap_or_default();
    assert!(
        exception.contains(&despatch.number) && exception.contains(sku),
        "{shown:#}"
    );
    let trail = store.list(&format!("order#{id}"), 50).await.unwrap();
    let overlap = trail
        .iter()
        .find(|e| e.outcome == "delivered-over-hand-made-delivery")
        .unwrap_or_else(|| panic!("no overlap entry: {trail:?}"));
    assert!(
        overlap
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&despatch.number) && r.contains(sku)),
        "{overlap:?}"
    );
    assert_eq!(overlap.detail["overlap"][0]["lineId"], line["id"]);
    assert_eq!(overlap.detail["overlap"][0]["units"], line["quantity"]);

    // The despatch announced again (a duplicate, the nightly sweep): nothing more.
    announce(&store, &despatch.number, "tracking").await;
    let report = run_shipment_batch(&flow, &store, 10).await;
    assert_eq!(
        (
            report.deliveries_added,
            report.unchanged,
            hand_made_overlaps(&report)
        ),
        (0, 1, 0),
        "{report:?}"
    );
}

/// The report's count of despatches booked over deliveries made by hand, as its logs and
/// metrics show it.
fn hand_made_overlaps(report: &ctpvx_shared::flows::shipment_confirmed::ShipmentReport) -> u64 {
    serde_json::to_value(report).unwrap()["hand_made_overlaps"]
        .as_u64()
        .unwrap_or(0)
}
