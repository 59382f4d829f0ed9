//! Orders in flight against the stock flow, at the exact moments that matter: placed between
//! the flow's two reads, placed between its read and its write, exported while a figure from
//! before the export waits in the queue, and exported with nothing newer than a pre-export
//! figure in the ledger. The commercetools simulator places the order at the chosen request
//! ([`ctpvx_infra::sim::commercetools::CtSim::place_order_at`]), so no test depends on timing.

use std::collections::BTreeMap;
use std::sync::Arc;

use ctpvx_infra::scenario;
use ctpvx_infra::sim::commercetools::Moment;
use ctpvx_infra::testbed::Testbed;
use ctpvx_shared::domain::StockMessage;
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::stock_delta::{StockDelta, ledger_row};
use ctpvx_shared::store::{Queue, now_epoch_ms};
use ctpvx_tests::{STOCK_QUEUE, run_one_batch, run_stock_batch, stock_flow, store, testbed};
use serde_json::Value;

const SITE: &str = "UK-DC";
const SKU: &str = "SKU-0001";
const INVENTORY_QUERY: &str = "GET /{project}/inventory";
const ORDERS_QUERY: &str = "GET /{project}/orders";
const INVENTORY_UPDATE: &str = "POST /{project}/inventory/{id}";
const REPORT_READS: &str = "GetReportData";

