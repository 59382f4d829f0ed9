//! `ctpvx demo` as a developer runs it, every log line on (`RUST_LOG=trace`): nothing it prints
//! holds a secret of the test bed (commercetools client secret, Peoplevox password, webhook
//! and callback tokens, in the forms they travel in, and the access tokens issued during the
//! run) or a scenario customer's e-mail address, phone number, name, street line or gift
//! message. The run is a reduced one (12 orders, 100 movements) of the same acts.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ctpvx_infra::scenario;
use ctpvx_infra::sim::commercetools::CtSimConfig;
use ctpvx_infra::sim::peoplevox::PvxSimConfig;
use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, DEMO_WEBHOOK_TOKEN};

const ORDERS: usize = 12;

/// The demo's secrets (its test bed runs both simulators with their default credentials).
fn secrets() -> Vec<String> {
    let ct = CtSimConfig::default();
    let pvx = PvxSimConfig::default();
    vec![
        ct.client_secret.clone(),
        STANDARD.encode(format!("{}:{}", ct.client_id, ct.client_secret)),
        pvx.password.clone(),
        STANDARD.encode(&pvx.password),
        DEMO_WEBHOOK_TOKEN.to_string(),
        DEMO_CALLBACK_TOKEN.to_string(),
    ]
}

/// The personal data of every customer the demo's orders can have, as the scenario writes it
/// and as the mapping flattens it.
fn personal_data() -> Vec<String> {
    let catalog = scenario::catalog(50);
    let mut data = Vec::new();
    for i in 0..ORDERS {
        let order = scenario::order(i, 1, &catalog);
        let address = &order["shippingAddress"];
        let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
        let street = text(&address["streetName"]);
        data.extend([
            text(&order["customerEmail"]),
            text(&address["phone"]),
            text(&address["lastName"]),
            format!(
                "{} {}",
                text(&address["firstName"]),
                text(&address["lastName"])
            ),
            format!("{} {street}", text(&address["streetNumber"])),
            text(&order["custom"]["fields"]["giftMessage"]),
        ]);
        data.extend(street.lines().map(str::to_string));
    }
    data.sort();
    data.dedup();
    data
}

/// Access tokens the commercetools simulator issues: `sim-` and 32 hex digits.
fn issued_tokens(text: &str) -> Vec<&str> {
    text.match_indices("sim-")
        .filter_map(|(at, _)| text.get(at..at + 36))
        .filter(|t| t[4..].bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

#[test]
fn the_demo_logs_no_secret_and_no_personal_data() {
    let token = "sim-0123456789abcdef0123456789abcdef";
    assert_eq!(issued_tokens(&format!("x=\"{token}\" sim-secret")), [token]);
    assert!(personal_data().len() > 3 * 5, "{:?}", personal_data());
    let out = Command::new(env!("CARGO_BIN_EXE_ctpvx"))
        .args(["demo", "--json", "--movements", "100", "--orders"])
        .arg(ORDERS.to_string())
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .output()
        .expect("ctpvx runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs = String::from_utf8_lossy(&out.stderr);
    // It ran to the end (its exit code judges the invariants, which other tests own).
    let summary: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no summary ({e}), exit {:?}:\n{logs}", out.status));
    assert!(
        summary["orders"]["exported"].as_u64() > Some(0),
        "{summary}"
    );
    // The capture is the real thing: many lines, about the scenario's orders.
    assert!(logs.lines().count() > 100, "{logs}");
    assert!(logs.contains("DEBUG") && logs.contains("TRACE"));
    let orders_named = (0..ORDERS)
        .filter(|i| logs.contains(&scenario::order_id(*i)))
        .count();
    assert!(orders_named >= 3, "{orders_named} orders named in the logs");

    for (what, text) in [("logs", &logs), ("summary", &stdout)] {
        let found: Vec<_> = secrets()
            .into_iter()
            .chain(personal_data())
            .filter(|needle| text.contains(needle.as_str()))
            .collect();
        assert!(found.is_empty(), "the {what} hold {found:?}");
        let tokens = issued_tokens(text);
        assert!(
            tokens.is_empty(),
            "the {what} hold access tokens {tokens:?}"
        );
    }
}
