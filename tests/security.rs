//! Security properties over the real ingress, flows, simulators and template:
//! - every webhook route refuses a missing, wrong, same-length, prefixed or extended secret
//!   (and the other route's secret) with 401, enqueues nothing and audits nothing;
//! - the secret comparison accepts exactly the secret;
//! - oversized bodies are 413 and deeply nested JSON is a 400 with the reason, at the HTTP
//!   server, at the handler the Lambda calls, and at the workers behind the queues;
//! - hostile text in an order reaches Peoplevox in one sales order, as sent or as the mapping
//!   documents its neutralisation, never breaking the CSV or the SOAP envelope;
//! - a callback subscription Peoplevox refuses, quoting the URL back, is logged and reported
//!   by ctpvx without the callback token;
//! - no IAM statement in template.yaml allows everything.
//!
//! The demo's logs are searched for secrets and personal data by infra/tests/demo_logs.rs (it
//! runs the `ctpvx` binary, which only that crate's tests can).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ctpvx_infra::local::server::WebhookServer;
use ctpvx_infra::local::stack::declare_queues;
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, DEMO_WEBHOOK_TOKEN};
use ctpvx_shared::config::WebhookConfig;
use ctpvx_shared::domain::{SHIPMENT_EVENTS, STATUS_EVENTS};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::batch::REASON_ATTRIBUTE;
use ctpvx_shared::queues::{QUEUE_PAIRS, SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use ctpvx_shared::store::Queue;
use ctpvx_shared::webhook::peoplevox::STOCK_EVENTS;
use ctpvx_shared::webhook::{ORDERS_PATH, WebhookRequest, WebhookResponse, Webhooks};
use ctpvx_tests::{DLQ, Q, STATUS_DLQ, ingress_secrets};

// ---------------------------------------------------------------------------------------------
// The ingress on a store file, so that the test can count every audit row it holds
// ---------------------------------------------------------------------------------------------

struct Ingress {
    dir: PathBuf,
    store: Arc<EmbeddedStore>,
    hooks: Arc<Webhooks>,
    server: WebhookServer,
    http: reqwest::Client,
}

impl Ingress {
    async fn start(config: WebhookConfig) -> Self {
        let dir = std::env::temp_dir().join(format!("ctpvx-security-{}", uuid::Uuid::new_v4()));
        let store = EmbeddedStore::open(dir.join("store.sqlite3")).unwrap();
        declare_queues(&store).unwrap();
        let queue: Arc<dyn Queue> = store.clone();
        let hooks = Arc::new(Webhooks::new(queue, &ingress_secrets(), &config));
        let server = WebhookServer::start(hooks.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            dir,
            store,
            hooks,
            server,
            http: reqwest::Client::new(),
        }
    }

    /// One request over HTTP: `(status, body)`.
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.server.url))
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        let response = request.send().await.expect("the server answers");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Messages on every queue and dead-letter queue, visible or in flight, by queue.
    async fn queued(&self) -> BTreeMap<&'static str, u64> {
        let mut depths = BTreeMap::new();
        for (queue, dlq, _) in QUEUE_PAIRS {
            for name in [queue, dlq] {
                let depth = self.store.depth(name).await.unwrap();
                depths.insert(name, depth.visible + depth.in_flight);
            }
        }
        depths
    }

    /// Rows in the audit log, of any entity.
    fn audit_rows(&self) -> i64 {
        let db = rusqlite::Connection::open(self.dir.join("store.sqlite3")).unwrap();
        db.query_row("SELECT COUNT(*) FROM audit", [], |row| row.get(0))
            .unwrap()
    }

    /// Nothing on any queue, nothing in the audit log.
    async fn assert_nothing_enqueued(&self, after: &str) {
        let queued = self.queued().await;
        assert!(
            queued.values().all(|n| *n == 0),
            "{after}: enqueued {queued:?}"
        );
        assert_eq!(self.audit_rows(), 0, "{after}: audited");
    }
}

impl Drop for Ingress {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn order_message() -> String {
    scenario::platform_message(&scenario::order(1, 2, &scenario::catalog(3)), "m-1")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------------------------------------
// 1. Authentication on every route
// ---------------------------------------------------------------------------------------------

/// One webhook route with a request the right secret gets accepted.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// `POST /webhooks/commercetools/orders`, Bearer token.
    Orders,
    /// `/webhooks/peoplevox/{token}/{event}`, GET (parameters in the query) or POST
    /// (parameters in a form body).
    Callback { event: &'static str, post: bool },
}

impl Route {
    /// The commercetools route and every Peoplevox callback event, by GET and by POST.
    fn all() -> Vec<Route> {
        let events = STOCK_EVENTS
            .into_iter()
            .chain(SHIPMENT_EVENTS.map(|(e, _)| e))
            .chain(STATUS_EVENTS.map(|(e, _)| e));
        let mut routes = vec![Route::Orders];
        for event in events {
            for post in [false, true] {
                routes.push(Route::Callback { event, post });
            }
        }
        routes
    }