fn available(value: i64, at_ms: i64) -> String {
    StockMessage::Available {
        id: format!("ev-{at_ms}"),
        site: SITE.into(),
        item: SKU.into(),
        available: value,
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

fn on_stock(bed: &Testbed) -> Option<i64> {
    bed.ct
        .inventory_entry(SKU, Some(&bed.site_channels[SITE]))
        .map(|e| e.quantity_on_stock)
}

/// Scenario order `i`: `units` of [`SKU`] from the UK warehouse, with `TrackOnly`, so that
/// commercetools takes the units off the entry when it is placed.
fn order(bed: &Testbed, i: usize, units: i64) -> Value {
    let channel = bed.site_channels[SITE].clone();
    let mut order = scenario::order_from(i, 1, &[SKU.to_string()], |_| channel.clone());
    order["inventoryMode"] = "TrackOnly".into();
    order["lineItems"][0]["quantity"] = units.into();
    order
}

/// A test bed whose Peoplevox holds 10 of [`SKU`] at the site, and a stock flow that has
/// brought commercetools to 10 from a figure received a minute ago.
async fn at_ten() -> (Testbed, Arc<EmbeddedStore>, StockDelta) {
    let bed = testbed(&scenario::catalog(3)).await;
    let store = store();
    let flow = stock_flow(&bed, &store).await;
    bed.pvx.set_stock(SITE, SKU, 10, 10);
    send(&store, &available(10, now_epoch_ms() - 60_000)).await;
    run_stock_batch(&flow, &store, 10).await;
    assert_eq!(on_stock(&bed), Some(10));
    (bed, store, flow)
}

/// Exports `order` to Peoplevox through the order flow, stock rechecks on.
async fn export(bed: &Testbed, store: &Arc<EmbeddedStore>, order: &Value) {
    store
        .send(
            ctpvx_tests::Q,
            &scenario::platform_message(order, "m-1"),
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let export = ctpvx_tests::flow(bed, store)
        .await
        .with_stock_hints(Some(store.clone()));
    let report = run_one_batch(&export, store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");
}

/// Runs stock batches until the queue is empty; returns the Peoplevox report reads they made.
async fn drain_stock(bed: &Testbed, store: &Arc<EmbeddedStore>, flow: &StockDelta) -> u64 {
    let reads = || bed.pvx.requests_by_operation().get(REPORT_READS).copied();
    let before = reads().unwrap_or(0);
    while store.depth(STOCK_QUEUE).await.unwrap().visible > 0 {
        run_stock_batch(flow, store, 10).await;
    }
    reads().unwrap_or(0) - before
}

/// Item 2 of issue 21: with the pending orders read first, an order placed before the entry is
/// read has lowered the entry (whose version then stays current) but is not pending, and the
/// write puts its units back on sale.
#[tokio::test]
async fn an_order_placed_between_the_flows_two_reads_is_not_sold_twice() {
    let (bed, store, flow) = at_ten().await;
    let order = order(&bed, 0, 3);
    // Whichever of its two reads the flow makes first, the order lands right after it.
    bed.ct.place_order_at(
        &[INVENTORY_QUERY, ORDERS_QUERY],
        Moment::BeforeAnswer,
        order,
    );
    send(&store, &available(10, now_epoch_ms())).await;
    let report = run_stock_batch(&flow, &store, 10).await;
    assert_eq!(
        bed.ct.staged_orders_placed(),
        [Ok(scenario::order_id(0))],
        "the order was placed between the reads"
    );
    assert_eq!(
        on_stock(&bed),
        Some(7),
        "the 3 units the order took stay off sale: {report:?}"
    );
}

/// Item 2 of issue 21: an order placed after both reads, just before the write, makes the
/// write a 409; re-reading only the entry keeps a target that does not know the order and
/// writes its units back.
#[tokio::test]
async fn a_conflict_reads_the_pending_orders_again_not_only_the_entry() {
    let (bed, store, flow) = at_ten().await;
    bed.pvx.set_stock(SITE, SKU, 12, 12);
    bed.ct.place_order_at(
        &[INVENTORY_UPDATE],
        Moment::BeforeHandling,
        order(&bed, 0, 3),
    );
    send(&store, &available(12, now_epoch_ms())).await;
    let report = run_stock_batch(&flow, &store, 10).await;
    assert_eq!(bed.ct.staged_orders_placed(), [Ok(scenario::order_id(0))]);
    assert!(report.conflicts >= 1, "the write met the order: {report:?}");
    assert_eq!(on_stock(&bed), Some(9), "12 available less the order's 3");
}

/// Item 2 of issue 21 (the export's side of the race): a figure Peoplevox sent before the
/// order reached it waits in the queue while the order is exported and marked. The figure
/// does not know the allocation, and the order is no longer unmarked: it must still count.
#[tokio::test]
async fn a_figure_from_before_an_export_still_counts_the_exported_order() {
    let (bed, store, flow) = at_ten().await;
    let order = order(&bed, 0, 3);
    bed.ct
        .place_order(order.clone())
        .unwrap()
        .expect("in stock");
    assert_eq!(on_stock(&bed), Some(7));
    // Peoplevox said 10 (before it had the order); the callback is still queued.
    send(&store, &available(10, now_epoch_ms())).await;
    export(&bed, &store, &order).await;
    assert_eq!(bed.pvx.stock(SITE, SKU).unwrap().available, 7);
    let report = run_stock_batch(&flow, &store, 1).await;
    assert_eq!(report.pairs, 1, "the queued callback, alone: {report:?}");
    assert_eq!(
        on_stock(&bed),
        Some(7),
        "10 before the allocation less the order's 3: {report:?}"
    );
    drain_stock(&bed, &store, &flow).await;
    assert_eq!(on_stock(&bed), Some(7));
}

/// Item 5 of issue 21: after an export, the recheck must not re-apply the ledger's figure,
/// which is from before the export; it reads Peoplevox.
#[tokio::test]
async fn the_export_recheck_reads_peoplevox_after_the_export() {
    let (bed, store, flow) = at_ten().await;
    let order = order(&bed, 0, 3);
    bed.ct
        .place_order(order.clone())
        .unwrap()
        .expect("in stock");
    let before_export = now_epoch_ms();
    export(&bed, &store, &order).await;
    let reads = drain_stock(&bed, &store, &flow).await;
    assert_eq!(reads, 1, "one report read for the recheck");
    assert_eq!(on_stock(&bed), Some(7));
    let row = ledger_row(store.as_ref(), SITE, SKU)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.figure.available, 7);
    assert!(
        row.figure.at_ms >= before_export && row.figure.source == "reread",
        "{row:?}"
    );
}

/// Item 5 of issue 21, and the request budget: a figure Peoplevox sent after the export is
/// new enough for the recheck, which then reads nothing.
#[tokio::test]
async fn the_export_recheck_reuses_a_figure_from_after_the_export() {
    let (bed, store, flow) = at_ten().await;
    let order = order(&bed, 0, 3);
    bed.ct
        .place_order(order.clone())
        .unwrap()
        .expect("in stock");
    export(&bed, &store, &order).await;
    send(&store, &available(7, now_epoch_ms())).await;
    let reads = drain_stock(&bed, &store, &flow).await;
    assert_eq!(reads, 0, "the callback's figure answers the recheck");
    assert_eq!(on_stock(&bed), Some(7));
}
