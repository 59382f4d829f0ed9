//! `ctpvx bench --only reconcile`: the nightly reconciliation at scale. Both simulators hold
//! `items` items at each of the test bed's 3 sites (commercetools at their targets but for a
//! share of drifted entries), answer every request `latency` late, and Peoplevox enforces its
//! budget. The reconciliation runs as its own process (`ctpvx reconcile`, exactly what an
//! operator runs), so that its time and peak memory are its own, not the simulators'.
//!
//! The lower bound is what the Peoplevox budget alone allows: R requests (one per page of
//! `page_size` rows, plus Authenticate) at B per window W leave the last batch of B starting
//! `W × (⌈R / B⌉ − 1)` after the first, plus one request's latency.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use ctpvx_infra::checks;
use ctpvx_infra::testbed::{STOCK_SITES, Testbed, TestbedOptions};
use ctpvx_shared::domain::sellable;
use ctpvx_shared::flows::nightly_reconcile::DriftReport;

/// One measurement.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileRun {
    /// Items per site.
    pub items: usize,
    /// Every `drift_every`-th entry is off its target.
    pub drift_every: usize,
    /// Added to every simulator answer.
    pub latency: Duration,
    /// Budget window compression (1 = the real 15 s).
    pub compress: u32,
}

/// The budget the test bed enforces.
const BUDGET: u32 = 15;
/// Rows per Peoplevox page (the reconciliation's default).
pub const PAGE: usize = 1000;

/// Seeds the simulators, runs `ctpvx reconcile` as a child process, checks the result and
/// returns the figures.
pub async fn run(spec: ReconcileRun) -> anyhow::Result<serde_json::Value> {
    let window = Duration::from_millis(15_000 / u64::from(spec.compress.max(1)));
    let bed = Testbed::start(TestbedOptions {
        budget_requests: BUDGET,
        budget_window: window,
        ..TestbedOptions::default()
    })
    .await?;
    let seeded = Instant::now();
    let drifted = seed(&bed, spec.items, spec.drift_every)?;
    let seed_s = seeded.elapsed().as_secs_f64();
    bed.ct.faults().set_latency(spec.latency);
    bed.pvx.faults().set_latency(spec.latency);
    bed.pvx.reset_counters();
    bed.ct.reset_counters();

    let dir = std::env::temp_dir().join(format!("ctpvx-bench-reconcile-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("ctpvx.toml");
    // The whole budget, so the figure compares with the budget's own bound.
    let config = format!(
        "{}\n[reconcile]\nbudget_reserve = 0\npage_size = {PAGE}\n",
        bed.config_text
    );
    std::fs::write(&config_path, config)?;
    let exe = std::env::current_exe().context("locating the ctpvx binary")?;
    let started = Instant::now();
    let child = tokio::process::Command::new(exe)
        .arg("reconcile")
        .arg("--config")
        .arg(&config_path)
        .arg("--store")
        .arg(dir.join("store.sqlite3"))
        .args(["--no-orders", "--no-despatches", "--no-statuses", "--json"])
        .envs(bed.secret_env())
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running ctpvx reconcile")?;
    let pid = child.id();
    let watching = tokio::spawn(async move {
        let mut peak_kb = 0;
        while let Some(kb) = pid.and_then(peak_rss_kb) {
            peak_kb = kb;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak_kb
    });
    let output = child.wait_with_output().await?;
    let elapsed = started.elapsed();
    let peak_rss_kb = watching.await.unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    if !output.status.success() {
        bail!(
            "ctpvx reconcile failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: DriftReport = serde_json::from_slice(&output.stdout)
        .context("reading the drift report ctpvx reconcile printed")?;
    let off = checks::stock::mismatches(&bed)
        .into_iter()
        .filter(|m| m.actual.is_some())
        .count();

    let requests = bed.pvx.request_count();
    let pages: u64 = report.stock.values().map(|s| u64::from(s.pages)).sum();
    let needed = STOCK_SITES.len() as u64 * spec.items.div_ceil(PAGE) as u64 + 1;
    let batches = needed.div_ceil(u64::from(BUDGET));
    let lower_bound = window.as_secs_f64() * (batches - 1) as f64 + spec.latency.as_secs_f64();
    let elapsed_s = elapsed.as_secs_f64();
    Ok(json!({
        "items_per_site": spec.items,
        "sites": STOCK_SITES.len(),
        "pairs": spec.items * STOCK_SITES.len(),
        "latency_ms": spec.latency.as_millis() as u64,
        "budget": format!("{BUDGET} requests per {} ms", window.as_millis()),
        "clock_compression": spec.compress,
        "seed_s": seed_s,
        "drifted_entries": drifted,
        "drift_before": report.drift_before(),
        "updated": report.updated(),
        "failed": report.failed(),
        "off_target_after": off,
        "pages": pages,
        "peoplevox_requests": requests,
        "peoplevox_requests_needed": needed,
        "budget_violations": bed.pvx.budget_violations(),
        "commercetools_requests": bed.ct.request_count(),
        "elapsed_s": elapsed_s,
        "lower_bound_s": lower_bound,
        "ratio_to_lower_bound": elapsed_s / lower_bound,
        "peak_rss_mb": peak_rss_kb as f64 / 1024.0,
        "ok": off == 0 && report.drift_before() == drifted && report.failed() == 0,
    }))
}

/// Seeds both simulators with `items` items at each of the test bed's sites, commercetools at
/// the sellable target but for every `drift_every`-th entry; returns how many are off.
pub fn seed(bed: &Testbed, items: usize, drift_every: usize) -> anyhow::Result<usize> {
    let mut stock = Vec::with_capacity(items * STOCK_SITES.len());
    let mut entries = Vec::with_capacity(items * STOCK_SITES.len());
    let mut drifted = 0;
    for (s, (site, _)) in STOCK_SITES.iter().enumerate() {
        let channel = bed.site_channels[*site].clone();
        for i in 0..items {
            let item = format!("ITEM-{i:07}");
            let available = ((i * 7 + s * 13) % 500) as i64;
            let target = sellable(available, 0, 0, 1);
            let n = s * items + i;
            let quantity = if n.is_multiple_of(drift_every.max(1)) {
                drifted += 1;
                target + 1 + (n % 9) as i64
            } else {
                target
            };
            stock.push((site.to_string(), item.clone(), available, available));
            entries.push((item, Some(channel.clone()), quantity));
        }
    }
    bed.pvx.set_stock_bulk(stock);
    bed.ct.insert_inventory_bulk(entries)?;
    Ok(drifted)
}

/// The peak resident set of a running process since it started its program (`VmHWM`), in KiB;
/// `None` once it has exited. (`getrusage(RUSAGE_CHILDREN)` would not do: it keeps the peak of
/// the address space the child shared with this process before `exec`, the simulators' too.)
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if status
        .lines()
        .any(|l| l.starts_with("State:") && l.contains("zombie"))
    {
        return None;
    }
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
