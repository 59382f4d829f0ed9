//! The handle's warehouse-workflow calls end to end on a running simulator: status and
//! hold changes, a short close, a refused SaveData cancellation and a return, each leaving
//! as a callback with its placeholders filled in.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::sim::peoplevox::despatch::{DespatchPlan, PackagePlan};

/// A URL on loopback nobody listens on: deliveries fail, but the log keeps their URLs.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/cb")
}

/// SO-1 at UK-DC orders 3 A, all allocated, on a tenant of `dialect`.
async fn sim_of(dialect: Dialect) -> PvxSim {
    let sim = PvxSim::start(PvxSimConfig {
        dialect,
        ..PvxSimConfig::default()
    })
    .await
    .unwrap();
    sim.add_item_type("A");
    sim.set_stock("UK-DC", "A", 10, 10);
    let mut data = sim.data();
    data.orders.insert(
        "SO-1".into(),
        SimSalesOrder {
            number: "SO-1".into(),
            site: "UK-DC".into(),
            fields: BTreeMap::new(),
            items: vec![SimOrderItem {
                line: "1".into(),
                item_code: "A".into(),
                quantity: "3".into(),
                fields: BTreeMap::new(),
            }],
        },
    );
    data.allocate_line("SO-1", "1", "UK-DC", "A", "3");
    data.take_events();
    drop(data);
    sim
}

/// The same on the default (strict) tenant.
async fn sim() -> PvxSim {
    sim_of(Dialect::default()).await
}

async fn urls(sim: &PvxSim) -> Vec<String> {
    assert!(sim.wait_callbacks_idle(Duration::from_secs(10)).await);
    sim.callback_log().into_iter().map(|c| c.url).collect()
}

#[tokio::test]
async fn status_and_hold_changes_leave_as_status_callbacks() {
    // The guessed placeholders are filled in only where the tenant knows them.
    let sim = sim_of(dialect::WSDL_2017).await;
    let base = dead_url().await;
    sim.data().subscribe(
        SALES_ORDER_STATUS_CHANGES,
        "",
        &format!("{base}?o={{SalesOrderNumber}}&s={{SalesOrderStatus.Name}}&h={{OnHold}}"),
        None,
    );
    assert!(sim.set_order_status("SO-1", "Picking"));
    assert!(!sim.set_order_status("SO-1", "Picking"));
    assert!(!sim.set_order_status("SO-9", "Picking"));
    assert!(sim.set_on_hold("SO-1", true));
    assert!(!sim.set_on_hold("SO-1", true));
    assert!(sim.set_on_hold("SO-1", false));
    assert_eq!(
        urls(&sim).await,
        vec![
            format!("{base}?o=SO-1&s=Picking&h=False"),
            format!("{base}?o=SO-1&s=Picking&h=True"),
            format!("{base}?o=SO-1&s=Picking&h=False"),
        ]
    );
    assert_eq!(sim.sales_order("SO-1").unwrap().fields["OnHold"], "False");
}

#[tokio::test]
async fn a_strict_tenant_fills_in_only_peep_conns_status_placeholders() {
    let sim = sim().await;
    let base = dead_url().await;
    sim.data().subscribe(
        SALES_ORDER_STATUS_CHANGES,
        "",
        &format!("{base}?o={{SalesOrderNumber}}&s={{SalesOrderStatu.Name}}&h={{OnHold}}"),
        None,
    );
    assert!(sim.set_on_hold("SO-1", true));
    assert_eq!(
        urls(&sim).await,
        vec![format!("{base}?o=SO-1&s=New&h={{OnHold}}")]
    );
}

#[tokio::test]
async fn a_short_close_frees_the_rest_and_reads_despatched() {
    let sim = sim().await;
    let plan = DespatchPlan {
        lines: vec![("A".into(), 1)],
        ..DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()])
    };
    sim.despatch("SO-1", plan).unwrap();
    assert_eq!(
        sim.finish_short("SO-1").unwrap(),
        BTreeMap::from([("A".to_string(), 2)])
    );
    assert_eq!(sim.stock("UK-DC", "A"), Some(SimStock::new(9, 0)));
    assert_eq!(
        sim.sales_order("SO-1").unwrap().fields["Status"],
        STATUS_DESPATCHED
    );
    assert!(sim.finish_short("SO-1").is_err());
}

#[tokio::test]
async fn refused_cancellations_are_counted() {
    let sim = sim().await;
    sim.set_order_status("SO-1", "Packed");
    let cancel = "SalesOrderNumber,Status\r\nSO-1,Cancelled";
    let answer = save::save_data(&mut sim.data(), sim.config(), SALES_ORDERS, cancel, 0);
    assert_eq!(answer.response_id, -1);
    assert_eq!(sim.cancellations_refused(), 1);
    assert_eq!(sim.allocated_for("SO-1"), 3);
}

#[tokio::test]
async fn a_return_is_recorded_and_announced() {
    // Return placeholders are guesses: the 2017 tenant fills them in, raw.
    let sim = sim_of(dialect::WSDL_2017).await;
    sim.pin_clock("2026-12-01T10:00:00Z").unwrap();
    let base = dead_url().await;
    sim.data().subscribe(
        RETURNS,
        r#"site == "UK-DC""#,
        &format!("{base}?r={{ReturnCode}}&o={{SalesOrder.SalesOrderNumber}}&d={{ReturnDate}}"),
        None,
    );
    sim.despatch(
        "SO-1",
        DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()]),
    )
    .unwrap();
    let line = ReturnLine {
        item: "A".into(),
        quantity: 2,
        reason: "Too small".into(),
        condition: "Resaleable".into(),
    };
    assert_eq!(
        sim.record_return("SO-1", std::slice::from_ref(&line))
            .unwrap(),
        "RET-000001"
    );
    assert!(
        sim.record_return("SO-1", std::slice::from_ref(&line))
            .is_err(),
        "1 left"
    );
    let returns = sim.returns();
    assert_eq!(returns.len(), 1);
    assert_eq!(
        (returns[0].site.as_str(), returns[0].lines.clone()),
        ("UK-DC", vec![line])
    );
    assert_eq!(
        urls(&sim).await,
        vec![format!(
            "{base}?r=RET-000001&o=SO-1&d=2026-12-01T10:00:00.000Z"
        )]
    );
}
