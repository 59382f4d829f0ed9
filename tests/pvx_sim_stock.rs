//! The Peoplevox simulator's warehouse: stock movements, allocation of imported sales
//! orders (and the shortfall the harness counts as oversells), and the event callbacks it
//! fires at a small receiver on loopback, including the delivery faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use ctpvx_infra::sim::peoplevox::dialect::{self, Dialect};
use ctpvx_infra::sim::peoplevox::{
    ITEM_INVENTORY_SUMMARY, PvxSim, PvxSimConfig, SALES_ORDER_ITEMS, SALES_ORDERS,
    SimCallbackOutcome, SimStock,
};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::envelope::SubscribeFields;
use ctpvx_shared::peoplevox::{
    CsvTable, Operation, PvxClient, PvxSettings, ReportQuery, SaveAction,
};
use ctpvx_shared::subscriptions::sites_filter;

/// Long enough for any loopback delivery; the tests wait for idle, not for this.
const IDLE: Duration = Duration::from_secs(10);
const TOKEN: &str = "t0k3n";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    /// The raw query string, as it arrived.
    query: String,
    content_type: String,
    body: String,
}

impl Received {
    /// A decoded query parameter.
    fn param(&self, name: &str) -> Option<String> {
        decode_pairs(&self.query, name)
    }

    /// A decoded form field of the body.
    fn form(&self, name: &str) -> Option<String> {
        decode_pairs(&self.body, name)
    }
}

fn decode_pairs(pairs: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://x/?{pairs}")).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A loopback HTTP server recording every request; paths containing `/fail/` answer 500.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(record).with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/cb/{TOKEN}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, got }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The decoded values of one query parameter, in arrival order.
    fn params(&self, name: &str) -> Vec<String> {
        self.got()
            .iter()
            .map(|r| r.param(name).unwrap_or_default())
            .collect()
    }

    /// `available` values as numbers, in arrival order.
    fn available(&self) -> Vec<i64> {
        self.params("available")
            .iter()
            .map(|v| v.parse().unwrap())
            .collect()
    }
}

