//! The operator console in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver), as an operator would click through it. `infra/dev/test-all.sh` installs both
//! packages when they are missing; without them these tests fail and say so.
//!
//! The expectations come from elsewhere than the console's code: the demo's own JSON summary
//! (read from the simulated systems), the store read through its traits, and the simulated
//! Peoplevox's record of imports. Each page is also saved as a PNG under
//! `target/console-screenshots/` for a person to look at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpvx_infra::console::{self, Console};
use ctpvx_infra::local::{LocalStack, StackOptions};
use ctpvx_infra::scenario;
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::flows::order_export::{OrderLink, load_link};
use ctpvx_shared::flows::stock_delta::{site_entity, sku_entity};
use ctpvx_shared::queues::ORDERS_DLQ;
use ctpvx_shared::store::{AuditEntry, AuditLog, now_epoch_ms};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port`.
async fn listening(port: u16, what: &str) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not listen on {port} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium under chromedriver, with a fresh profile.
struct Browser {
    client: Client,
    _driver: Killed,
    _profile: PathBuf,
    shots: PathBuf,
}

impl Browser {
    async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: install Debian's chromium and chromium-driver packages (infra/dev/test-all.sh does)"
            );
        }
        let port = free_port();
        let driver = Killed(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting chromedriver"),
        );
        listening(port, "chromedriver").await;
        let profile = std::env::temp_dir().join(format!("ctpvx-chromium-{}", uuid::Uuid::new_v4()));
        // The flags a closed network needs (no background connections, no updates, no sync),
        // and a new empty profile.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1800",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let client = ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        std::fs::create_dir_all(&shots).expect("the screenshot directory");
        Self {
            client,
            _driver: driver,
            _profile: profile,
            shots,
        }
    }

    /// The element, waited for: a click that submits a form returns before the next page is
    /// in, so every look at a page waits for what it expects there.
    async fn el(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                let page = self.client.source().await.unwrap_or_default();
                panic!("no {css} on the page: {e}\n{page}");
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.el(css).await.text().await.expect("its text")
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("saving it");
    }

    async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

fn ctpvx() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctpvx"))
}

/// `ctpvx demo --store F` then `ctpvx console --store F`, as a person runs them: the overview
/// shows the held order and its reason, an order's timeline shows its export, despatch and
/// status, and the stock page a SKU's trail.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_what_a_demo_run_left() {
    let dir = std::env::temp_dir().join(format!("ctpvx-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store_path = dir.join("store.sqlite3");
    let demo = ctpvx()
        .args([
            "demo",
            "--orders",
            "24",
            "--movements",
            "200",
            "--json",
            "--store",
        ])
        .arg(&store_path)
        .output()
        .expect("running ctpvx demo");
    assert!(
        demo.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let summary: Value = serde_json::from_slice(&demo.stdout).expect("the demo's JSON summary");
    // The demo holds an order with an invalid address; its summary reads why from the link.
    let held = summary["orders"]["held_orders"]
        .as_array()
        .and_then(|h| h.first())
        .cloned()
        .expect("the demo left a held order");
    let (held_number, held_reason) = (
        held["order"].as_str().unwrap().to_string(),
        held["reason"].as_str().unwrap().to_string(),
    );

    // What to look for, read from the store through its traits: an order with an export, a
    // delivery and a status, and a SKU with movements at UK-DC.
    let store = EmbeddedStore::open(&store_path).unwrap();
    let mut storied = None;
    for i in 3..24 {
        let id = scenario::order_id(i);
        let flows: Vec<String> = store
            .list(&format!("order#{id}"), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}/{}", e.flow, e.outcome))
            .collect();
        let has = |p: &str| flows.iter().any(|f| f.starts_with(p));
        if has("order-export/exported") && has("shipment-confirmed/") && has("order-status/") {
            storied = Some((scenario::order_number(i), flows));
            break;
        }
    }
    let (number, story) = storied.expect("a demo order was exported, despatched and moved on");
    let movement: AuditEntry = store
        .list(&site_entity("UK-DC"), 1)
        .await
        .unwrap()
        .pop()
        .expect("movements at UK-DC");
    let sku = movement.detail["sku"].as_str().unwrap().to_string();
    let trail = store.list(&sku_entity(&sku, "UK-DC"), 1000).await.unwrap();
    let newest_set = trail.last().unwrap().detail["new"].to_string();

    let port = free_port();
    let _console = Killed(
        ctpvx()
            .args([
                "console",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--store",
            ])
            .arg(&store_path)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting ctpvx console"),
    );
    listening(port, "ctpvx console").await;
    let base = format!("http://127.0.0.1:{port}");
    let browser = Browser::start().await;
    let b = &browser.client;

    // Overview: the held order and its reason, under what needs a person.
    b.goto(&format!("{base}/")).await.unwrap();
    let attention = browser.text("#attention").await;
    assert!(attention.contains("held"), "{attention}");
    let held_table = browser.text("#held").await;
    assert!(
        held_table.contains(&held_number) && held_table.contains(&held_reason),
        "overview lacks held order {held_number} ({held_reason}):\n{held_table}"
    );
    let flows = browser.text("#flows").await;
    assert!(
        flows.contains("Orders out") && flows.contains("Stock back"),
        "{flows}"
    );
    browser.shot("overview").await;

    // Held orders, with retry offered.
    b.goto(&format!("{base}/held")).await.unwrap();
    assert!(browser.text("#held").await.contains(&held_reason));
    browser.shot("held").await;

    // An order's story, found by its number as a person types it.
    b.goto(&format!("{base}/orders")).await.unwrap();
    browser.el("#q").await.send_keys(&number).await.unwrap();
    browser.el("#search").await.click().await.unwrap();
    let timeline = browser.el("#timeline").await;
    let events = timeline.find_all(Locator::Css("li")).await.unwrap();
    assert_eq!(
        events.len(),
        story.len(),
        "every recorded event is on the timeline"
    );
    for (flow, outcome) in [
        ("order-export", "exported"),
        ("shipment-confirmed", "delivered"),
    ] {
        let css = format!("li[data-flow='{flow}'][data-outcome='{outcome}']");
        assert!(
            !timeline
                .find_all(Locator::Css(&css))
                .await
                .unwrap()
                .is_empty(),
            "no {flow} {outcome} in the timeline of {number}"
        );
    }
    assert!(
        !timeline
            .find_all(Locator::Css("li[data-flow='order-status']"))
            .await
            .unwrap()
            .is_empty(),
        "no status in the timeline of {number}"
    );
    assert!(browser.text("#state").await.contains("in Peoplevox as"));
    browser.shot("order").await;

    // A SKU's trail at a site.
    b.goto(&format!("{base}/stock")).await.unwrap();
    browser.el("#sku").await.send_keys(&sku).await.unwrap();
    browser.el("#site").await.send_keys("UK-DC").await.unwrap();
    browser.el("#show-stock").await.click().await.unwrap();
    let rows = browser
        .el("#trail")
        .await
        .find_all(Locator::Css("tr"))
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        trail.len().min(200) + 1,
        "one row per movement, and the header"
    );
    let set_to = rows[1]
        .find(Locator::Css("td:nth-child(4)"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(set_to, newest_set, "the newest movement's \"Set to\"");
    assert!(browser.text("#ledger").await.contains("from"));
    browser.shot("stock").await;

    b.goto(&format!("{base}/dead-letters?queue=orders"))
        .await
        .unwrap();
    assert!(
        browser
            .text("#no-messages")
            .await
            .contains("Nothing is parked")
    );
    browser.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A message parked in the orders dead-letter queue is listed with its reason and a masked
/// body, previewed (what the export will do), redriven, and then exported by the running
/// workers; the console's own retry and token rules hold.
#[tokio::test(flavor = "multi_thread")]
async fn a_parked_order_is_previewed_redriven_and_exported() {
    let catalog = scenario::catalog(5);
    let bed = Testbed::start(TestbedOptions {
        items: catalog.clone(),
        ..TestbedOptions::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ctpvx-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = EmbeddedStore::open(dir.join("store.sqlite3")).unwrap();
    let stack = LocalStack::start(
        &bed.config,
        &bed.secrets,
        store.clone(),
        StackOptions::default(),
    )
    .await
    .unwrap();

    // An order commercetools has, whose message a flow parked (as `settle` parks one: the
    // reason, flow and source id as attributes, and an audit entry).
    let order = bed.order(1, &catalog);
    let (order_id, number) = (
        order["id"].as_str().unwrap().to_string(),
        order["orderNumber"].as_str().unwrap().to_string(),
    );
    let email = order["customerEmail"].as_str().unwrap().to_string();
    bed.ct.insert_order_json(order.clone()).unwrap();
    let body = scenario::platform_message(&order, "m-parked");
    let reason = "Peoplevox answered 503 (given up after 5 receives and 3 re-queues)";
    let attributes = BTreeMap::from([
        ("ctpvx-reason".to_string(), reason.to_string()),
        ("ctpvx-flow".to_string(), "order-export".to_string()),
        (
            "ctpvx-source-message-id".to_string(),
            "m-parked".to_string(),
        ),
    ]);
    let parked_id = stack
        .queue
        .send(ORDERS_DLQ, &body, &attributes)
        .await
        .unwrap();
    stack
        .stores
        .audit
        .append(&AuditEntry {
            entity: "message#m-parked".into(),
            at_ms: now_epoch_ms() - 120_000,
            flow: "order-export".into(),
            outcome: "dead-lettered".into(),
            reason: Some(reason.into()),
            detail: serde_json::json!({ "queue": ORDERS_DLQ }),
        })
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(console::serve(
        Console {
            stores: stack.stores.clone(),
            queue: Arc::clone(&stack.queue),
            label: "test".into(),
            read_only: false,
            sites: Vec::new(),
            budget: None,
            merchant_center: Some("https://mc.example/shop/orders/{id}".into()),
            csrf: console::csrf_token(),
        },
        listener,
        async {
            let _ = stopped.await;
        },
    ));

    // An action without the page's token, or addressed to another host, is refused.
    let http = reqwest::Client::new();
    let forged = http
        .post(format!("{base}/dead-letters/redrive"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("queue=orders&id={parked_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let rebound = http
        .get(format!("{base}/"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&format!("{base}/dead-letters?queue=orders"))
        .await
        .unwrap();
    let row = browser
        .text(&format!("tr[data-message='{parked_id}']"))
        .await;
    // Parked two minutes ago (or a little more on a slow machine).
    assert!(row.contains(reason) && row.contains(" min"), "{row}");
    // The body as shown is JSON again: the address's and the email's values masked, the ids
    // kept.
    let shown = browser
        .el(&format!("tr[data-message='{parked_id}'] + tr pre.body"))
        .await
        .html(true)
        .await
        .unwrap()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let shown: Value = serde_json::from_str(&shown).expect("the masked body is JSON");
    let embedded = &shown["order"];
    assert_eq!(embedded["orderNumber"], number.as_str(), "{shown}");
    assert!(
        embedded["customerEmail"]
            .as_str()
            .is_some_and(|e| e.starts_with("•••")),
        "{shown}"
    );
    let address = embedded["shippingAddress"].as_object().expect("an address");
    assert!(!address.is_empty());
    for (field, value) in address {
        assert!(
            !value.is_string() || value.as_str().unwrap().starts_with("•••"),
            "shippingAddress.{field} shown: {value}"
        );
    }
    let page = b.source().await.unwrap();
    assert!(!page.contains(&email), "the page shows {email}");
    browser.shot("dead-letters").await;

    browser
        .el(&format!("input[value='{parked_id}']"))
        .await
        .click()
        .await
        .unwrap();
    browser.el("#preview").await.click().await.unwrap();
    let plan = browser.text("#plan").await;
    assert!(
        plan.contains(&order_id) && plan.contains("has not reached Peoplevox"),
        "{plan}"
    );
    assert_eq!(
        bed.pvx.header_imports(&number),
        0,
        "a preview sends nothing"
    );
    browser.shot("redrive-preview").await;

    browser.el("#redrive").await.click().await.unwrap();
    assert!(
        browser
            .text("#notice")
            .await
            .contains("1 message(s) sent back to orders")
    );
    browser.shot("redriven").await;

    // The workers export it.
    let start = Instant::now();
    loop {
        let link = load_link(stack.stores.state.as_ref(), &order_id)
            .await
            .unwrap();
        if matches!(link, Some(OrderLink::Exported { .. })) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the redriven order was not exported: {link:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(bed.pvx.header_imports(&number), 1, "in Peoplevox once");
    assert_eq!(
        stack.queue.depth(ORDERS_DLQ).await.unwrap().visible,
        0,
        "nothing left parked"
    );
    b.goto(&format!("{base}/orders?q={number}")).await.unwrap();
    let timeline = browser.text("#timeline").await;
    assert!(timeline.contains("exported"), "{timeline}");
    let mc = b
        .find(Locator::Css("#merchant-center"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(
        mc.as_deref(),
        Some(format!("https://mc.example/shop/orders/{order_id}").as_str())
    );

    browser.close().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    stack.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
