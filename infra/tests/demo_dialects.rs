//! `ctpvx demo --peoplevox-dialect NAME --json` for every dialect `ctpvx demo --help` lists: the
//! connector must work with each simulated tenant, not only with the one that agrees with its
//! guesses. A small run per dialect; the invariants are read from the summary, not from the
//! exit code alone.

use std::process::Command;

/// The dialect names as `ctpvx demo --help` lists them under `--peoplevox-dialect`.
fn listed_dialects() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_ctpvx"))
        .args(["demo", "--help"])
        .output()
        .expect("ctpvx runs");
    let help = String::from_utf8_lossy(&out.stdout);
    let section = help
        .split("--peoplevox-dialect")
        .nth(1)
        .expect("demo --help lists --peoplevox-dialect");
    section
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Possible values:"))
        .skip(1)
        .map(str::trim)
        .take_while(|l| l.starts_with("- "))
        .filter_map(|l| l[2..].split(':').next().map(|n| n.trim().to_string()))
        .collect()
}

/// The summary's figures that must be 0 (JSON pointers).
const ZEROES: &[&str] = &[
    "/orders/duplicates_in_peoplevox",
    "/stock/mismatches",
    "/stock/oversells",
    "/shipments/duplicate_deliveries",
    "/shipments/despatches_without_delivery",
    "/shipments/missing_tracking",
    "/shipments/duplicate_tracking",
    "/status/backwards_moves",
    "/status/conflicts_unrecorded",
    "/status/cancellations_not_pushed",
    "/status/cancellations_not_shown",
    "/status/short_picks_not_shown",
    "/returns/duplicates",
    "/returns/missing",
    "/reconcile/drift_after",
    "/reconcile/off_target_after",
    "/reconcile/despatches_without_delivery",
    "/peoplevox/budget_violations",
    "/queues/orders_dlq",
    "/queues/stock_dlq",
    "/queues/shipments_dlq",
    "/queues/status_dlq",
];

fn run_demo(dialect: &str) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ctpvx"))
        .args([
            "demo",
            "--json",
            "--orders",
            "40",
            "--movements",
            "300",
            "--peoplevox-dialect",
            dialect,
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("ctpvx runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let summary = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "dialect {dialect}: no summary ({e}), exit {:?}:\n{stderr}",
            out.status
        )
    });
    (out.status.code(), summary, stderr)
}

#[test]
fn the_demo_holds_every_invariant_under_every_dialect() {
    let dialects = listed_dialects();
    assert!(
        dialects.len() >= 2 && dialects.iter().any(|d| d == "strict"),
        "demo --help lists {dialects:?}"
    );
    let mut failures = Vec::new();
    for dialect in &dialects {
        let (code, summary, stderr) = run_demo(dialect);
        assert_eq!(summary["peoplevox"]["dialect"], dialect.as_str());
        let mut wrong: Vec<String> = ZEROES
            .iter()
            .filter_map(|p| match summary.pointer(p).and_then(|v| v.as_u64()) {
                Some(0) => None,
                other => Some(format!("{p} = {other:?}")),
            })
            .collect();
        if summary.pointer("/status/updates").and_then(|v| v.as_u64()) < Some(1) {
            wrong.push("/status/updates is 0".into());
        }
        if summary.pointer("/queues/drained") != Some(&serde_json::Value::Bool(true)) {
            wrong.push("/queues/drained is not true".into());
        }
        if code != Some(0) {
            wrong.push(format!("exit code {code:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "dialect {dialect}: {}\nsummary: {summary:#}\nstderr (tail): {}",
                wrong.join(", "),
                stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