async fn record(
    State(got): State<Arc<Mutex<Vec<Received>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let path = uri.path().to_string();
    got.lock().unwrap().push(Received {
        method,
        query: uri.query().unwrap_or_default().to_string(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body,
        path: path.clone(),
    });
    if path.contains("/fail/") {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// A simulator of the default (strict) dialect with a budget no test gets near, and the real
/// client for it.
async fn sim() -> (PvxSim, PvxClient) {
    sim_of(Dialect::default()).await
}

/// The same for a tenant of `dialect`.
async fn sim_of(dialect: Dialect) -> (PvxSim, PvxClient) {
    let sim = PvxSim::start(PvxSimConfig {
        budget_requests: 1000,
        budget_window: Duration::from_secs(1),
        dialect,
        ..PvxSimConfig::default()
    })
    .await
    .expect("simulator starts");
    let settings = PvxSettings {
        max_retries: 0,
        ..sim.settings()
    };
    let store = EmbeddedStore::in_memory().expect("in-memory store");
    let client = PvxClient::new(settings, store).expect("client builds");
    (sim, client)
}

/// Subscribes `AvailabilityChanges` at UK-DC with a GET URL under `kind`, as `ctpvx subscribe`
/// does on a strict tenant: SubscribeEventWithSitesFilters, values encoded.
async fn subscribe_availability(pvx: &PvxClient, rx: &Receiver, kind: &str) {
    let url = format!(
        "{}/{kind}?site=UK-DC&item={{ItemCode}}&available={{Available}}&x={{Unknown}}",
        rx.base
    );
    let fields = SubscribeFields {
        event_type: "AvailabilityChanges",
        filter: &sites_filter("UK-DC"),
        url: &url,
        post_params: None,
        encode_parameter_data: Some(true),
    };
    pvx.subscribe(Operation::SubscribeEventWithSitesFilters, &fields)
        .await
        .unwrap();
}

fn table(headers: &[&str], rows: &[&[&str]]) -> CsvTable {
    CsvTable {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|v| v.to_string()).collect())
            .collect(),
    }
}

/// Imports an order header at `site` and its lines `(line, item, quantity)`.
async fn import_order(pvx: &PvxClient, number: &str, site: &str, lines: &[(&str, &str, &str)]) {
    let header = table(&["SalesOrderNumber", "Site"], &[&[number, site]]);
    let saved = pvx
        .save_data(SALES_ORDERS, &header, SaveAction::Upsert)
        .await
        .unwrap();
    assert!(saved.all_succeeded(), "{saved:?}");
    let rows: Vec<[&str; 4]> = lines
        .iter()
        .map(|(line, item, qty)| [number, *item, *qty, *line])
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
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

#[tokio::test]
async fn availability_callbacks_carry_the_new_value_for_the_filtered_site_only() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    let item = "SKU 1/é&x";
    sim.set_stock("UK-DC", item, 3, 3);
    sim.set_stock("DE-DC", item, 3, 3);

    sim.goods_in("UK-DC", item, 2);
    sim.goods_in("DE-DC", item, 10);
    assert_eq!(sim.adjust("DE-DC", item, -1, "Damaged"), -1);
    assert_eq!(sim.adjust("UK-DC", item, -1, "Damaged"), -1);
    assert!(sim.wait_callbacks_idle(IDLE).await);

    let got = rx.got();
    assert_eq!(got.len(), 2, "set_stock and DE-DC fire nothing: {got:?}");
    assert!(got.iter().all(|r| r.method == Method::GET));
    assert!(
        got.iter()
            .all(|r| r.path == format!("/cb/{TOKEN}/availability"))
    );
    assert_eq!(rx.params("item"), vec![item, item]);
    assert_eq!(rx.available(), vec![5, 4]);
    assert_eq!(rx.params("site"), vec!["UK-DC", "UK-DC"]);
    // A placeholder the event does not know arrives as written.
    assert_eq!(rx.params("x"), vec!["{Unknown}", "{Unknown}"]);
    assert!(got[0].query.contains("x={Unknown}"), "{}", got[0].query);
    assert!(
        got[0].query.contains("item=SKU%201%2F%C3%A9%26x"),
        "{}",
        got[0].query
    );
    assert_eq!(sim.callbacks_sent(), 2);
    assert_eq!(sim.callbacks_failed(), 0);
    assert_eq!(sim.pending_callbacks(), 0);
    assert_eq!(sim.callback_log().len(), 2);
    assert_eq!(
        sim.stock("UK-DC", item),
        Some(SimStock {
            available: 4,
            on_hand: 4,
            allocated: 0
        })
    );
}

#[tokio::test]
async fn incremental_changes_carry_signed_deltas_and_reasons() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    sim.add_item_type("SKU-A");
    let url = format!(
        "{}/incremental?item={{ItemType.ItemCode}}&name={{ItemType.Name}}&q={{QuantityChanged}}\
         &at={{UpdateTimestamp}}&why={{Reason}}&by={{UpdatedBy}}",
        rx.base
    );
    pvx.subscribe_event("IncrementalChanges", "", &url)
        .await
        .unwrap();
    sim.set_stock("UK-DC", "SKU-A", 0, 0);

    sim.goods_in("UK-DC", "SKU-A", 5);
    sim.adjust("UK-DC", "SKU-A", -2, "Damaged in store");
    import_order(&pvx, "SO-1", "UK-DC", &[("1", "SKU-A", "2")]).await;
    assert_eq!(sim.pick_order("SO-1"), 2);
    assert!(sim.wait_callbacks_idle(IDLE).await);

    assert_eq!(
        rx.params("q"),
        vec!["5", "-2", "-2"],
        "allocation moves no on_hand"
    );
    assert_eq!(
        rx.params("why"),
        vec!["Goods in", "Damaged in store", "Pick"]
    );
    assert!(rx.params("item").iter().all(|i| i == "SKU-A"));
    assert!(rx.params("name").iter().all(|n| n == "SKU-A"));
    assert!(rx.params("by").iter().all(|b| b == "sim"));
    for at in rx.params("at") {
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
    }
    assert_eq!(sim.stock("UK-DC", "SKU-A").unwrap(), SimStock::new(1, 0));
}

