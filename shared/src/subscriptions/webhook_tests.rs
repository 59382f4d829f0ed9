//! Every callback URL `ctpvx subscribe` registers, filled in the way Peoplevox fills it (values
//! percent-encoded where `encodeParameterData` is true, raw where it is not), is accepted by
//! the webhook and lands on the right queue with its values intact: GET with the placeholders
//! in the URL, and POST with them in a form body. A callback that lacks a value the flow can
//! live without is accepted and counted; one without its key is refused, naming it.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::config::{Secrets, SubscriptionRules, WebhookConfig};
use crate::embedded::{EmbeddedStore, QueueSpec};
use crate::peoplevox::wsdl::ServiceDescription;
use crate::queues::{SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::store::Queue;
use crate::webhook::{CallbackStats, WebhookRequest, Webhooks};

use super::desired::{DesiredSubscription, desired_from};
use super::events::Family;

const TOKEN: &str = "callback-token-0123456789-abcdefghijklmnop";

/// A SKU that holds every character a URL treats specially.
const HARD_SKU: &str = "A+B&C/D E%";

/// A value for every placeholder ctpvx may subscribe with (a new placeholder without one here
/// stays unfilled, and the test notices).
const SAMPLES: &[(&str, &str)] = &[
    ("ItemCode", HARD_SKU),
    ("Available", "12.00"),
    ("ItemType.ItemCode", "SKU-2"),
    ("QuantityChanged", "-3"),
    ("UpdateTimestamp", "2026-11-26T10:00:00"),
    ("Reason", "Goods in & count"),
    ("DespatchNumber", "DSP-000001"),
    ("Picks.SalesOrder.SalesOrderNumber", "D0000001"),
    ("TrackingNumber", "TRK 1"),
    ("Carrier.Number", "DPD"),
    ("ServiceType.Code", "NEXT+1"),
    ("ServiceType.Name", "Next Day / 1pm"),
    ("PackageNumber", "1"),
    ("SalesOrderNumber", "D0000001"),
    ("SalesOrderStatu.Name", "Partially despatched"),
    ("LastModificationTime", "26/11/2026 10:00:00"),
    ("OnHold", "False"),
    ("ReturnCode", "RET-1"),
];

/// Fills `{Name}` as Peoplevox does, values encoded by `encode`.
fn fill(template: &str, encode: impl Fn(&str) -> String) -> String {
    let mut out = template.to_string();
    for (name, value) in SAMPLES {
        out = out.replace(&format!("{{{name}}}"), &encode(value));
    }
    out
}

fn percent(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn raw(value: &str) -> String {
    value.to_string()
}

async fn hooks() -> (Webhooks, std::sync::Arc<EmbeddedStore>) {
    let store = EmbeddedStore::in_memory().unwrap();
    for queue in [STOCK_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE] {
        store.declare_queue(queue, QueueSpec::default()).unwrap();
    }
    let secrets: BTreeMap<String, SecretString> = [
        ("ct_client_secret", "x"),
        ("pvx_password", "x"),
        ("webhook_token", TOKEN),
        ("pvx_callback_token", TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
    .collect();
    let secrets = Secrets::from_map(&secrets).unwrap();
    let queue: std::sync::Arc<dyn Queue> = store.clone();
    (
        Webhooks::new(queue, &secrets, &WebhookConfig::default()),
        store,
    )
}

fn queue_of(want: &DesiredSubscription) -> &'static str {
    match want.spec.family {
        Family::Stock => STOCK_QUEUE,
        Family::Status => STATUS_QUEUE,
        Family::Shipment => SHIPMENTS_QUEUE,
    }
}

/// Sends one callback of `want`, filled as Peoplevox would, and returns the status and the
/// message it enqueued.
async fn call(
    hooks: &Webhooks,
    store: &EmbeddedStore,
    want: &DesiredSubscription,
    values: &[(&str, &str)],
) -> (u16, Option<serde_json::Value>) {
    let encode = if want.callback.encoded() {
        percent
    } else {
        raw
    };
    call_encoded(hooks, store, want, values, encode).await
}

/// [`call`] with the tenant encoding values with `encode`, whatever the subscription asked.
async fn call_encoded(
    hooks: &Webhooks,
    store: &EmbeddedStore,
    want: &DesiredSubscription,
    values: &[(&str, &str)],
    encode: fn(&str) -> String,
) -> (u16, Option<serde_json::Value>) {
    let token = SecretString::from(TOKEN.to_string());
    let request = want.callback.request(&token);
    let filled = |template: &str| {
        let mut out = template.to_string();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), &encode(value));
        }
        out
    };
    // The URL as an HTTP client sends it: what it cannot carry raw, it escapes.
    let url = reqwest::Url::parse(&filled(request.url.expose_secret())).unwrap();
    let body = request
        .post_params
        .as_deref()
        .map(filled)
        .unwrap_or_default();
    let answer = hooks
        .handle(WebhookRequest {
            method: want.callback.method(),
            path: url.path(),
            query: url.query(),
            authorization: None,
            content_type: want
                .callback
                .post
                .then_some("application/x-www-form-urlencoded"),
            body: body.as_bytes(),
        })
        .await;
    let queue = queue_of(want);
    let got = store
        .receive(queue, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let message = got.first().map(|m| serde_json::from_str(&m.body).unwrap());
    for m in got {
        store.delete(queue, &m.receipt).await.unwrap();
    }
    (answer.status, message)
}

fn everything(post: bool, encode: bool) -> SubscriptionRules {
    SubscriptionRules {
        incremental_sites: vec!["UK DC".into()],
        package_events: true,
        returns: true,
        post,
        encode_parameter_data: encode,
        ..SubscriptionRules::default()
    }
}

async fn every_url_is_accepted(rules: SubscriptionRules, wsdl: ServiceDescription) {
    let (hooks, store) = hooks().await;
    let sites = vec!["UK DC".to_string()];
    let all = desired_from(&rules, &sites, "https://hooks.example.com", &wsdl);
    assert_eq!(all.len(), 7);
    for want in &all {
        let (status, message) = call(&hooks, &store, want, SAMPLES).await;
        assert_eq!(status, 202, "{}", want.name);
        let message = message.unwrap();
        let site_bound = want.site.is_some();
        match want.spec.event {
            "availability" if site_bound => {
                assert_eq!(message["kind"], "available", "{message}");
                assert_eq!(message["site"], "UK DC");
                assert_eq!(message["item"], HARD_SKU);
                assert_eq!(message["available"], 12);
            }
            "availability" => {
                assert_eq!(message["kind"], "changed", "{message}");
                assert_eq!(message["item"], HARD_SKU);
            }
            "incremental" if site_bound => {
                assert_eq!(message["site"], "UK DC");
                assert_eq!(message["reason"], "Goods in & count");
            }
            "status" => assert_eq!(message["status"], "Partially despatched"),
            "tracking" => {
                assert_eq!(message["tracking"], "TRK 1");
                assert_eq!(message["carrier"], "DPD");
                assert_eq!(message["serviceCode"], "NEXT+1");
                assert_eq!(message["service"], "Next Day / 1pm");
            }
            _ => {}
        }
    }
    let stats = hooks.callback_stats();
    // Raw values with a space arrive escaped by the client, so they are read with doubt; none
    // is refused, left unfilled or unreadable.
    assert_eq!(
        CallbackStats {
            ambiguous: 0,
            ..stats
        },
        CallbackStats::default(),
        "{stats:?}"
    );
}

#[tokio::test]
async fn every_get_callback_url_is_accepted_encoded_with_sites_filters() {
    every_url_is_accepted(
        everything(false, true),
        ServiceDescription::with_sites_filters(),
    )
    .await;
}

#[tokio::test]
async fn every_get_callback_url_is_accepted_raw_on_the_2017_wsdl() {
    every_url_is_accepted(
        everything(false, true),
        ServiceDescription::assumed_2017("test"),
    )
    .await;
}

#[tokio::test]
async fn every_post_callback_is_accepted_encoded_and_raw() {
    every_url_is_accepted(
        everything(true, true),
        ServiceDescription::with_sites_filters(),
    )
    .await;
    every_url_is_accepted(
        everything(true, false),
        ServiceDescription::with_sites_filters(),
    )
    .await;
}

fn status_subscription(
    rules: &SubscriptionRules,
    wsdl: &ServiceDescription,
) -> DesiredSubscription {
    desired_from(rules, &[], "https://hooks.example.com", wsdl)
        .into_iter()
        .find(|d| d.spec.event == "status")
        .unwrap()
}

#[tokio::test]
async fn status_callbacks_of_the_default_registration_are_accepted() {
    // What b56e33d registered and refused alike; now `{SalesOrderStatu.Name}` is registered
    // and read.
    let (hooks, store) = hooks().await;
    for wsdl in [
        ServiceDescription::with_sites_filters(),
        ServiceDescription::assumed_2017("test"),
    ] {
        let want = status_subscription(&SubscriptionRules::default(), &wsdl);
        assert!(
            want.callback
                .redacted()
                .contains("status={SalesOrderStatu.Name}")
        );
        let (status, message) = call(&hooks, &store, &want, SAMPLES).await;
        assert_eq!(status, 202);
        let message = message.unwrap();
        assert_eq!(message["order"], "D0000001");
        assert_eq!(message["status"], "Partially despatched");
    }
}

#[tokio::test]
async fn a_status_callback_with_its_status_and_hold_unfilled_is_accepted_and_counted() {
    let (hooks, store) = hooks().await;
    let rules: SubscriptionRules = toml::from_str(
        "[parameters.status]\nstatus = \"{SalesOrderStatus.Name}\"\nonhold = \"{OnHold}\"\n",
    )
    .unwrap();
    let want = status_subscription(&rules, &ServiceDescription::with_sites_filters());
    // The tenant knows neither `{SalesOrderStatus.Name}` nor `{OnHold}`: both stay as written.
    let only_number = [("SalesOrderNumber", "D0000001")];
    let (status, message) = call(&hooks, &store, &want, &only_number).await;
    assert_eq!(status, 202);
    let message = message.unwrap();
    assert_eq!(message["order"], "D0000001");
    assert!(
        message.get("status").is_none() && message.get("onHold").is_none(),
        "{message}"
    );
    let stats = hooks.callback_stats();
    // status, onhold and modified were all left unfilled.
    assert_eq!((stats.unfilled, stats.refused), (3, 0));
}

#[tokio::test]
async fn a_callback_without_its_key_is_refused_naming_it_and_counted() {
    let (hooks, store) = hooks().await;
    let wsdl = ServiceDescription::with_sites_filters();
    let all = desired_from(
        &everything(false, true),
        &["S".into()],
        "https://h.example",
        &wsdl,
    );
    let mut refused = 0;
    for (event, key) in [
        ("availability", "`item`"),
        ("tracking", "`despatch`"),
        ("status", "`order`"),
        ("returns", "`order`"),
    ] {
        let want = all.iter().find(|d| d.spec.event == event).unwrap();
        let token = SecretString::from(TOKEN.to_string());
        // Nothing filled in: the key stays `{…}`.
        let url = reqwest::Url::parse(want.callback.request(&token).url.expose_secret()).unwrap();
        let answer = hooks
            .handle(WebhookRequest {
                method: "GET",
                path: url.path(),
                query: url.query(),
                authorization: None,
                content_type: None,
                body: b"",
            })
            .await;
        refused += 1;
        assert_eq!(answer.status, 400, "{event}");
        assert!(answer.body.contains(key), "{event}: {}", answer.body);
        assert!(
            answer.body.contains("placeholder"),
            "{event}: {}",
            answer.body
        );
        assert!(
            store
                .receive(queue_of(want), 10, Duration::from_secs(1))
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(hooks.callback_stats().refused, refused);
}

#[tokio::test]
async fn a_raw_callback_cut_short_by_a_hash_is_refused_not_misread() {
    let (hooks, store) = hooks().await;
    let rules = SubscriptionRules::default();
    let wsdl = ServiceDescription::assumed_2017("test");
    let want = desired_from(&rules, &["S".into()], "https://h.example", &wsdl)
        .into_iter()
        .find(|d| d.spec.event == "availability")
        .unwrap();
    let (status, message) = call(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "A#B"), ("Available", "3")],
    )
    .await;
    assert_eq!((status, message), (400, None));
    // Encoded, the same SKU arrives whole.
    let wsdl = ServiceDescription::with_sites_filters();
    let want = desired_from(&rules, &["S".into()], "https://h.example", &wsdl)
        .into_iter()
        .find(|d| d.spec.event == "availability")
        .unwrap();
    let (status, message) = call(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "A#B %41"), ("Available", "3")],
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(message.unwrap()["item"], "A#B %41");
}

