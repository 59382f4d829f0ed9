//! The Peoplevox simulator's despatches: orders imported through the real client leave the
//! warehouse in one or more despatches of one or more packages; the stock, the order's
//! status, the "Despatch summary" report, the "Despatch packages" template and the despatch callbacks
//! (to a small receiver on loopback) all follow.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use ctpvx_infra::sim::peoplevox::{
    DESPATCH_PACKAGES, DESPATCH_SUMMARY, DespatchPlan, PackagePlan, PvxSim, PvxSimConfig,
    SALES_ORDER_ITEMS, SALES_ORDERS, STATUS_DESPATCHED, STATUS_PARTIALLY_DESPATCHED, SimStock,
};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::search::report_equals_any;
use ctpvx_shared::peoplevox::{CsvTable, PvxClient, PvxSettings, ReportQuery, SaveAction};

/// Long enough for any loopback delivery; the tests wait for idle, not for this.
const IDLE: Duration = Duration::from_secs(10);
const UK: &str = "UK-DC";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    /// The last path segment: which subscription called.
    kind: String,
    query: String,
    body: String,
}

impl Received {
    /// A decoded query parameter (or form field of a POST body).
    fn param(&self, name: &str) -> String {
        let pairs = if self.method == Method::POST {
            &self.body
        } else {
            &self.query
        };
        let url = reqwest::Url::parse(&format!("http://x/?{pairs}")).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
    }
}