    /// Valid parameters of a callback event, and the queue it goes to.
    fn params(event: &str) -> (&'static str, &'static str) {
        match event {
            "availability" => ("site=UK-DC&item=SKU-0001&available=3", STOCK_QUEUE),
            "incremental" => ("site=UK-DC&item=SKU-0001&changed=-1", STOCK_QUEUE),
            "tracking" | "package-tracking" | "package-despatched" => (
                "despatch=DSP-1&order=D0000001&tracking=TRK-1",
                SHIPMENTS_QUEUE,
            ),
            "status" => ("order=D0000001&status=New", STATUS_QUEUE),
            "returns" => ("order=D0000001&return=RET-1", STATUS_QUEUE),
            other => panic!("callback event `{other}` is new: give it parameters here"),
        }
    }

    /// The queue an accepted request goes to.
    fn queue(self) -> &'static str {
        match self {
            Route::Orders => Q,
            Route::Callback { event, .. } => Self::params(event).1,
        }
    }

    /// The right secret of this route.
    fn secret(self) -> &'static str {
        match self {
            Route::Orders => DEMO_WEBHOOK_TOKEN,
            Route::Callback { .. } => DEMO_CALLBACK_TOKEN,
        }
    }

    /// The other route family's secret (valid, but not here).
    fn other_secret(self) -> &'static str {
        match self {
            Route::Orders => DEMO_CALLBACK_TOKEN,
            Route::Callback { .. } => DEMO_WEBHOOK_TOKEN,
        }
    }

    /// Sends this route's request presenting `credential`: for the commercetools route the
    /// whole `Authorization` header (`None`: no header), for a callback the token path
    /// segment (`None`: the segment left out).
    async fn send(self, ingress: &Ingress, credential: Option<&str>) -> (u16, String) {
        match self {
            Route::Orders => {
                ingress
                    .send(
                        "POST",
                        ORDERS_PATH,
                        credential,
                        Some("application/json"),
                        order_message(),
                    )
                    .await
            }
            Route::Callback { event, post } => {
                let (params, _) = Self::params(event);
                let path = match credential {
                    Some(token) => format!("/webhooks/peoplevox/{token}/{event}"),
                    None => format!("/webhooks/peoplevox/{event}"),
                };
                if post {
                    // The static `enc` of a POST subscription is in its URL.
                    ingress
                        .send(
                            "POST",
                            &format!("{path}?enc=1"),
                            None,
                            Some("application/x-www-form-urlencoded"),
                            params,
                        )
                        .await
                } else {
                    ingress
                        .send("GET", &format!("{path}?{params}&enc=1"), None, None, "")
                        .await
                }
            }
        }
    }

    /// Every wrong credential for this route: missing, empty, wrong, wrong of the same length
    /// (first or last character changed), prefixes, the secret extended, in upper case, and
    /// the other route's secret; for the Bearer route also the right token under a wrong
    /// scheme or none.
    fn wrong_credentials(self) -> Vec<Option<String>> {
        let secret = self.secret();
        let changed_at = |i: usize| {
            let mut bytes = secret.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            String::from_utf8(bytes).unwrap()
        };
        let wrong_tokens = [
            String::new(),
            "wrong".to_string(),
            changed_at(0),
            changed_at(secret.len() - 1),
            secret[..secret.len() - 1].to_string(),
            secret[..secret.len() / 2].to_string(),
            secret[..1].to_string(),
            format!("{secret}0"),
            secret.to_uppercase(),
            self.other_secret().to_string(),
        ];
        for token in &wrong_tokens {
            assert_ne!(token, secret);
            if !token.is_empty() {
                assert_eq!(token.trim(), token, "a token without padding to trim");
            }
        }
        let mut credentials = vec![None];
        match self {
            Route::Orders => {
                credentials.extend(wrong_tokens.iter().map(|t| Some(bearer(t))));
                credentials.extend(
                    [
                        String::new(),
                        "Bearer".to_string(),
                        secret.to_string(),
                        format!("Basic {secret}"),
                        format!("Token {secret}"),
                        format!("Bearer{secret}"),
                    ]
                    .map(Some),
                );
            }
            Route::Callback { .. } => credentials.extend(wrong_tokens.map(Some)),
        }
        credentials
    }
}