#[tokio::test]
async fn save_data_allocates_once_per_line_and_counts_the_shortfall() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    sim.add_item_type("SKU-A");
    sim.set_stock("UK-DC", "SKU-A", 3, 3);
    sim.set_stock("DE-DC", "SKU-A", 9, 9);

    import_order(&pvx, "SO-1", "UK-DC", &[("1", "SKU-A", "5")]).await;
    assert_eq!(sim.allocated_for("SO-1"), 3);
    assert_eq!(sim.stock("UK-DC", "SKU-A").unwrap(), SimStock::new(3, 3));
    // Importing the same order again allocates nothing more.
    import_order(&pvx, "SO-1", "UK-DC", &[("1", "SKU-A", "5")]).await;
    assert_eq!(sim.allocated_for("SO-1"), 3);
    import_order(&pvx, "SO-2", "UK-DC", &[("1", "SKU-A", "1")]).await;
    // Not an integer: allocates nothing, and no shortfall either.
    import_order(&pvx, "SO-3", "UK-DC", &[("1", "SKU-A", "1.5")]).await;
    assert_eq!(sim.allocated_for("SO-3"), 0);

    let short = sim.shortfalls();
    assert_eq!(short.len(), 1, "{short:?}");
    assert_eq!(short[&("UK-DC".to_string(), "SKU-A".to_string())], 3);
    assert_eq!(sim.shortfall_total(), 3);
    assert_eq!(sim.stock("DE-DC", "SKU-A").unwrap(), SimStock::new(9, 0));

    // The report shows the computed figures.
    let page = pvx
        .get_report_data(&ReportQuery {
            template: ITEM_INVENTORY_SUMMARY.into(),
            page_no: 1,
            items_per_page: 0,
            search_clause: r#"([Site reference].Equals("UK-DC"))"#.into(),
            filter_clause: String::new(),
            order_by: String::new(),
            columns: "[Item code],[Available],[On hand]".into(),
        })
        .await
        .unwrap();
    // The default tenant ignores Columns: the figures are read by column name.
    let columns = ctpvx_shared::peoplevox::Columns {
        required: &["Item code", "Available", "On hand"],
        read: &[],
    };
    let rows = ctpvx_shared::peoplevox::ReportRows::from_table(
        ITEM_INVENTORY_SUMMARY,
        columns,
        &page.table,
    )
    .unwrap();
    let figures: Vec<[&str; 3]> = rows
        .rows()
        .map(|r| [r.get("Item code"), r.get("Available"), r.get("On hand")])
        .collect();
    assert_eq!(figures, [["SKU-A", "0", "3"]]);

    assert_eq!(sim.pick_order("SO-1"), 3);
    assert_eq!(sim.allocated_for("SO-1"), 0);
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(
        rx.available(),
        vec![0],
        "one allocation; a pick moves no availability"
    );
    assert_eq!(
        sim.stock_positions(),
        vec![
            (
                "DE-DC".to_string(),
                "SKU-A".to_string(),
                SimStock::new(9, 0)
            ),
            (
                "UK-DC".to_string(),
                "SKU-A".to_string(),
                SimStock::new(0, 0)
            ),
        ]
    );
}

#[tokio::test]
async fn by_default_callbacks_arrive_in_order() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    for _ in 0..50 {
        sim.goods_in("UK-DC", "SKU-A", 1);
    }
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(rx.available(), (1..=50).collect::<Vec<i64>>());
}

#[tokio::test]
async fn a_duplicate_rate_of_one_delivers_every_callback_twice() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    sim.callback_faults().set_duplicate_rate(1.0);
    for _ in 0..10 {
        sim.goods_in("UK-DC", "SKU-A", 1);
    }
    assert!(sim.wait_callbacks_idle(IDLE).await);
    let mut got = rx.available();
    got.sort_unstable();
    let twice: Vec<i64> = (1..=10).flat_map(|n| [n, n]).collect();
    assert_eq!(got, twice);
    assert_eq!(sim.callbacks_duplicated(), 10);
    assert_eq!(sim.callbacks_sent(), 20);
}