/// A loopback HTTP server recording every request.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(record).with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/cb", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, got }
    }

    /// What the subscription registered under `kind` received, in arrival order.
    fn of(&self, kind: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.kind == kind)
            .cloned()
            .collect()
    }

    /// One decoded parameter of every request of `kind`.
    fn params(&self, kind: &str, name: &str) -> Vec<String> {
        self.of(kind).iter().map(|r| r.param(name)).collect()
    }

    fn total(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

async fn record(
    State(got): State<Arc<Mutex<Vec<Received>>>>,
    method: Method,
    uri: Uri,
    body: String,
) -> StatusCode {
    got.lock().unwrap().push(Received {
        method,
        kind: uri
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        body,
    });
    StatusCode::OK
}

/// A simulator with a budget no test gets near, its clock pinned, and the real client.
async fn sim() -> (PvxSim, PvxClient) {
    // The tenant that substitutes every placeholder it offers (the guessed package and status
    // names too) and honours `filter`: these tests read them all; its packages are in the
    // "Despatch packages" data template, as on the strict tenant.
    use ctpvx_infra::sim::peoplevox::dialect::{Dialect, PackagesSource, WSDL_2017};
    let sim = PvxSim::start(PvxSimConfig {
        budget_requests: 1000,
        budget_window: Duration::from_secs(1),
        dialect: Dialect {
            despatch_packages: PackagesSource::DataTemplate,
            ..WSDL_2017
        },
        ..PvxSimConfig::default()
    })
    .await
    .expect("simulator starts");
    sim.pin_clock("2026-11-26T10:52:21Z").unwrap();
    let settings = PvxSettings {
        max_retries: 0,
        ..sim.settings()
    };
    let store = EmbeddedStore::in_memory().expect("in-memory store");
    let client = PvxClient::new(settings, store).expect("client builds");
    (sim, client)
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> CsvTable {
    CsvTable {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: rows.to_vec(),
    }
}

/// Stocks every item with 10 units at UK-DC and imports an order there with lines
/// `(item, quantity)` (line numbers 1..n); `email` empty means no Email field.
async fn import_order(
    sim: &PvxSim,
    pvx: &PvxClient,
    number: &str,
    email: &str,
    lines: &[(&str, &str)],
) {
    let header = if email.is_empty() {
        table(
            &["SalesOrderNumber", "Site"],
            &[vec![number.into(), UK.into()]],
        )
    } else {
        table(
            &["SalesOrderNumber", "Site", "Email"],
            &[vec![number.into(), UK.into(), email.into()]],
        )
    };
    let saved = pvx
        .save_data(SALES_ORDERS, &header, SaveAction::Upsert)
        .await
        .unwrap();
    assert!(saved.all_succeeded(), "{saved:?}");
    let mut rows = Vec::new();
    for (i, (item, qty)) in lines.iter().enumerate() {
        sim.add_item_type(item);
        if sim.stock(UK, item).is_none() {
            sim.set_stock(UK, item, 10, 10);
        }
        rows.push(vec![
            number.to_string(),
            item.to_string(),
            qty.to_string(),
            (i + 1).to_string(),
        ]);
    }
    let items = table(
        &["SalesOrderNumber", "ItemCode", "QuantityOrdered", "Line"],
        &rows,
    );
    let saved = pvx
        .save_data(SALES_ORDER_ITEMS, &items, SaveAction::Upsert)
        .await
        .unwrap();
    assert!(saved.all_succeeded(), "{saved:?}");
}

/// Subscribes the three despatch events and the status event at UK-DC (GET), each under
/// its own path, with every placeholder the simulator offers.
async fn subscribe_all(pvx: &PvxClient, rx: &Receiver) {
    let site = format!(r#"site == "{UK}""#);
    let subscriptions = [
        (
            "TrackingNumberReceived",
            "tracking?d={DespatchNumber}&t={TrackingNumber}&c={Carrier.Number}\
             &sn={ServiceType.Name}&sc={ServiceType.Code}\
             &o={Picks.SalesOrder.SalesOrderNumber}&e={Picks.SalesOrder.Email}",
        ),
        (
            "DespatchPackageDespatched",
            "package?d={DespatchNumber}&p={PackageNumber}&t={TrackingNumber}\
             &o={SalesOrderNumber}&o2={SalesOrder.SalesOrderNumber}&c={Carrier.Name}",
        ),
        (
            "DespatchPackageTrackingNumberReceived",
            "package-tracking?d={DespatchNumber}&p={PackageNumber}&t={TrackingNumber}\
             &o={SalesOrderNumber}&o2={SalesOrder.SalesOrderNumber}&c={Carrier.Name}",
        ),
        (
            "SalesOrderStatusChanges",
            "status?o={SalesOrderNumber}&s={SalesOrderStatus.Name}\
             &typo={SalesOrderStatu.Name}&at={LastModificationTime}",
        ),
    ];
    for (event, path) in subscriptions {
        let url = format!("{}/{path}", rx.base);
        pvx.subscribe_event(event, &site, &url).await.unwrap();
    }
}

/// All rows of a report, as maps of column → value.
async fn report(
    pvx: &PvxClient,
    name: &str,
    search: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let page = pvx
        .get_report_data(&ReportQuery {
            template: name.into(),
            page_no: 1,
            items_per_page: 0,
            search_clause: search.into(),
            filter_clause: String::new(),
            order_by: String::new(),
            columns: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(page.total as usize, page.table.rows.len());
    page.table
        .rows
        .iter()
        .map(|row| {
            page.table
                .headers
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect()
        })
        .collect()
}

/// Every record of the "Despatch packages" template (the default tenant keeps its packages
/// in one, under its own field names), as maps of field → value.
async fn packages(
    pvx: &PvxClient,
    search: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let table = pvx.get_data_all(DESPATCH_PACKAGES, search).await.unwrap();
    table
        .rows
        .iter()
        .map(|row| {
            table
                .headers
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect()
        })
        .collect()
}

fn units(pairs: &[(&str, i64)]) -> std::collections::BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn a_full_despatch_moves_stock_sets_the_status_reports_and_calls_back() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    // A subscriber at another site hears nothing of UK-DC's despatches.
    pvx.subscribe_event(
        "DespatchPackageDespatched",
        r#"site == "DE-DC""#,
        &format!("{}/elsewhere", rx.base),
    )
    .await
    .unwrap();
    import_order(
        &sim,
        &pvx,
        "SO-1",
        "ann@example.com",
        &[("SKU-A", "2"), ("SKU-B", "1")],
    )
    .await;
    assert_eq!(sim.stock(UK, "SKU-A"), Some(SimStock::new(10, 2)));

    let despatch = sim
        .despatch(
            "SO-1",
            DespatchPlan::everything(
                "Royal Mail",
                "Tracked 48",
                vec![PackagePlan::tracked("RM123GB").weighing(1.5)],
            ),
        )
        .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);

    assert_eq!(despatch.number, "DSP-000001");
    assert_eq!(sim.despatch_by_number("DSP-000001"), Some(despatch.clone()));
    assert_eq!(sim.despatches(), vec![despatch]);
    assert_eq!(
        sim.despatched_units("SO-1"),
        units(&[("SKU-A", 2), ("SKU-B", 1)])
    );
    // The units left the shelf; what was free to sell did not change.
    assert_eq!(sim.stock(UK, "SKU-A"), Some(SimStock::new(8, 0)));
    assert_eq!(sim.stock(UK, "SKU-B"), Some(SimStock::new(9, 0)));
    assert_eq!(sim.allocated_for("SO-1"), 0);
    let order = sim.sales_order("SO-1").unwrap();
    assert_eq!(order.fields["Status"], STATUS_DESPATCHED);

    let tracking = rx.of("tracking");
    assert_eq!(tracking.len(), 1, "{tracking:?}");
    let t = &tracking[0];
    assert_eq!(t.method, Method::GET);
    for (name, want) in [
        ("d", "DSP-000001"),
        ("t", "RM123GB"),
        ("c", "Royal Mail"),
        ("sn", "Tracked 48"),
        ("sc", "TRACKED-48"),
        ("o", "SO-1"),
        ("e", "ann@example.com"),
    ] {
        assert_eq!(t.param(name), want, "{name}");
    }
    assert_eq!(rx.params("package", "p"), vec!["1"]);
    assert_eq!(rx.params("package", "t"), vec!["RM123GB"]);
    assert_eq!(rx.params("package", "o2"), vec!["SO-1"]);
    assert_eq!(rx.params("package-tracking", "c"), vec!["Royal Mail"]);
    assert_eq!(rx.params("status", "s"), vec![STATUS_DESPATCHED]);
    assert_eq!(rx.params("status", "typo"), vec![STATUS_DESPATCHED]);
    assert_eq!(rx.params("status", "at"), vec!["2026-11-26T10:52:21.000Z"]);
    assert!(rx.of("elsewhere").is_empty());
    assert_eq!(rx.total(), 4);

    let rows = report(&pvx, DESPATCH_SUMMARY, "").await;
    assert_eq!(rows.len(), 2, "one row per item: {rows:?}");
    let a = &rows[0];
    for (column, want) in [
        ("Salesorder number", "SO-1"),
        ("Despatch number", "DSP-000001"),
        ("Carrier", "Royal Mail"),
        ("Service", "Tracked 48"),
        ("Service type code", "TRACKED-48"),
        ("Despatch date", "'26/11/2026 10:52'"),
        ("Tracking number", "RM123GB"),
        ("Item code", "SKU-A"),
        ("No of items", "2"),
        ("Site reference", UK),
    ] {
        assert_eq!(a[column], want, "{column}");
    }
    assert_eq!(
        (
            rows[1]["Item code"].as_str(),
            rows[1]["No of items"].as_str()
        ),
        ("SKU-B", "1")
    );
}

#[tokio::test]
async fn a_split_despatch_ships_the_rest_when_lines_are_empty() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    import_order(&sim, &pvx, "SO-2", "", &[("SKU-A", "3"), ("SKU-B", "2")]).await;
    // Another order's despatches must not show up in this one's searches.
    import_order(&sim, &pvx, "SO-3", "", &[("SKU-A", "1")]).await;

    let plan = DespatchPlan {
        lines: vec![("SKU-A".into(), 1), ("SKU-B".into(), 2)],
        packages: vec![PackagePlan::tracked("T-1")],
        carrier: "DPD".into(),
        service: "Next day".into(),
    };
    let first = sim.despatch("SO-2", plan).unwrap();
    assert_eq!(
        sim.sales_order("SO-2").unwrap().fields["Status"],
        STATUS_PARTIALLY_DESPATCHED
    );
    assert_eq!(sim.stock(UK, "SKU-A"), Some(SimStock::new(9, 3)));
    sim.advance_clock(Duration::from_secs(26 * 3600));
    let rest = sim
        .despatch(
            "SO-2",
            DespatchPlan::everything("DPD", "Next day", vec![PackagePlan::tracked("T-2")]),
        )
        .unwrap();
    sim.despatch(
        "SO-3",
        DespatchPlan::everything("DPD", "Next day", vec![PackagePlan::untracked()]),
    )
    .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);

    assert_eq!(
        (first.number.as_str(), rest.number.as_str()),
        ("DSP-000001", "DSP-000002")
    );
    let rest_lines: Vec<_> = rest
        .lines
        .iter()
        .map(|l| (l.item_code.as_str(), l.units))
        .collect();
    assert_eq!(rest_lines, vec![("SKU-A", 2)], "only what was left");
    assert_eq!(
        sim.despatched_units("SO-2"),
        units(&[("SKU-A", 3), ("SKU-B", 2)])
    );
    assert_eq!(
        sim.sales_order("SO-2").unwrap().fields["Status"],
        STATUS_DESPATCHED
    );
    assert_eq!(sim.stock(UK, "SKU-A"), Some(SimStock::new(6, 0)));
    assert_eq!(
        rx.params("status", "o"),
        vec!["SO-2", "SO-2", "SO-3"],
        "one change per status"
    );
    assert_eq!(
        rx.params("status", "s"),
        vec![
            STATUS_PARTIALLY_DESPATCHED,
            STATUS_DESPATCHED,
            STATUS_DESPATCHED
        ]
    );
    assert_eq!(
        rx.params("tracking", "t"),
        vec!["T-1", "T-2"],
        "SO-3 had none"
    );
    assert!(
        sim.despatch(
            "SO-2",
            DespatchPlan::everything("DPD", "Next day", vec![PackagePlan::untracked()])
        )
        .is_err(),
        "nothing left"
    );

    let search = report_equals_any("Despatch number", ["DSP-000001", "DSP-000002"]);
    assert_eq!(
        search,
        r#"([Despatch number].Equals("DSP-000001") OR [Despatch number].Equals("DSP-000002"))"#
    );
    let rows = report(&pvx, DESPATCH_SUMMARY, &search).await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["Despatch number"].as_str(),
                r["Item code"].as_str(),
                r["No of items"].as_str(),
                r["Despatch date"].as_str(),
                r["Tracking number"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("DSP-000001", "SKU-A", "1", "'26/11/2026 10:52'", "T-1"),
            ("DSP-000001", "SKU-B", "2", "'26/11/2026 10:52'", "T-1"),
            ("DSP-000002", "SKU-A", "2", "'27/11/2026 12:52'", "T-2"),
        ]
    );
}