#[tokio::test]
async fn every_route_refuses_every_wrong_secret_enqueues_nothing_and_accepts_the_right_one() {
    let ingress = Ingress::start(WebhookConfig::default()).await;
    let routes = Route::all();
    assert_eq!(routes.len(), 1 + 2 * 7, "{routes:?}");
    for route in &routes {
        for credential in route.wrong_credentials() {
            let (status, answer) = route.send(&ingress, credential.as_deref()).await;
            assert_eq!(status, 401, "{route:?} with {credential:?}: {answer}");
            let reason: serde_json::Value = serde_json::from_str(&answer).unwrap();
            assert!(reason["error"].is_string(), "{answer}");
            for secret in [DEMO_WEBHOOK_TOKEN, DEMO_CALLBACK_TOKEN] {
                assert!(!answer.contains(secret), "the answer echoes a secret");
            }
        }
    }
    ingress.assert_nothing_enqueued("wrong secrets").await;

    // Control: the right secret gets each request through, onto its own queue, once.
    let mut expected: BTreeMap<&str, u64> = ingress.queued().await;
    for route in &routes {
        let credential = match route {
            Route::Orders => bearer(route.secret()),
            Route::Callback { .. } => route.secret().to_string(),
        };
        let (status, answer) = route.send(&ingress, Some(&credential)).await;
        assert_eq!(status, 202, "{route:?}: {answer}");
        *expected.get_mut(route.queue()).unwrap() += 1;
        assert_eq!(ingress.queued().await, expected, "after {route:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The secret comparison
// ---------------------------------------------------------------------------------------------

/// `token_matches` hashes both sides with SHA-256 before `subtle::ConstantTimeEq`, so the
/// constant-time comparison always runs over two 32-byte digests: there is no branch on
/// length or content of either value. What hashing the presented value costs depends on the
/// presented value's own length, which its sender knows already; the secret side always
/// costs the same. So the time of a refusal tells nothing about the secret, not even its
/// length. (Timing itself is not measured here: too noisy for a test that must not flake.)
#[test]
fn the_comparison_accepts_exactly_the_secret() {
    use ctpvx_shared::webhook::token_matches;
    use secrecy::SecretString;

    let secret = SecretString::from(DEMO_WEBHOOK_TOKEN);
    let matches = |presented: &str| token_matches(Some(&bearer(presented)), &secret);
    assert!(matches(DEMO_WEBHOOK_TOKEN), "equal");
    assert!(
        token_matches(Some(&format!("bearer {DEMO_WEBHOOK_TOKEN} ")), &secret),
        "scheme in lower case, padding trimmed"
    );
    let n = DEMO_WEBHOOK_TOKEN.len();
    assert!(!matches(DEMO_CALLBACK_TOKEN), "the other secret");
    for different in [
        DEMO_WEBHOOK_TOKEN.replace('0', "1"),
        DEMO_WEBHOOK_TOKEN.to_uppercase(),
        format!("{}é", &DEMO_WEBHOOK_TOKEN[..n - 2]),
    ] {
        assert_eq!(different.len(), n, "{different}: same length");
        assert!(!matches(&different), "different: {different}");
    }
    for length in [1, n - 1, n + 1, 2 * n, 64 * 1024] {
        let other: String = DEMO_WEBHOOK_TOKEN.chars().cycle().take(length).collect();
        assert!(!matches(&other), "different length {length}");
    }
    assert!(!matches(""), "empty");
    assert!(!token_matches(None, &secret), "absent");
    // An empty configured secret must never let anything through, an empty value included.
    let empty = SecretString::from("");
    assert!(!token_matches(Some("Bearer "), &empty));
    assert!(!token_matches(Some("Bearer"), &empty));
    assert!(!token_matches(None, &empty));
}

// ---------------------------------------------------------------------------------------------
// 3. Oversized and deeply nested bodies
// ---------------------------------------------------------------------------------------------

const LIMIT: usize = 64 * 1024;

fn small_limits() -> WebhookConfig {
    WebhookConfig {
        max_body_bytes: LIMIT,
        ..WebhookConfig::default()
    }
}

/// The request the Lambda (functions/webhooks) hands to the same handler.
fn lambda_request<'a>(
    method: &'a str,
    path_and_query: &'a str,
    authorization: Option<&'a str>,
    content_type: Option<&'a str>,
    body: &'a [u8],
) -> WebhookRequest<'a> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    WebhookRequest {
        method,
        path,
        query,
        authorization,
        content_type,
        body,
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_on_every_route_and_enqueues_nothing() {
    let ingress = Ingress::start(small_limits()).await;
    let auth = bearer(DEMO_WEBHOOK_TOKEN);
    // A good message padded with JSON whitespace to the limit, and one byte more.
    let message = order_message();
    let at_limit = format!("{message}{}", " ".repeat(LIMIT - message.len()));
    let over = format!("{at_limit} ");
    let status_path = format!("/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/status");
    let prefix = "order=D0000001&status=New&pad=";
    let form = format!("{prefix}{}", "x".repeat(LIMIT + 1 - prefix.len()));

    let (status, answer) = ingress
        .send("POST", ORDERS_PATH, Some(&auth), None, over.clone())
        .await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("over the limit"), "{answer}");
    let (status, answer) = ingress
        .send(
            "POST",
            &status_path,
            None,
            Some("application/x-www-form-urlencoded"),
            form.clone(),
        )
        .await;
    assert_eq!(status, 413, "{answer}");
    // Without the secret the size is not even looked at.
    let (status, _) = ingress
        .send("POST", ORDERS_PATH, None, None, over.clone())
        .await;
    assert_eq!(status, 401);
    // The handler the Lambda calls answers alike.
    for request in [
        lambda_request("POST", ORDERS_PATH, Some(&auth), None, over.as_bytes()),
        lambda_request("POST", &status_path, None, None, form.as_bytes()),
    ] {
        let answer = ingress.hooks.handle(request).await;
        assert_eq!(answer.status, 413, "{}: {answer:?}", request.path);
    }
    ingress
        .assert_nothing_enqueued("bodies over the limit")
        .await;

    // Control: exactly at the limit is accepted.
    let (status, answer) = ingress
        .send("POST", ORDERS_PATH, Some(&auth), None, at_limit)
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(ingress.queued().await[Q], 1);
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// Deeply nested bodies for the commercetools route: bare, and inside a good message.
fn nested_order_bodies() -> Vec<(&'static str, String)> {
    let message = order_message();
    let in_order = message.replacen(
        r#""order":{"#,
        &format!(r#""order":{{"custom":{},"#, nested_objects(10_000)),
        1,
    );
    assert_ne!(in_order, message, "nested inside the order");
    vec![
        ("arrays", nested_arrays(10_000)),
        ("objects", nested_objects(10_000)),
        ("past serde_json's limit of 128", nested_arrays(129)),
        (
            "beside a good message",
            format!(r#"{{"deep":{},{}"#, nested_arrays(10_000), &message[1..]),
        ),
        ("inside the order", in_order),
    ]
}

#[tokio::test]
async fn deeply_nested_json_is_400_with_the_reason_and_enqueues_nothing() {
    let ingress = Ingress::start(WebhookConfig::default()).await;
    let auth = bearer(DEMO_WEBHOOK_TOKEN);
    for (what, body) in nested_order_bodies() {
        let (status, answer) = ingress
            .send(
                "POST",
                ORDERS_PATH,
                Some(&auth),
                Some("application/json"),
                body.clone(),
            )
            .await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(
            answer.contains("recursion limit exceeded"),
            "{what}: {answer}"
        );
        let WebhookResponse {
            status,
            body: answer,
        } = ingress
            .hooks
            .handle(lambda_request(
                "POST",
                ORDERS_PATH,
                Some(&auth),
                Some("application/json"),
                body.as_bytes(),
            ))
            .await;
        assert_eq!(status, 400, "{what}, Lambda handler: {answer}");
        assert!(
            answer.contains("recursion limit exceeded"),
            "{what}: {answer}"
        );
    }
    // A Peoplevox POST callback whose JSON body nests.
    let path = format!("/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}/status?enc=1");
    for (what, body, reason) in [
        (
            "objects",
            format!(
                r#"{{"order":"D0000001","status":{}}}"#,
                nested_objects(10_000)
            ),
            "recursion limit exceeded",
        ),
        ("arrays", nested_arrays(10_000), "not a JSON object"),
    ] {
        let (status, answer) = ingress
            .send("POST", &path, None, Some("application/json"), body.clone())
            .await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(answer.contains(reason), "{what}: {answer}");
        let answer = ingress
            .hooks
            .handle(lambda_request(
                "POST",
                &path,
                None,
                Some("application/json"),
                body.as_bytes(),
            ))
            .await;
        assert_eq!(answer.status, 400, "{what}, Lambda handler: {answer:?}");
    }
    ingress.assert_nothing_enqueued("nested bodies").await;
}

/// What reaches a queue without the webhook (a commercetools SQS subscription writes straight
/// into the orders and status queues) is parsed by the workers under the same limit: parked
/// with the reason, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_messages_on_the_queues_are_dead_lettered_with_the_reason() {
    let catalog = scenario::catalog(3);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let store = ctpvx_tests::store();
    let bodies = nested_order_bodies();
    for queue in [Q, STATUS_QUEUE] {
        for (_, body) in &bodies {
            store.send(queue, body, &BTreeMap::new()).await.unwrap();
        }
    }
    let export = ctpvx_tests::flow(&bed, &store).await;
    let report = ctpvx_tests::run_one_batch(&export, &store, 10).await;
    assert_eq!(
        (report.exported, report.records.dead_lettered),
        (0, bodies.len()),
        "{report:?}"
    );
    let status = ctpvx_tests::status_flow(&bed, &store).await;
    let report = ctpvx_tests::run_status_batch(&status, &store, 10).await;
    assert_eq!(
        (report.updates, report.records.dead_lettered),
        (0, bodies.len()),
        "{report:?}"
    );
    for dlq in [DLQ, STATUS_DLQ] {
        let parked = store
            .receive(dlq, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(parked.len(), bodies.len(), "{dlq}");
        for message in parked {
            let reason = &message.attributes[REASON_ATTRIBUTE];
            assert!(
                reason.contains("not valid JSON: recursion limit exceeded"),
                "{dlq}: {reason}"
            );
        }
    }
    assert!(bed.pvx.sales_orders().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile text through the order export, into Peoplevox's CSV inside SOAP XML
// ---------------------------------------------------------------------------------------------

/// Sets `field` of `address` in `order`.
fn set(order: &mut serde_json::Value, address: &str, field: &str, value: &str) {
    order[address][field] = serde_json::Value::String(value.to_string());
}

/// Every free-text field an order export sends, with CSV and XML metacharacters, SOAP and
/// CDATA terminators, line breaks, tabs and spreadsheet formulas, goes through the webhook,
/// the queue and the flow to the Peoplevox simulator, which parses the SOAP envelope and the
/// CSV in it as Peoplevox does. Each value arrives as sent, except what
/// `shared/src/mapping/text.rs` documents: line breaks and tabs become single spaces (the
/// value trimmed), and a value starting with `=`, `+`, `-` or `@` gets a leading apostrophe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_reaches_peoplevox_in_one_sales_order_as_documented() {
    let catalog = scenario::catalog(5);
    let bed = ctpvx_tests::testbed(&catalog).await;
    let store = ctpvx_tests::store();
    let queue: Arc<dyn Queue> = store.clone();
    let hooks = Arc::new(Webhooks::new(
        queue,
        &bed.secrets,
        &WebhookConfig::default(),
    ));
    let server = WebhookServer::start(hooks, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    let mut order = scenario::order(0, 3, &catalog);
    let number = scenario::order_number(0);
    order["customerEmail"] = r#""zoe,o'brien"<x>&y@example.com"#.into();
    order["custom"]["fields"]["giftMessage"] =
        "Dear \"Zoë\",\r\nHappy day!\n\t<3 & ]]> </soap:Envelope>".into();
    let ship = "shippingAddress";
    set(&mut order, ship, "firstName", "Zoë \"Z\" <b>&amp;");
    set(&mut order, ship, "lastName", "O'Brien,\tJr. ]]>");
    set(&mut order, ship, "streetNumber", "221B");
    set(
        &mut order,
        ship,
        "streetName",
        "Baker St ]]></p:CsvData></soap:Envelope>",
    );
    set(&mut order, ship, "company", "=cmd|' /C calc'!A0");
    set(&mut order, ship, "apartment", "Flat \"3\"\r\nRear");
    set(&mut order, ship, "building", "<Tower> & Annex");
    set(&mut order, ship, "additionalStreetInfo", "c/o \"A,\nB\"");
    set(&mut order, ship, "city", "\t@SUM(1+1)*cmd|' /C calc'!A0");
    set(&mut order, ship, "region", "-2+3,\"x\"");
    set(&mut order, ship, "key", "ref,\"q\"\n<&>");
    let bill = "billingAddress";
    order[bill] = serde_json::json!({"country": "FR", "postalCode": "75001"});
    set(
        &mut order,
        bill,
        "streetName",
        "=HYPERLINK(\"http://evil/?a=1&b=2\",\"x\")",
    );
    set(&mut order, bill, "company", "Acme, \"Ltd\" & Co <b>");
    set(&mut order, bill, "city", "Paris <&> \"Cité\"");
    set(&mut order, bill, "region", "+33\r\n1");
    bed.ct.insert_order_json(order.clone()).unwrap();

    let (status, answer) = {
        let response = reqwest::Client::new()
            .post(format!("{}{ORDERS_PATH}", server.url))
            .bearer_auth(DEMO_WEBHOOK_TOKEN)
            .body(scenario::platform_message(&order, "m-hostile"))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 202, "{answer}");
    let export = ctpvx_tests::flow(&bed, &store).await;
    let report = ctpvx_tests::run_one_batch(&export, &store, 10).await;
    assert_eq!(report.exported, 1, "{report:?}");

    let orders = bed.pvx.sales_orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(bed.pvx.header_imports(&number), 1);
    let so = &orders[0];
    assert_eq!(so.number, number);
    assert_eq!(so.items.len(), 3, "{:?}", so.items);
    let expected = [
        ("Customer", r#""zoe,o'brien"<x>&y@example.com"#),
        ("Email", r#""zoe,o'brien"<x>&y@example.com"#),
        ("ContactName", "Zoë \"Z\" <b>&amp; O'Brien, Jr. ]]>"),
        (
            "Notes",
            "Dear \"Zoë\", Happy day! <3 & ]]> </soap:Envelope>",
        ),
        (
            "ShippingAddressLine1",
            "221B Baker St ]]></p:CsvData></soap:Envelope>",
        ),
        (
            "ShippingAddressLine2",
            "'=cmd|' /C calc'!A0, Flat \"3\" Rear, <Tower> & Annex, c/o \"A, B\"",
        ),
        ("ShippingAddressCity", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("ShippingAddressRegion", "'-2+3,\"x\""),
        ("ShippingAddressReference", "ref,\"q\" <&>"),
        (
            "InvoiceAddressLine1",
            "'=HYPERLINK(\"http://evil/?a=1&b=2\",\"x\")",
        ),
        ("InvoiceAddressLine2", "Acme, \"Ltd\" & Co <b>"),
        ("InvoiceAddressCity", "Paris <&> \"Cité\""),
        // Digits and spaces after a `+` (a phone-like value) call nothing: left as they are.
        ("InvoiceAddressRegion", "+33 1"),
        ("InvoiceAddressPostcode", "75001"),
        ("InvoiceAddressCountry", "FR"),
    ];
    // The fields without hostile text, so that a value shifted into a neighbouring column
    // or row shows.
    let plain = [
        ("SalesOrderNumber", number.as_str()),
        (
            "CustomerPurchaseOrderReferenceNumber",
            order["id"].as_str().unwrap(),
        ),
        ("IsPartialShipment", "false"),
        ("ShippingCost", "4.99"),
        ("TotalSale", "59.97"),
        ("ServiceType", "NEXTDAY"),
        ("ChannelName", "uk"),
        ("Site", "UK-DC"),
        ("ShippingAddressPostcode", "SW1A 1AA"),
        ("ShippingAddressCountry", "GB"),
    ];
    for (field, value) in expected.into_iter().chain(plain) {
        assert_eq!(
            so.fields.get(field).map(String::as_str),
            Some(value),
            "{field}"
        );
    }
    let created = so.fields.get("CreatedDate").map_or(0, String::len);
    assert_eq!(created, "2026-11-30 17:20:10".len(), "{:?}", so.fields);
    let sent: Vec<&str> = expected
        .iter()
        .chain(&plain)
        .map(|(field, _)| *field)
        .chain(["CreatedDate"])
        .collect();
    let stray: Vec<_> = so
        .fields
        .iter()
        .filter(|(field, value)| !sent.contains(&field.as_str()) && !value.is_empty())
        .collect();
    assert!(stray.is_empty(), "values in fields never sent: {stray:?}");
    let lines: Vec<_> = order["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["variant"]["sku"].as_str().unwrap().to_string())
        .collect();
    let imported: Vec<_> = so.items.iter().map(|i| i.item_code.clone()).collect();
    assert_eq!(imported, lines);
}

// ---------------------------------------------------------------------------------------------
// 5. A failed callback subscription: what ctpvx logs and reports carries no callback token
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A Peoplevox in front of the simulator that refuses every subscription, quoting back the
/// callback URL it was given (token and all) in the IntegrationResponse's `Detail`, as a
/// tenant's error text may; every other request goes through to the simulator. Returns the
/// endpoint to give the client.
async fn peoplevox_refusing_subscriptions(simulator: String) -> String {
    use axum::body::{Body, to_bytes};
    use axum::extract::Request;
    use axum::response::Response;

    let (scheme_host, path) = simulator
        .match_indices('/')
        .nth(2)
        .map(|(at, _)| simulator.split_at(at))
        .expect("an http URL with a path");
    let upstream = scheme_host.to_string();
    let proxy = move |request: Request| {
        let upstream = upstream.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap();
            let text = String::from_utf8_lossy(&body).into_owned();
            let quoted = ["callbackUrl", "postUrl"].iter().find_map(|tag| {
                let open = format!("<{tag}>");
                let from = text.find(&open)? + open.len();
                let to = from + text[from..].find(&format!("</{tag}>"))?;
                Some(text[from..to].to_string())
            });
            if let Some(url) = quoted {
                let op = if text.contains("SubscribeEventWithSitesFilters") {
                    "SubscribeEventWithSitesFilters"
                } else if text.contains("SubscribePostEvent") {
                    "SubscribePostEvent"
                } else {
                    "SubscribeEvent"
                };
                let refusal = format!(
                    r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><{op}Response xmlns="http://www.peoplevox.net/"><{op}Result><ResponseId>-1</ResponseId><TotalCount>0</TotalCount><Detail>Invalid callback URL: {url}</Detail></{op}Result></{op}Response></soap:Body></soap:Envelope>"#
                );
                return Response::builder()
                    .header("content-type", "text/xml; charset=utf-8")
                    .body(Body::from(refusal))
                    .unwrap();
            }
            let mut forward = reqwest::Client::new()
                .request(parts.method.clone(), format!("{upstream}{}", parts.uri));
            for name in ["content-type", "soapaction"] {
                if let Some(value) = parts.headers.get(name) {
                    forward = forward.header(name, value.to_str().unwrap());
                }
            }
            let answer = forward.body(body).send().await.unwrap();
            let status = answer.status();
            let content_type = answer
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            Response::builder()
                .status(status)
                .header("content-type", content_type)
                .body(Body::from(answer.bytes().await.unwrap()))
                .unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(proxy))
            .await
            .unwrap();
    });
    format!("http://{addr}{path}")
}

/// Peoplevox refuses a subscription and quotes back the callback URL, token included. ctpvx
/// logs the failure (its own line, not the simulator's) and reports it, and neither the log
/// nor the report carries the token. (Single-threaded runtime: every task the test spawns
/// logs to this thread's subscriber.)
#[tokio::test]
async fn a_failed_callback_subscription_is_logged_by_ctpvx_without_the_callback_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let bed = ctpvx_tests::testbed(&["SKU-0001".to_string()]).await;
    let store = ctpvx_tests::store();
    let mut settings = ctpvx_shared::app::pvx_settings(&bed.config, &bed.secrets);
    settings.endpoint = peoplevox_refusing_subscriptions(bed.pvx.endpoint()).await;
    let pvx = ctpvx_shared::peoplevox::PvxClient::new(settings, store.clone()).unwrap();
    let refused = ctpvx_infra::testbed::subscribe_rules(
        &pvx,
        "http://127.0.0.1:9",
        DEMO_CALLBACK_TOKEN,
        &ctpvx_infra::testbed::no_subscriptions(),
        &["UK-DC".to_string()],
    )
    .await
    .expect_err("Peoplevox refused the subscription");
    assert!(bed.pvx.subscriptions().is_empty());

    // What `ctpvx subscribe` prints: the refusal, its quote redacted.
    let report = refused.to_string();
    assert!(
        report.contains("Peoplevox refused the subscription")
            && report.contains("/webhooks/peoplevox/<token>/"),
        "{report}"
    );
    assert!(!report.contains(DEMO_CALLBACK_TOKEN), "{report}");

    let logs = captured.text();
    let ours: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(" ctpvx_shared::"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("Peoplevox subscription failed")
                && l.contains("WARN")
                && l.contains("/webhooks/peoplevox/<token>/")),
        "ctpvx logs the failure: {logs}"
    );
    assert!(
        !logs.contains(DEMO_CALLBACK_TOKEN),
        "the callback token is in the logs:\n{}",
        logs.lines()
            .filter(|l| l.contains(DEMO_CALLBACK_TOKEN))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 6. IAM in template.yaml
// ---------------------------------------------------------------------------------------------

use yaml_rust2::{Yaml, YamlLoader};

/// Actions that AWS authorises only on `Resource: "*"` (no resource-level permissions); a
/// statement may grant them on `*`, and nothing else.
const STAR_RESOURCE_ACTIONS: &[&str] = &[
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

/// An IAM policy statement found in the template, with where it is.
#[derive(Debug)]
struct Statement {
    at: String,
    effect: String,
    actions: Vec<String>,
    not_actions: bool,
    resources: Vec<String>,
    not_resources: bool,
    principals: Vec<String>,
}

/// A scalar or a list of scalars as strings (`!Ref X` / `!GetAtt X.Arn` read as `X` /
/// `X.Arn`: the parser keeps the value and drops the tag).
fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => vec![s.clone()],
        Yaml::Integer(i) => vec![i.to_string()],
        Yaml::Boolean(b) => vec![b.to_string()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        Yaml::Hash(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Every mapping with an `Effect` and an `Action` or `NotAction` anywhere in the document:
/// inline policies, role and managed policies, resource policies.
fn statements(value: &Yaml, at: &str, found: &mut Vec<Statement>) {
    match value {
        Yaml::Hash(map) => {
            let get = |key: &str| map.get(&Yaml::String(key.into()));
            if let Some(effect) = get("Effect")
                && (get("Action").is_some() || get("NotAction").is_some())
            {
                found.push(Statement {
                    at: at.to_string(),
                    effect: strings(effect).join(","),
                    actions: get("Action")
                        .or(get("NotAction"))
                        .map(strings)
                        .unwrap_or_default(),
                    not_actions: get("NotAction").is_some(),
                    resources: get("Resource")
                        .or(get("NotResource"))
                        .map(strings)
                        .unwrap_or_default(),
                    not_resources: get("NotResource").is_some(),
                    principals: get("Principal").map(strings).unwrap_or_default(),
                });
            }
            for (key, child) in map {
                let key = strings(key).join("");
                statements(child, &format!("{at}.{key}"), found);
            }
        }
        Yaml::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                statements(child, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    let mut docs = YamlLoader::load_from_str(&text).expect("template.yaml parses");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

#[test]
fn no_iam_statement_allows_everything() {
    let template = template();
    let resources = template["Resources"]
        .as_hash()
        .expect("template.yaml has Resources");
    let functions: Vec<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, _)| name.as_str().unwrap_or("").to_string())
        .collect();
    assert!(functions.len() >= 6, "{functions:?}");
    let mut found = Vec::new();
    statements(&template, "", &mut found);
    // Each function's own policy is among them, so an unparsed template cannot pass.
    for function in &functions {
        let own = found
            .iter()
            .filter(|s| s.at.starts_with(&format!(".Resources.{function}.")))
            .count();
        assert!(own >= 1, "{function} has no policy statement");
    }

    let problems = iam_problems(&found, &template);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What no template may grant.
fn iam_problems(found: &[Statement], template: &Yaml) -> Vec<String> {
    let wildcard = |action: &str| action == "*" || action.ends_with(":*");
    let mut problems = Vec::new();
    for s in found {
        let allow = s.effect == "Allow";
        let star_resource = s.resources.iter().any(|r| r == "*");
        let star_principal = s.principals.iter().any(|p| p == "*");
        if allow && s.actions.iter().any(|a| a == "*") {
            problems.push(format!("{}: Allow with Action *", s.at));
        }
        if allow && star_resource && s.actions.iter().any(|a| wildcard(a)) {
            problems.push(format!("{}: Allow {:?} on Resource *", s.at, s.actions));
        }
        if allow && (s.not_actions || s.not_resources) {
            problems.push(format!("{}: Allow with NotAction/NotResource", s.at));
        }
        if allow && star_principal {
            problems.push(format!("{}: Allow to Principal *", s.at));
        }
        if s.actions.is_empty() || s.resources.is_empty() {
            problems.push(format!(
                "{}: a statement without actions or resources",
                s.at
            ));
        }
        // `Resource: *` only for the actions that cannot be scoped.
        if allow && star_resource {
            let unscoped: Vec<_> = s
                .actions
                .iter()
                .filter(|a| !STAR_RESOURCE_ACTIONS.contains(&a.as_str()))
                .collect();
            if !unscoped.is_empty() {
                problems.push(format!("{}: {unscoped:?} on Resource *", s.at));
            }
        }
    }
    // Managed policies that grant everything, by ARN or by the name SAM accepts in Policies.
    for (at, value) in managed_policies(template) {
        for broad in ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"] {
            if value.ends_with(broad) {
                problems.push(format!("{at}: managed policy {value}"));
            }
        }
    }
    problems
}

/// The check itself finds what it forbids, and lets `cloudwatch:PutMetricData` on `*` through.
#[test]
fn the_iam_check_finds_what_it_forbids() {
    let bad = r#"
Resources:
  Bad:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - AdministratorAccess
        - Statement:
            - Effect: Allow
              Action: "*"
              Resource: !Ref Something
            - Effect: Allow
              Action: [dynamodb:*]
              Resource: "*"
            - Effect: Allow
              Action: s3:GetObject
              Resource: "*"
            - Effect: Allow
              NotAction: iam:*
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: cloudwatch:PutMetricData
              Resource: "*"
  Role:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [arn:aws:iam::aws:policy/PowerUserAccess]
  OpenQueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
"#;
    let template = YamlLoader::load_from_str(bad).unwrap().remove(0);
    let mut found = Vec::new();
    statements(&template, "", &mut found);
    assert_eq!(found.len(), 6, "{found:?}");
    let problems = iam_problems(&found, &template).join("\n");
    let policy = ".Resources.Bad.Properties.Policies[1].Statement";
    for expected in [
        format!("{policy}[0]: Allow with Action *"),
        format!("{policy}[1]: Allow [\"dynamodb:*\"] on Resource *"),
        format!("{policy}[2]: [\"s3:GetObject\"] on Resource *"),
        format!("{policy}[3]: Allow with NotAction/NotResource"),
        "Bad: managed policy AdministratorAccess".to_string(),
        "Role: managed policy arn:aws:iam::aws:policy/PowerUserAccess".to_string(),
        "OpenQueuePolicy.Properties.PolicyDocument.Statement[0]: Allow to Principal *".to_string(),
    ] {
        assert!(
            problems.contains(&expected),
            "{expected} not in:\n{problems}"
        );
    }
    assert!(!problems.contains(&format!("{policy}[4]")), "{problems}");
}

/// `ManagedPolicyArns` entries and the plain names in SAM `Policies` lists.
fn managed_policies(template: &Yaml) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Some(resources) = template["Resources"].as_hash() else {
        return found;
    };
    for (name, resource) in resources {
        let name = name.as_str().unwrap_or("");
        let properties = &resource["Properties"];
        for value in strings(&properties["ManagedPolicyArns"]) {
            found.push((name.to_string(), value));
        }
        if let Some(policies) = properties["Policies"].as_vec() {
            for policy in policies {
                if let Some(managed) = policy.as_str() {
                    found.push((name.to_string(), managed.to_string()));
                }
            }
        }
    }
    found
}
