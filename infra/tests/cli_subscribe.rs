//! `ctpvx subscribe` as an operator runs it, against a tenant that publishes no WSDL: it
//! changes nothing until told to assume the 2017 WSDL, so that a WSDL that merely failed to
//! load never replaces subscriptions made from the real one.

use std::process::Command;

use ctpvx_infra::sim::peoplevox::dialect::BARE;
use ctpvx_infra::testbed::{Testbed, TestbedOptions};

fn subscribe(bed: &Testbed, dir: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let config = dir.join("ctpvx.toml");
    std::fs::write(&config, &bed.config_text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ctpvx"))
        .arg("subscribe")
        .arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(dir.join("store.sqlite3"))
        .args(["--public-url", "http://127.0.0.1:9"])
        .args(extra)
        .envs(bed.secret_env())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_readable_wsdl_subscribe_changes_nothing_unless_told() {
    let bed = Testbed::start(TestbedOptions {
        dialect: BARE,
        budget_window: std::time::Duration::from_millis(300),
        ..TestbedOptions::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ctpvx-cli-subscribe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (code, text) = subscribe(&bed, &dir, &[]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("WSDL could not be read") && text.contains("--assume-2017"),
        "{text}"
    );
    assert!(bed.pvx.subscriptions().is_empty(), "nothing subscribed");

    let (code, text) = subscribe(&bed, &dir, &["--assume-2017"]);
    assert_eq!(code, 0, "{text}");
    let made = bed.pvx.subscriptions();
    assert!(!made.is_empty(), "{text}");
    // The 2017 operations: one site-less AvailabilityChanges, values raw.
    let availability: Vec<_> = made
        .iter()
        .filter(|s| s.event_type == "AvailabilityChanges")
        .collect();
    assert_eq!(availability.len(), 1, "{made:?}");
    assert!(availability[0].url.contains("enc=0"), "{made:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