#[tokio::test]
async fn a_raw_item_code_read_with_doubt_never_carries_a_figure() {
    // Raw, with a sites filter: `%20` may be a space the client escaped or the SKU's own text.
    let (hooks, store) = hooks().await;
    let rules = SubscriptionRules {
        encode_parameter_data: false,
        ..SubscriptionRules::default()
    };
    let wsdl = ServiceDescription::with_sites_filters();
    let want = desired_from(&rules, &["S".into()], "https://h.example", &wsdl)
        .into_iter()
        .find(|d| d.spec.event == "availability")
        .unwrap();
    let (status, message) = call(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "A B"), ("Available", "3")],
    )
    .await;
    assert_eq!(status, 202);
    let message = message.unwrap();
    assert_eq!(message["kind"], "changed", "{message}");
    assert_eq!(
        (message["item"].as_str(), message["site"].as_str()),
        (Some("A B"), Some("S"))
    );
    assert_eq!(hooks.callback_stats().ambiguous, 1);
    // Without an escape, the figure stands.
    let (_, message) = call(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "A+B&C/D"), ("Available", "3")],
    )
    .await;
    let message = message.unwrap();
    assert_eq!(
        (message["kind"].as_str(), message["item"].as_str()),
        (Some("available"), Some("A+B&C/D"))
    );
}

