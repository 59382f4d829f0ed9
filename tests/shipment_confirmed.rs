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
use ctpvx_shared::store::Queue;
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
    let (bed, store, orders) = exported(1, 1).await;
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