#[tokio::test]
async fn a_multi_package_despatch_announces_and_reports_every_package() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    // A POST subscription to a despatch event works like a GET one.
    pvx.subscribe_post_event(
        "DespatchPackageDespatched",
        "",
        &format!("{}/posted", rx.base),
        "d={DespatchNumber}&p={PackageNumber}",
    )
    .await
    .unwrap();
    import_order(&sim, &pvx, "SO-4", "", &[("SKU-A", "4")]).await;

    let despatch = sim
        .despatch(
            "SO-4",
            DespatchPlan::everything(
                "Royal Mail",
                "Tracked 24",
                vec![
                    PackagePlan::tracked("P1").weighing(0.75),
                    PackagePlan::untracked().weighing(2.0),
                    PackagePlan::tracked("P3"),
                ],
            ),
        )
        .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);

    let numbers: Vec<u32> = despatch.packages.iter().map(|p| p.number).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert_eq!(rx.params("package", "p"), vec!["1", "2", "3"]);
    assert_eq!(rx.params("package", "t"), vec!["P1", "", "P3"]);
    assert_eq!(rx.params("package-tracking", "p"), vec!["1", "3"]);
    assert_eq!(rx.params("package-tracking", "t"), vec!["P1", "P3"]);
    assert_eq!(rx.params("tracking", "t"), vec!["P1"], "once per despatch");
    assert_eq!(
        rx.params("tracking", "e"),
        vec![""],
        "no email on the order"
    );
    let posted = rx.of("posted");
    assert!(posted.iter().all(|r| r.method == Method::POST));
    assert_eq!(rx.params("posted", "p"), vec!["1", "2", "3"]);

    let rows = packages(&pvx, r#"Despatch.DespatchNumber.Equals("DSP-000001")"#).await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["PackageNumber"].as_str(),
                r["PackageTrackingNumber"].as_str(),
                r["PackageWeightKg"].as_str(),
                r["Despatch.SalesOrder.SalesOrderNumber"].as_str(),
                r["Despatch.Carrier.Name"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("1", "P1", "0.75", "SO-4", "Royal Mail"),
            ("2", "", "2", "SO-4", "Royal Mail"),
            ("3", "P3", "", "SO-4", "Royal Mail"),
        ]
    );
    let summary = report(&pvx, DESPATCH_SUMMARY, "").await;
    assert_eq!(summary.len(), 1, "one item, however many packages");
    assert_eq!(
        summary[0]["Tracking number"], "P1, P3",
        "every package's tracking number"
    );
}

