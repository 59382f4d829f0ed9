//! The report's rows, read from the figures' JSON (so that the table is a view of the file),
//! with the targets of the issue; a section that was not run has no rows, a skipped one says
//! why.

use serde_json::Value;

use crate::cli::bench_report::{Row, Target};
use ctpvx_infra::stack::FUNCTIONS;

/// ≤ 1 ms of CPU per event in every flow.
const CPU_PER_EVENT_US: f64 = 1000.0;

fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn skipped(v: &Value) -> Option<String> {
    v.get("skipped")
        .and_then(Value::as_str)
        .map(|r| format!("skipped: {r}"))
}

/// The rows of every section present in `figures`.
pub fn rows(figures: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(export) = figures.get("export") {
        let budget = export["budget"].as_str().unwrap_or("15 requests / 15 s");
        rows.push(
            Row::new(
                format!("orders exported per hour under {budget}"),
                num(export, "/orders_per_hour_at_real_budget"),
                "orders/h",
            )
            .target(Target::AtLeast(500_000.0)),
        );
        rows.push(
            Row::new(
                "Peoplevox requests per 1,000 orders, steady state",
                num(export, "/peoplevox_requests_per_1000_orders_steady"),
                "",
            )
            .target(Target::AtMost(5.0))
            .detail(format!(
                "start-up apart: {} requests (login, templates, item cache)",
                export["peoplevox_requests_startup"]
            )),
        );
        rows.push(
            Row::new(
                "Peoplevox requests per 1,000 orders, start-up included",
                num(export, "/peoplevox_requests_per_1000_orders"),
                "",
            )
            .detail(format!("{} orders", export["orders"])),
        );
    }
    if let Some(run) = figures["stock"].as_array().and_then(|runs| {
        runs.iter()
            .find(|r| r["batch_size"] == 100 && r["latency_ms"] == 0)
    }) {
        rows.push(
            Row::new(
                "commercetools requests per 1,000 stock events",
                num(run, "/commercetools_requests_per_1000_events"),
                "",
            )
            .target(Target::AtMost(1100.0))
            .detail("batches of 100, half no-ops, reads included; docs/benchmarks.md target"),
        );
    }
    if let Some(flows) = figures.get("flows") {
        for flow in FUNCTIONS {
            let f = &flows[flow];
            if f.is_null() {
                continue;
            }
            let unit = if flow == "nightly-reconcile" {
                "pair"
            } else {
                "event"
            };
            let rate = num(f, "/events_per_second_one_worker")
                .map(|r| {
                    format!(
                        "{} {unit}s/s one worker",
                        crate::cli::bench_report::number(r)
                    )
                })
                .or_else(|| skipped(f))
                .unwrap_or_default();
            rows.push(
                Row::new(
                    format!("CPU per {unit}, {flow}"),
                    num(f, "/cpu_us_per_event"),
                    "µs",
                )
                .target(Target::AtMost(CPU_PER_EVENT_US))
                .detail(rate),
            );
        }
    }
    if let Some(latency) = figures.get("latency") {
        rows.extend(latency_rows(latency, ""));
    }
    if let Some(latency) = figures.get("latency_budget_lifted") {
        rows.extend(latency_rows(latency, ", Peoplevox budget lifted"));
    }
    if let Some(reconcile) = figures.get("reconcile") {
        rows.extend(reconcile_rows(reconcile));
    }
    if let Some(binaries) = figures.get("binaries") {
        rows.extend(binary_rows(binaries));
    }
    rows
}

fn latency_rows(latency: &Value, condition: &str) -> Vec<Row> {
    if let Some(reason) = skipped(latency) {
        return vec![Row::new("end-to-end latency", None, "ms").detail(reason)];
    }
    let rate = num(latency, "/rate_per_s").unwrap_or(0.0);
    let mut rows = Vec::new();
    let mut add = |label: &str, summary: &Value| {
        let detail = format!(
            "p50 {} ms, max {} ms, n = {}",
            num(summary, "/p50").map_or("—".into(), crate::cli::bench_report::number),
            num(summary, "/max").map_or("—".into(), crate::cli::bench_report::number),
            summary["count"]
        );
        rows.push(
            Row::new(
                format!("end-to-end p99 at {rate} events/s{condition}, {label}"),
                num(summary, "/p99"),
                "ms",
            )
            .target(Target::AtMost(100.0))
            .detail(detail),
        );
    };
    add("all", &latency["end_to_end_ms"]);
    for kind in ["stock", "despatch"] {
        if let Some(summary) = latency["end_to_end_ms_by_kind"].get(kind) {
            add(kind, summary);
        }
    }
    rows
}

