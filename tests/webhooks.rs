//! The webhook ingress over real HTTP: 202 and enqueue for a good message; 400/401/413 and
//! nothing enqueued for bad input, wrong auth or an oversized body.

use std::sync::Arc;

use ctpvx_infra::local::server::WebhookServer;
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::DEMO_WEBHOOK_TOKEN;
use ctpvx_shared::config::WebhookConfig;
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::{ORDERS_PATH, Webhooks};
use ctpvx_tests::{Q, ingress_secrets, store};

struct Ingress {
    server: WebhookServer,
    store: Arc<ctpvx_shared::embedded::EmbeddedStore>,
    http: reqwest::Client,
}

async fn ingress(config: WebhookConfig) -> Ingress {
    let store = store();
    let queue: Arc<dyn Queue> = store.clone();
    let hooks = Arc::new(Webhooks::new(queue, &ingress_secrets(), &config));
    let server = WebhookServer::start(hooks, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Ingress {
        server,
        store,
        http: reqwest::Client::new(),
    }
}

impl Ingress {
    async fn post(&self, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, String) {
        let mut request = self
            .http
            .post(format!("{}{ORDERS_PATH}", self.server.url))
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
    async fn queued(&self) -> u64 {
        self.store.depth(Q).await.unwrap().visible
    }
}

fn message() -> String {
    scenario::platform_message(&scenario::order(1, 2, &scenario::catalog(3)), "m-1")
}

#[tokio::test]
async fn a_good_message_is_accepted_and_enqueued_as_a_pointer() {
    let ingress = ingress(WebhookConfig::default()).await;
    let body = message();
    let (status, answer) = ingress.post(Some(DEMO_WEBHOOK_TOKEN), body.clone()).await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer.contains(&scenario::order_id(1)), "{answer}");
    let queued = ingress
        .store
        .receive(Q, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let pointer: serde_json::Value = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(pointer["id"], "m-1");
    assert_eq!(pointer["resource"]["id"], scenario::order_id(1));
    assert!(pointer.get("order").is_none(), "{pointer}");
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_enqueues_nothing() {
    let ingress = ingress(WebhookConfig::default()).await;
    for token in [
        None,
        Some("wrong"),
        Some(&DEMO_WEBHOOK_TOKEN[..DEMO_WEBHOOK_TOKEN.len() - 1]),
    ] {
        let (status, answer) = ingress.post(token, message()).await;
        assert_eq!(status, 401, "{token:?}: {answer}");
    }
    assert_eq!(ingress.queued().await, 0);
}

#[tokio::test]
async fn malformed_bodies_are_400_with_the_reason_and_enqueue_nothing() {
    let ingress = ingress(WebhookConfig::default()).await;
    let cases = [
        ("{\"notificationType\":", "not valid JSON"),
        ("[1,2,3]", "not a JSON object"),
        ("{\"hello\":\"world\"}", "not a commercetools order message"),
        (
            "{\"notificationType\":\"Message\",\"type\":\"OrderCreated\"}",
            "resource",
        ),
        // A bare order is only a pointer to its id: without one it points nowhere.
        (
            "{\"version\":1,\"lineItems\":[{\"id\":\"l\",\"quantity\":\"two\"}]}",
            "needs `id`",
        ),
    ];
    for (body, reason) in cases {
        let (status, answer) = ingress.post(Some(DEMO_WEBHOOK_TOKEN), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains(reason), "{body}: {answer}");
    }
    assert_eq!(ingress.queued().await, 0);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_enqueues_nothing() {
    let ingress = ingress(WebhookConfig {
        max_body_bytes: 64 * 1024,
        ..WebhookConfig::default()
    })
    .await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let (status, answer) = ingress.post(Some(DEMO_WEBHOOK_TOKEN), big).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(ingress.queued().await, 0);
}

/// Issue 21 item 4: whatever shape announces an order (a Message with its order, a CloudEvent,
/// a bare Order a relay posts, a large order), what is queued is a pointer to the order's id:
/// the worker reads the order from commercetools, so nothing of the body's order (an address,
/// an email, a quantity) is trusted or kept, and the queue holds no personal data.
#[tokio::test]
async fn every_order_announcement_is_queued_as_a_pointer_to_its_order() {
    let ingress = ingress(WebhookConfig::default()).await;
    let catalog = scenario::catalog(50);
    let order = scenario::order(7, 200, &catalog);
    let imported = scenario::platform_message(&order, "m-imp")
        .replace("\"type\":\"OrderCreated\"", "\"type\":\"OrderImported\"");
    let bodies = [
        scenario::platform_message(&order, "m-big"),
        scenario::cloud_event(&order, "m-ce"),
        order.to_string(),
        imported,
    ];
    for body in &bodies {
        let (status, answer) = ingress.post(Some(DEMO_WEBHOOK_TOKEN), body.clone()).await;
        assert_eq!(status, 202, "{answer}");
    }
    let queued = ingress
        .store
        .receive(Q, 10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(queued.len(), bodies.len());
    let (mut types, mut projects) = (Vec::new(), 0);
    for message in &queued {
        assert!(message.body.len() < 1024, "a pointer, not the order");
        let value: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(value["resource"]["id"], scenario::order_id(7));
        assert!(value.get("order").is_none(), "{value}");
        assert!(value.get("payloadNotIncluded").is_some(), "{value}");
        for personal in ["customer7@example.com", "O'Doe-7", "SW1A"] {
            assert!(!message.body.contains(personal), "{}", message.body);
        }
        types.push(value["type"].as_str().unwrap().to_string());
        // Kept, so that the worker still parks a Message of another project.
        projects += usize::from(value["projectKey"] == "ctpvx-sim");
    }
    assert_eq!(
        projects, 3,
        "every Message's projectKey, not the bare order's"
    );
    types.sort();
    assert_eq!(
        types,
        [
            "OrderCreated",
            "OrderCreated",
            "OrderCreated",
            "OrderImported"
        ]
    );
}

#[tokio::test]
async fn other_notifications_paths_and_methods() {
    let ingress = ingress(WebhookConfig::default()).await;
    let test_notification = r#"{"notificationType":"ResourceCreated","projectKey":"p","resource":{"typeId":"subscription","id":"s"},"resourceTypeId":"subscription","version":1}"#;
    let (status, answer) = ingress
        .post(Some(DEMO_WEBHOOK_TOKEN), test_notification)
        .await;
    assert_eq!(
        (status, answer.contains("ignored")),
        (202, true),
        "{answer}"
    );
    assert_eq!(ingress.queued().await, 0);
    let url = format!("{}/webhooks/other", ingress.server.url);
    let status = ingress
        .http
        .post(url)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 404);
    let url = format!("{}{ORDERS_PATH}", ingress.server.url);
    let status = ingress
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 405);
}

// ---------------------------------------------------------------------------------------------
// Peoplevox callbacks
// ---------------------------------------------------------------------------------------------

use ctpvx_infra::testbed::DEMO_CALLBACK_TOKEN;
use ctpvx_shared::domain::StockMessage;
use ctpvx_tests::STOCK_QUEUE;

impl Ingress {
    async fn callback(&self, path_and_query: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.server.url))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
    async fn stock_messages(&self) -> Vec<StockMessage> {
        self.store
            .receive(STOCK_QUEUE, 10, std::time::Duration::from_secs(30))
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::from_str(&m.body).expect("a stock message"))
            .collect()
    }
}

fn availability(query: &str) -> String {
    format!("/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/availability?{query}")
}

#[tokio::test]
async fn an_availability_callback_is_normalised_stamped_and_enqueued() {
    let ingress = ingress(WebhookConfig::default()).await;
    let before = ctpvx_shared::store::now_epoch_ms();
    let (status, answer) = ingress
        .callback(&availability(
            "site=UK-DC&item=SKU%20A%2F1&available=12.00&enc=1",
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
    let messages = ingress.stock_messages().await;
    let [
        StockMessage::Available {
            site,
            item,
            available,
            received_at_ms,
            ..
        },
    ] = messages.as_slice()
    else {
        panic!("expected one availability message: {messages:?}");
    };
    assert_eq!(
        (site.as_str(), item.as_str(), *available),
        ("UK-DC", "SKU A/1", 12)
    );
    assert!(*received_at_ms >= before);
}

#[tokio::test]
async fn a_post_callback_with_a_form_body_is_a_movement_hint() {
    let ingress = ingress(WebhookConfig::default()).await;
    let response = ingress
        .http
        .post(format!(
            "{}/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/incremental?site=EU-DC&enc=1",
            ingress.server.url
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("item=SKU-9&changed=-3&reason=Pick&ts=2026-11-26T10%3A00%3A00.000Z")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let messages = ingress.stock_messages().await;
    assert!(
        matches!(
            messages.as_slice(),
            [StockMessage::Moved { site, item, quantity_changed: -3, reason: Some(r), .. }]
                if site == "EU-DC" && item == "SKU-9" && r == "Pick"
        ),
        "{messages:?}"
    );
}

#[tokio::test]
async fn callbacks_with_a_wrong_token_are_401_and_enqueue_nothing() {
    let ingress = ingress(WebhookConfig::default()).await;
    let wrong = DEMO_CALLBACK_TOKEN.replace('0', "1");
    for path in [
        format!("/webhooks/peoplevox/{wrong}/availability?site=S&item=A&available=1"),
        "/webhooks/peoplevox//availability?site=S&item=A&available=1".to_string(),
        "/webhooks/peoplevox/availability?site=S&item=A&available=1".to_string(),
    ] {
        let (status, answer) = ingress.callback(&path).await;
        assert_eq!(status, 401, "{path}: {answer}");
    }
    assert_eq!(ingress.store.depth(STOCK_QUEUE).await.unwrap().visible, 0);
}

#[tokio::test]
async fn callbacks_without_their_key_are_400_with_the_reason_and_enqueue_nothing() {
    let ingress = ingress(WebhookConfig::default()).await;
    let cases = [
        ("site=S&item=%7BItemCode%7D&available=1&enc=1", "{ItemCode}"),
        ("site=S&item={ItemCode}&available=1&enc=0", "{ItemCode}"),
        (
            "site=S&item=&available=1&enc=1",
            "`item` (the item code) is missing",
        ),
        (
            "site=S&available=1&enc=1",
            "`item` (the item code) is missing",
        ),
        // Cut short by a raw `#`, or registered by an older ctpvx.
        ("site=S&item=A", "`enc` is missing"),
        ("site=S&item=A&enc=yes", "`enc` is `yes`"),
    ];
    for (query, expected) in cases {
        let (status, answer) = ingress.callback(&availability(query)).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert!(answer.contains(expected), "{query}: {answer}");
    }
    let (status, _) = ingress
        .callback(&format!(
            "/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/despatch?x=1"
        ))
        .await;
    assert_eq!(status, 404);
    assert_eq!(ingress.store.depth(STOCK_QUEUE).await.unwrap().visible, 0);
}

#[tokio::test]
async fn an_availability_callback_without_a_readable_figure_or_site_is_a_hint() {
    let ingress = ingress(WebhookConfig::default()).await;
    for (query, site) in [
        ("site=S&item=A&available=%7BAvailable%7D&enc=1", Some("S")),
        ("site=S&item=A&available=ten&enc=1", Some("S")),
        ("site=S&item=A&available=1.5&enc=1", Some("S")),
        ("site=S&item=A&enc=1", Some("S")),
        ("item=A&available=1&enc=1", None),
    ] {
        let (status, answer) = ingress.callback(&availability(query)).await;
        assert_eq!(status, 202, "{query}: {answer}");
        let messages = ingress.stock_messages().await;
        assert!(
            matches!(
                messages.as_slice(),
                [StockMessage::Changed { site: s, item, .. }] if s.as_deref() == site && item == "A"
            ),
            "{query}: {messages:?}"
        );
        for m in ingress
            .store
            .receive(STOCK_QUEUE, 10, std::time::Duration::from_secs(0))
            .await
            .unwrap()
        {
            ingress.store.delete(STOCK_QUEUE, &m.receipt).await.unwrap();
        }
    }
}

#[tokio::test]
async fn despatch_callbacks_go_to_the_shipments_queue_keyed_by_despatch() {
    use ctpvx_shared::domain::ShipmentMessage;
    let ingress = ingress(WebhookConfig::default()).await;
    let (status, answer) = ingress
        .callback(&format!(
            "/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/tracking?despatch=DSP-1&order=D0000001&tracking=TRK%201&carrier=DPD&service=Next%20Day&service_code=ND&enc=1"
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = ingress
        .callback(&format!(
            "/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/package-despatched?despatch=%7BDespatchNumber%7D&enc=1"
        ))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("{DespatchNumber}"), "{answer}");
    let queued = ingress
        .store
        .receive(
            ctpvx_tests::SHIPMENTS_QUEUE,
            10,
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let m: ShipmentMessage = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(
        (
            m.event.as_str(),
            m.despatch.as_str(),
            m.order.as_deref(),
            m.tracking.as_deref()
        ),
        ("tracking", "DSP-1", Some("D0000001"), Some("TRK 1"))
    );
    assert_eq!(
        (
            m.carrier.as_deref(),
            m.service.as_deref(),
            m.service_code.as_deref()
        ),
        (Some("DPD"), Some("Next Day"), Some("ND"))
    );
    assert_eq!(ingress.store.depth(STOCK_QUEUE).await.unwrap().visible, 0);
}

// ---------------------------------------------------------------------------------------------
// Order status: Peoplevox status and returns callbacks, commercetools cancellations
// ---------------------------------------------------------------------------------------------

use ctpvx_shared::domain::StatusMessage;

impl Ingress {
    async fn status_messages(&self) -> Vec<StatusMessage> {
        self.store
            .receive(
                ctpvx_tests::STATUS_QUEUE,
                10,
                std::time::Duration::from_secs(30),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::from_str(&m.body).expect("a status message"))
            .collect()
    }
}

#[tokio::test]
async fn status_and_returns_callbacks_go_to_the_status_queue_with_what_they_carry() {
    let ingress = ingress(WebhookConfig::default()).await;
    let base = format!("/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}");
    // A status name nobody mapped: accepted (the flow audits it), never refused.
    for query in [
        "status?order=D0000001&status=Quarantined%20(QA)&modified=2026-11-26T10:00:00&onhold=True&enc=1",
        // Only the key: the flow reads the status from Peoplevox.
        "status?order=D1&status={SalesOrderStatu.Name}&modified={LastModificationTime}&enc=0",
        // An unreadable hold flag is left out, not refused.
        "status?order=D2&status=Picking&onhold=maybe&enc=1",
        "returns?order=D0000001&return=RET-000001&enc=1",
    ] {
        let (status, answer) = ingress.callback(&format!("{base}/{query}")).await;
        assert_eq!(status, 202, "{query}: {answer}");
    }
    for (query, problem) in [
        (
            "status?order=%7BSalesOrderNumber%7D&status=New&enc=1",
            "{SalesOrderNumber}",
        ),
        ("status?status=New&enc=1", "`order`"),
        ("returns?site=UK&enc=1", "`return`"),
    ] {
        let (status, answer) = ingress.callback(&format!("{base}/{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert!(answer.contains(problem), "{query}: {answer}");
    }
    let (status, _) = ingress
        .callback("/webhooks/peoplevox/wrong-token-0123456789-abcdefghijklmnop/status?order=D1&status=New&enc=1")
        .await;
    assert_eq!(status, 401);
    let messages = ingress.status_messages().await;
    assert_eq!(messages.len(), 4, "{messages:?}");
    let read = |m: &StatusMessage| match m {
        StatusMessage::PeoplevoxStatus {
            order,
            status,
            on_hold,
            modified,
            ..
        } => Some((order.clone(), status.clone(), *on_hold, modified.clone())),
        _ => None,
    };
    assert_eq!(
        read(&messages[0]),
        Some((
            "D0000001".into(),
            Some("Quarantined (QA)".into()),
            Some(true),
            Some("2026-11-26T10:00:00".into())
        ))
    );
    assert_eq!(read(&messages[1]), Some(("D1".into(), None, None, None)));
    assert_eq!(
        read(&messages[2]),
        Some(("D2".into(), Some("Picking".into()), None, None))
    );
    assert!(
        matches!(&messages[3], StatusMessage::PeoplevoxReturn { order: Some(o), return_code: Some(c), .. } if o == "D0000001" && c == "RET-000001")
    );
}

#[tokio::test]
async fn a_commercetools_cancellation_goes_to_the_status_queue_and_other_state_changes_are_acknowledged()
 {
    let ingress = ingress(WebhookConfig::default()).await;
    let change = |state: &str| {
        format!(
            r#"{{"notificationType":"Message","id":"m-{state}","resource":{{"typeId":"order","id":"o-1"}},"resourceUserProvidedIdentifiers":{{"orderNumber":"D0000001"}},"type":"OrderStateChanged","orderState":"{state}","oldOrderState":"Open"}}"#
        )
    };
    let (status, answer) = ingress
        .post(Some(DEMO_WEBHOOK_TOKEN), change("Cancelled"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = ingress
        .post(Some(DEMO_WEBHOOK_TOKEN), change("Confirmed"))
        .await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer.contains("ignored"), "{answer}");
    let (status, _) = ingress.post(None, change("Cancelled")).await;
    assert_eq!(status, 401);
    assert_eq!(ingress.queued().await, 0, "nothing on the orders queue");
    let messages = ingress.status_messages().await;
    assert_eq!(
        messages,
        [StatusMessage::CommercetoolsOrderState {
            message_id: Some("m-Cancelled".into()),
            order_id: "o-1".into(),
            order_number: Some("D0000001".into()),
            order_state: "Cancelled".into(),
            old_order_state: Some("Open".into()),
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Values that survive: the simulator fills the callback URLs `ctpvx subscribe` registered and
// calls the webhook over HTTP, under each dialect's encoding.
// ---------------------------------------------------------------------------------------------

mod survival {
    use super::*;
    use ctpvx_infra::sim::peoplevox::dialect::{self, Dialect};
    use ctpvx_infra::sim::peoplevox::{PvxSim, PvxSimConfig, SimCallbackOutcome};
    use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, subscribe_rules};
    use ctpvx_shared::config::SubscriptionRules;
    use ctpvx_shared::peoplevox::{CsvTable, PvxClient, SaveAction};
    use std::time::Duration;

    /// Every character a URL treats specially, and a space.
    const HARD: &str = "A+B&C/D E%";

    struct Setup {
        ingress: Ingress,
        sim: PvxSim,
    }

    async fn setup(dialect: Dialect) -> Setup {
        let ingress = ingress(WebhookConfig::default()).await;
        let sim = PvxSim::start(PvxSimConfig {
            dialect,
            ..PvxSimConfig::default()
        })
        .await
        .unwrap();
        let pvx = PvxClient::new(sim.settings(), store()).unwrap();
        let rules = SubscriptionRules {
            shipments: false,
            ..SubscriptionRules::default()
        };
        subscribe_rules(
            &pvx,
            &ingress.server.url,
            DEMO_CALLBACK_TOKEN,
            &rules,
            &["UK-DC".to_string()],
        )
        .await
        .unwrap();
        // A sales order whose status the warehouse will change.
        let mut table = CsvTable::new(vec!["SalesOrderNumber".into(), "Site".into()]);
        table.rows.push(vec!["SO-1".into(), "UK-DC".into()]);
        pvx.save_data("Sales orders", &table, SaveAction::Upsert)
            .await
            .unwrap();
        Setup { ingress, sim }
    }

    impl Setup {
        /// Moves stock of `item` and sets the order's status to `status`; returns the stock
        /// and status messages the webhook enqueued, and the callbacks' HTTP statuses.
        async fn fire(
            &self,
            item: &str,
            status: &str,
        ) -> (
            Vec<serde_json::Value>,
            Vec<serde_json::Value>,
            Vec<Option<u16>>,
        ) {
            let before = self.sim.callback_log().len();
            self.sim.goods_in("UK-DC", item, 5);
            self.sim.set_order_status("SO-1", status);
            assert!(self.sim.wait_callbacks_idle(Duration::from_secs(10)).await);
            let statuses = self.sim.callback_log()[before..]
                .iter()
                .map(|c| c.status)
                .collect();
            let read = |queue: &'static str| async move {
                let got = self
                    .ingress
                    .store
                    .receive(queue, 10, Duration::from_secs(30))
                    .await
                    .unwrap();
                for m in &got {
                    self.ingress.store.delete(queue, &m.receipt).await.unwrap();
                }
                got.iter()
                    .map(|m| serde_json::from_str(&m.body).unwrap())
                    .collect::<Vec<serde_json::Value>>()
            };
            (
                read(STOCK_QUEUE).await,
                read(ctpvx_tests::STATUS_QUEUE).await,
                statuses,
            )
        }
    }

    #[tokio::test]
    async fn under_the_strict_dialect_every_character_arrives_intact() {
        let s = setup(dialect::STRICT).await;
        for value in [HARD, "#1 50% + & / ?", "%41 %20 {x}"] {
            let (stock, status, http) = s.fire(value, value).await;
            assert!(http.iter().all(|h| *h == Some(202)), "{value}: {http:?}");
            assert_eq!(stock.len(), 1, "{value}: {stock:?}");
            // Site-bound by the sites filter: the figure itself, for the exact item code.
            assert_eq!(stock[0]["kind"], "available", "{stock:?}");
            assert_eq!(stock[0]["item"], value);
            assert_eq!(stock[0]["site"], "UK-DC");
            assert_eq!(status.len(), 1, "{value}: {status:?}");
            assert_eq!(status[0]["status"], value);
        }
        assert_eq!(s.sim.unparsed_filters(), 0);
    }

    /// Raw substitution (no encodeParameterData): `&`, `+`, `/`, `%` and spaces survive; a `#`
    /// ends the URL, so such a callback is refused (never misread); a `%` and two hex digits
    /// naming a byte a client escapes (`%20`) reads as that byte, so the item code is flagged
    /// and carries no figure.
    #[tokio::test]
    async fn under_raw_substitution_all_but_a_hash_and_an_escape_arrive_intact() {
        let s = setup(dialect::WSDL_2017).await;
        let (stock, status, http) = s.fire(HARD, "Pick & Pack + QA / 50% done").await;
        assert!(http.iter().all(|h| *h == Some(202)), "{http:?}");
        // No sites filter on this tenant: a site-less hint for the exact item code.
        assert_eq!(stock.len(), 1, "{stock:?}");
        assert_eq!(
            (stock[0]["kind"].as_str(), stock[0]["item"].as_str()),
            (Some("changed"), Some(HARD))
        );
        assert!(stock[0].get("site").is_none());
        assert_eq!(status[0]["status"], "Pick & Pack + QA / 50% done");

        // `#`: the callback is cut short and refused, for the stock and the status alike.
        let (stock, status, http) = s.fire("A#B", "Held #2").await;
        assert!(
            stock.is_empty() && status.is_empty(),
            "{stock:?} {status:?}"
        );
        assert_eq!(http, [Some(400), Some(400)]);
        assert!(
            s.sim
                .callback_log()
                .iter()
                .any(|c| c.outcome == SimCallbackOutcome::Failed)
        );

        // `%41` is kept as written; `%20` cannot be told from an escaped space.
        let (stock, _, _) = s.fire("X%41", "S").await;
        assert_eq!(stock[0]["item"], "X%41");
        let (stock, _, _) = s.fire("Y%20Z", "T").await;
        assert_eq!(
            (stock[0]["kind"].as_str(), stock[0]["item"].as_str()),
            (Some("changed"), Some("Y Z"))
        );
    }
}