#[tokio::test]
async fn tracking_set_late_fires_both_tracking_events_with_the_new_number() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    import_order(&sim, &pvx, "SO-5", "bo@example.com", &[("SKU-A", "1")]).await;
    let despatch = sim
        .despatch(
            "SO-5",
            DespatchPlan::everything(
                "Evri",
                "Standard",
                vec![PackagePlan::untracked(), PackagePlan::untracked()],
            ),
        )
        .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert!(rx.of("tracking").is_empty(), "no tracking number yet");
    assert!(rx.of("package-tracking").is_empty());
    assert_eq!(
        report(&pvx, DESPATCH_SUMMARY, "").await[0]["Tracking number"],
        ""
    );

    assert!(sim.set_package_tracking(&despatch.number, 3, "X").is_err());
    assert!(sim.set_package_tracking("DSP-999999", 1, "X").is_err());
    sim.set_package_tracking(&despatch.number, 2, "EV-2")
        .unwrap();
    // The same number again is no news.
    sim.set_package_tracking(&despatch.number, 2, "EV-2")
        .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);

    let tracking = rx.of("tracking");
    assert_eq!(tracking.len(), 1, "{tracking:?}");
    for (name, want) in [
        ("d", despatch.number.as_str()),
        ("t", "EV-2"),
        ("c", "Evri"),
        ("sn", "Standard"),
        ("sc", "STANDARD"),
        ("o", "SO-5"),
        ("e", "bo@example.com"),
    ] {
        assert_eq!(tracking[0].param(name), want, "{name}");
    }
    let package = rx.of("package-tracking");
    assert_eq!(package.len(), 1, "{package:?}");
    for (name, want) in [
        ("d", despatch.number.as_str()),
        ("p", "2"),
        ("t", "EV-2"),
        ("o", "SO-5"),
        ("o2", "SO-5"),
        ("c", "Evri"),
    ] {
        assert_eq!(package[0].param(name), want, "{name}");
    }
    let stored = sim.despatch_by_number(&despatch.number).unwrap();
    assert_eq!(stored.packages[1].tracking.as_deref(), Some("EV-2"));
    assert_eq!(stored.packages[0].tracking, None);
    assert_eq!(
        report(&pvx, DESPATCH_SUMMARY, "").await[0]["Tracking number"],
        "EV-2"
    );
    let packages = packages(&pvx, "").await;
    let tracked: Vec<_> = packages
        .iter()
        .map(|r| r["PackageTrackingNumber"].as_str())
        .collect();
    assert_eq!(tracked, vec!["", "EV-2"]);
}