fn reconcile_rows(reconcile: &Value) -> Vec<Row> {
    if let Some(reason) = skipped(reconcile) {
        return vec![Row::new("reconcile at 100,000 SKUs × 3 sites", None, "").detail(reason)];
    }
    let pairs = num(reconcile, "/pairs").unwrap_or(0.0);
    vec![
        Row::new(
            format!(
                "reconcile time / budget lower bound, {} pairs",
                crate::cli::bench_report::number(pairs)
            ),
            num(reconcile, "/ratio_to_lower_bound"),
            "×",
        )
        .target(Target::AtMost(1.2))
        .detail(format!(
            "{} s against {} s",
            num(reconcile, "/elapsed_s").map_or("—".into(), crate::cli::bench_report::number),
            num(reconcile, "/lower_bound_s").map_or("—".into(), crate::cli::bench_report::number),
        )),
        Row::new(
            "reconcile peak memory",
            num(reconcile, "/peak_rss_mb"),
            "MB",
        )
        .target(Target::AtMost(256.0)),
    ]
}

fn binary_rows(binaries: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    for f in FUNCTIONS {
        rows.push(
            Row::new(
                format!("stripped release binary, {f} (x86-64)"),
                num(binaries, &format!("/size/{f}/mb")),
                "MB",
            )
            .target(Target::AtMost(10.0)),
        );
    }
    let ready = &binaries["ready"];
    for f in FUNCTIONS {
        let run = &ready["by_function"][f];
        let failed = run["error"].as_str().map(|e| format!("failed: {e}"));
        let detail = skipped(ready).or(failed).unwrap_or_else(|| {
            format!(
                "median of {}; first {} ms",
                run["runs"],
                num(run, "/first_ms").map_or("—".into(), crate::cli::bench_report::number)
            )
        });
        rows.push(
            Row::new(
                format!("process start to ready, {f}"),
                num(run, "/median_ms"),
                "ms",
            )
            .target(Target::AtMost(30.0))
            .detail(detail),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_follow_the_sections_present() {
        let figures = json!({
            "export": {"orders_per_hour_at_real_budget": 479089.0, "peoplevox_requests_per_1000_orders": 5.3, "peoplevox_requests_per_1000_orders_steady": 4.0, "peoplevox_requests_startup": 4, "orders": 3000, "budget": "15 requests per 15 s"},
            "stock": [{"batch_size": 10, "latency_ms": 0, "commercetools_requests_per_1000_events": 906.8},
                      {"batch_size": 100, "latency_ms": 0, "commercetools_requests_per_1000_events": 537.9}],
            "flows": {"stock-delta": {"cpu_us_per_event": 111.0, "events_per_second_one_worker": 6121.0}},
            "reconcile": {"skipped": "not part of all: --with-reconcile"},
        });
        let rows = rows(&figures);
        let figure = |name: &str| rows.iter().find(|r| r.figure.contains(name)).unwrap();
        assert_eq!(figure("orders exported").met(), Some(false));
        assert_eq!(figure("per 1,000 orders, steady").met(), Some(true));
        assert_eq!(figure("per 1,000 orders, start-up").met(), None);
        assert_eq!(figure("per 1,000 stock").measured, Some(537.9));
        assert_eq!(figure("CPU per event, stock-delta").met(), Some(true));
        assert_eq!(
            figure("reconcile").measured_text(),
            "skipped: not part of all: --with-reconcile"
        );
        assert!(!rows.iter().any(|r| r.figure.contains("binary")));
        assert!(!rows.iter().any(|r| r.figure.contains("order-status")));
    }
}