#[tokio::test]
async fn a_reorder_window_lets_later_callbacks_overtake_earlier_ones() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    sim.callback_faults().set_seed(7);
    sim.callback_faults()
        .set_reorder_window(Duration::from_millis(30));
    for _ in 0..50 {
        sim.goods_in("UK-DC", "SKU-A", 1);
    }
    assert!(sim.wait_callbacks_idle(IDLE).await);
    let got = rx.available();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=50).collect::<Vec<i64>>(), "all arrive once");
    assert!(
        got.windows(2).any(|w| w[0] > w[1]),
        "expected at least one overtaking: {got:?}"
    );
}

#[tokio::test]
async fn a_drop_rate_of_one_delivers_nothing() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    subscribe_availability(&pvx, &rx, "availability").await;
    sim.callback_faults().set_drop_rate(1.0);
    for _ in 0..10 {
        sim.goods_in("UK-DC", "SKU-A", 1);
    }
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(sim.callbacks_dropped(), 10);
    let log = sim.callback_log();
    assert_eq!(log.len(), 10);
    assert!(log.iter().all(|c| c.outcome == SimCallbackOutcome::Dropped));

    // The same pipe delivers once the fault is off.
    sim.callback_faults().set_drop_rate(0.0);
    sim.goods_in("UK-DC", "SKU-A", 1);
    assert!(sim.wait_callbacks_idle(IDLE).await);
    assert_eq!(rx.available(), vec![11]);
}

/// A strict tenant encodes the values of a POST body as a form, and ignores a plain `filter`:
/// both sites call back.
#[tokio::test]
async fn post_subscriptions_send_a_form_body_and_an_ignored_filter_calls_back_everywhere() {
    let (sim, pvx) = sim().await;
    let rx = Receiver::start().await;
    let url = format!("{}/post/{{ItemCode}}", rx.base);
    let fields = SubscribeFields {
        event_type: "AvailabilityChanges",
        filter: r#"SiteReference = "UK-DC""#,
        url: &url,
        post_params: Some("item={ItemCode}&available={Available}&x={Unknown}"),
        encode_parameter_data: Some(true),
    };
    pvx.subscribe(Operation::SubscribePostEvent, &fields)
        .await
        .unwrap();
    sim.goods_in("UK-DC", "A&B 1", 4);
    sim.goods_in("DE-DC", "A&B 1", 4);
    assert!(sim.wait_callbacks_idle(IDLE).await);

    let got = rx.got();
    assert_eq!(got.len(), 2, "{got:?}");
    let post = &got[0];
    assert_eq!(post.method, Method::POST);
    assert_eq!(post.path, format!("/cb/{TOKEN}/post/A%26B%201"));
    assert_eq!(post.content_type, "application/x-www-form-urlencoded");
    assert_eq!(post.body, "item=A%26B+1&available=4&x={Unknown}");
    assert_eq!(post.form("item").as_deref(), Some("A&B 1"));
    let log = sim.callback_log();
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].body.as_deref(), Some(post.body.as_str()));
    assert_eq!(log[0].status, Some(200));
}

/// On a tenant that honours `filter` (the 2017 WSDL as first read).
#[tokio::test]
async fn failures_are_counted_not_retried_and_odd_filters_are_reported() {
    let (sim, pvx) = sim_of(dialect::WSDL_2017).await;
    let rx = Receiver::start().await;
    pvx.subscribe_event(
        "AvailabilityChanges",
        "",
        &format!("{}/fail/?available={{Available}}", rx.base),
    )
    .await
    .unwrap();
    pvx.subscribe_event(
        "AvailabilityChanges",
        r#"ItemCode == "SKU-A""#,
        &format!("{}/odd?available={{Available}}", rx.base),
    )
    .await
    .unwrap();
    sim.goods_in("UK-DC", "SKU-A", 1);
    sim.goods_in("UK-DC", "SKU-A", 1);
    assert!(sim.wait_callbacks_idle(IDLE).await);

    assert_eq!(rx.got().len(), 2, "one delivery each, no retry");
    assert!(rx.got().iter().all(|r| r.path.contains("/fail/")));
    assert_eq!(sim.callbacks_failed(), 2);
    assert_eq!(sim.callbacks_sent(), 0);
    assert_eq!(sim.unparsed_filters(), 2);
    assert!(sim.callback_log().iter().all(|c| c.status == Some(500)));
}