#[tokio::test]
async fn a_callback_with_another_token_is_refused() {
    let (hooks, _store) = hooks().await;
    let all = desired_from(
        &SubscriptionRules::default(),
        &["A".to_string()],
        "https://hooks.example.com",
        &ServiceDescription::with_sites_filters(),
    );
    let other = SecretString::from(format!("{TOKEN}-rotated"));
    let url = fill(all[0].callback.request(&other).url.expose_secret(), percent);
    let url = reqwest::Url::parse(&url).unwrap();
    let answer = hooks
        .handle(WebhookRequest {
            method: "GET",
            path: url.path(),
            query: url.query(),
            authorization: None,
            content_type: None,
            body: b"",
        })
        .await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn a_plus_in_an_encoded_item_code_never_carries_a_figure() {
    // A tenant that declares encodeParameterData yet substitutes raw (UNCONFIRMED what it
    // does): `PACK+2` arrives as `PACK 2` under form decoding, so it is only re-read.
    let (hooks, store) = hooks().await;
    let wsdl = ServiceDescription::with_sites_filters();
    let want = desired_from(
        &SubscriptionRules::default(),
        &["S".into()],
        "https://h.example",
        &wsdl,
    )
    .into_iter()
    .find(|d| d.spec.event == "availability")
    .unwrap();
    assert!(want.callback.encoded());
    let (status, message) = call_encoded(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "PACK+2"), ("Available", "3")],
        raw,
    )
    .await;
    assert_eq!(status, 202);
    let message = message.unwrap();
    assert_eq!(message["kind"], "changed", "{message}");
    assert_eq!(message["item"], "PACK 2");
    // Encoded properly (`%2B`), the figure stands.
    let (_, message) = call(
        &hooks,
        &store,
        &want,
        &[("ItemCode", "PACK+2"), ("Available", "3")],
    )
    .await;
    let message = message.unwrap();
    assert_eq!(
        (message["kind"].as_str(), message["item"].as_str()),
        (Some("available"), Some("PACK+2"))
    );
}

