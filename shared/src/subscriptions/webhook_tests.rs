//! Every callback URL `ctpvx subscribe` registers, filled in the way Peoplevox fills it, is
//! accepted by the webhook and lands on the right queue: GET with the placeholders in the URL,
//! and POST with them in a form body.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::config::{Secrets, SubscriptionRules, WebhookConfig};
use crate::embedded::{EmbeddedStore, QueueSpec};
use crate::queues::{SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::store::Queue;
use crate::webhook::{WebhookRequest, Webhooks};

use super::desired::desired_from;

const TOKEN: &str = "callback-token-0123456789-abcdefghijklmnop";

/// A value for every placeholder ctpvx subscribes with (a new placeholder without one here
/// stays unsubstituted, and the webhook refuses it: the test fails).
const SAMPLES: &[(&str, &str)] = &[
    ("ItemCode", "SKU 1/A"),
    ("Available", "12.00"),
    ("ItemType.ItemCode", "SKU-2"),
    ("QuantityChanged", "-3"),
    ("UpdateTimestamp", "2026-11-26T10:00:00"),
    ("Reason", "Goods in & count"),
    ("DespatchNumber", "DSP-000001"),
    ("Picks.SalesOrder.SalesOrderNumber", "D0000001"),
    ("TrackingNumber", "TRK 1"),
    ("PackageNumber", "1"),
    ("SalesOrderNumber", "D0000001"),
    ("SalesOrderStatus.Name", "Partially despatched"),
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

fn form(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
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

async fn every_url_is_accepted(post: bool) {
    let (hooks, store) = hooks().await;
    let rules = SubscriptionRules {
        incremental_sites: vec!["UK DC".into()],
        post,
        ..SubscriptionRules::default()
    };
    let sites = vec!["UK DC".to_string()];
    let all = desired_from(&rules, &sites, "https://hooks.example.com");
    assert_eq!(all.len(), 7);
    let token = SecretString::from(TOKEN.to_string());
    for want in all {
        let request = want.callback.request(&token);
        let url = reqwest::Url::parse(&fill(request.url.expose_secret(), percent)).unwrap();
        let body = request
            .post_params
            .as_deref()
            .map(|p| fill(p, form))
            .unwrap_or_default();
        let answer = hooks
            .handle(WebhookRequest {
                method: want.callback.method(),
                path: url.path(),
                query: url.query(),
                authorization: None,
                content_type: post.then_some("application/x-www-form-urlencoded"),
                body: body.as_bytes(),
            })
            .await;
        assert_eq!(answer.status, 202, "{}: {}", want.name, answer.body);
        let queue = match want.kind.event {
            "availability" | "incremental" => STOCK_QUEUE,
            "status" | "returns" => STATUS_QUEUE,
            _ => SHIPMENTS_QUEUE,
        };
        let got = store
            .receive(queue, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{}", want.name);
        let message: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
        match want.kind.event {
            "availability" => {
                assert_eq!(message["site"], "UK DC");
                assert_eq!(message["item"], "SKU 1/A");
                assert_eq!(message["available"], 12);
            }
            "incremental" => assert_eq!(message["site"], "UK DC"),
            "status" => assert_eq!(message["status"], "Partially despatched"),
            "tracking" => assert_eq!(message["tracking"], "TRK 1"),
            _ => {}
        }
        store.delete(queue, &got[0].receipt).await.unwrap();
    }
}

#[tokio::test]
async fn every_get_callback_url_is_accepted() {
    every_url_is_accepted(false).await;
}

#[tokio::test]
async fn every_post_callback_is_accepted() {
    every_url_is_accepted(true).await;
}

#[tokio::test]
async fn a_callback_with_another_token_is_refused() {
    let (hooks, _store) = hooks().await;
    let all = desired_from(
        &SubscriptionRules::default(),
        &["A".to_string()],
        "https://hooks.example.com",
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