#[tokio::test]
async fn over_despatch_and_bad_plans_are_refused_and_change_nothing() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    let stock_url = format!("{}/stock?q={{QuantityChanged}}&why={{Reason}}", rx.base);
    pvx.subscribe_event("IncrementalChanges", "", &stock_url)
        .await
        .unwrap();
    import_order(&sim, &pvx, "SO-6", "", &[("SKU-A", "2"), ("SKU-B", "1")]).await;
    let one = || vec![PackagePlan::tracked("T")];
    let plan = |lines: &[(&str, i64)], packages| DespatchPlan {
        lines: lines.iter().map(|(i, n)| (i.to_string(), *n)).collect(),
        packages,
        carrier: "Royal Mail".into(),
        service: "Tracked 48".into(),
    };

    let refused = [
        ("SO-6", plan(&[("SKU-A", 3)], one())),
        ("SO-6", plan(&[("SKU-A", 2), ("SKU-A", 1)], one())),
        ("SO-6", plan(&[("SKU-C", 1)], one())),
        ("SO-6", plan(&[("SKU-A", -1)], one())),
        ("SO-6", plan(&[], Vec::new())),
        ("SO-404", plan(&[], one())),
    ];
    for (order, bad) in refused {
        let shown = format!("{order} {bad:?}");
        assert!(sim.despatch(order, bad).is_err(), "{shown}");
    }
    // Part of it is fine; then the same amount again is more than is left.
    sim.despatch("SO-6", plan(&[("SKU-A", 2)], one())).unwrap();
    let err = sim
        .despatch("SO-6", plan(&[("SKU-A", 1)], one()))
        .unwrap_err();
    assert!(err.to_string().contains("0 units of 'SKU-A' left"), "{err}");
    assert!(sim.wait_callbacks_idle(IDLE).await);

    assert_eq!(sim.despatches().len(), 1);
    assert_eq!(sim.despatched_units("SO-6"), units(&[("SKU-A", 2)]));
    assert_eq!(sim.stock(UK, "SKU-A"), Some(SimStock::new(8, 0)));
    assert_eq!(sim.stock(UK, "SKU-B"), Some(SimStock::new(10, 1)));
    // One stock movement: the despatch that went.
    assert_eq!(rx.params("stock", "q"), vec!["-2"]);
    assert_eq!(rx.params("stock", "why"), vec!["Despatch"]);
    assert_eq!(rx.of("package").len(), 1);
    assert_eq!(rx.params("status", "s"), vec![STATUS_PARTIALLY_DESPATCHED]);
}

#[tokio::test]
async fn despatch_callbacks_honour_the_delivery_faults() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_all(&pvx, &rx).await;
    import_order(&sim, &pvx, "SO-7", "", &[("SKU-A", "2")]).await;
    sim.callback_faults().set_duplicate_rate(1.0);
    sim.despatch(
        "SO-7",
        DespatchPlan {
            lines: vec![("SKU-A".into(), 1)],
            packages: vec![PackagePlan::tracked("T")],
            carrier: "DPD".into(),
            service: "Next day".into(),
        },
    )
    .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(rx.params("tracking", "t"), vec!["T", "T"]);
    assert_eq!(rx.of("package").len(), 2);
    assert_eq!(rx.of("status").len(), 2);

    sim.callback_faults().clear();
    sim.callback_faults().set_drop_rate(1.0);
    let before = rx.total();
    sim.despatch(
        "SO-7",
        DespatchPlan::everything("DPD", "Next day", vec![PackagePlan::tracked("U")]),
    )
    .unwrap();
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(rx.total(), before, "every callback dropped");
    assert_eq!(
        sim.callbacks_dropped(),
        4,
        "package, package tracking, tracking, status"
    );
}