/// A request refused before its parameters are read (wrong token, unknown event, method,
/// size) is counted, apart from the 400s, and its metric line counts one `CallbacksRefused`
/// and one of its kind: a token rotation Peoplevox's subscriptions missed shows there.
#[tokio::test]
async fn a_callback_refused_before_its_parameters_is_counted_and_measured() {
    use crate::webhook::peoplevox::{Rejection, rejection_line};

    let (hooks, store) = hooks().await;
    let big = vec![b'x'; WebhookConfig::default().max_body_bytes + 1];
    let wrong = format!(
        "/webhooks/peoplevox/{}/availability",
        "w".repeat(TOKEN.len())
    );
    let unknown = format!("/webhooks/peoplevox/{TOKEN}/no-such-event");
    let right = format!("/webhooks/peoplevox/{TOKEN}/availability");
    for (method, path, body, status) in [
        ("GET", wrong.as_str(), &b""[..], 401),
        ("GET", unknown.as_str(), &b""[..], 404),
        ("PUT", right.as_str(), &b""[..], 405),
        ("POST", right.as_str(), &big[..], 413),
    ] {
        let answer = hooks
            .handle(WebhookRequest {
                method,
                path,
                query: Some("item=SKU-1&available=1&enc=1"),
                authorization: None,
                content_type: Some("application/x-www-form-urlencoded"),
                body,
            })
            .await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
    }
    let stats = hooks.callback_stats();
    assert_eq!((stats.rejected, stats.refused), (4, 0), "{stats:?}");
    assert!(
        store
            .receive(STOCK_QUEUE, 10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );

    for (kind, metric) in [
        (Rejection::Token, "CallbacksWrongToken"),
        (Rejection::Event, "CallbacksUnknownEvent"),
        (Rejection::Method, "CallbacksWrongMethod"),
        (Rejection::TooLarge, "CallbacksTooLarge"),
    ] {
        let line: serde_json::Value = serde_json::from_str(&rejection_line(kind)).unwrap();
        assert_eq!(line["Flow"], "webhook");
        assert_eq!(
            (line["CallbacksRefused"].as_f64(), line[metric].as_f64()),
            (Some(1.0), Some(1.0))
        );
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], crate::metrics::NAMESPACE);
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["CallbacksRefused", metric]);
    }
}
