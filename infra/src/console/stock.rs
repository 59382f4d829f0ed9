//! Stock: a SKU at a site (the ledger's Peoplevox figure, what commercetools' entry was last
//! set to or found at, the target and its makings, the movement trail), the last
//! reconciliation's largest differences, and the SKUs at risk: sellable at or under the buffer,
//! or where commercetools showed more than the target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use ctpvx_shared::flows::nightly_reconcile::{DriftReport, RUNS_ENTITY, drift_report};
use ctpvx_shared::flows::stock_delta::{ledger_row, site_entity, sku_entity};
use ctpvx_shared::store::{AuditEntry, AuditLog};

use super::Console;
use super::page::{Chrome, at, failure, render};

/// Trail entries shown (the newest).
const TRAIL_LIMIT: usize = 200;
/// A site's newest movements looked at for the at-risk list.
const RISK_WINDOW: usize = 2_000;
/// At-risk rows shown.
const RISK_SHOWN: usize = 50;

#[derive(serde::Deserialize)]
pub struct Search {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    site: String,
}

pub struct Ledger {
    pub available: i64,
    pub at: String,
    pub source: String,
    pub synced: bool,
    pub written: String,
}

pub struct Movement {
    pub at: String,
    pub outcome: String,
    pub old: String,
    pub new: String,
    pub available: String,
    pub pending: String,
    pub buffer: String,
    pub reason: String,
}

pub struct Sku {
    pub sku: String,
    pub site: String,
    pub ledger: Option<Ledger>,
    /// commercetools' entry as ctpvx last wrote or found it, and when.
    pub entry: Option<(String, String)>,
    /// The target the latest entry was set to, and its makings.
    pub target: Option<String>,
    pub trail: Vec<Movement>,
}

pub struct Risk {
    pub site: String,
    pub sku: String,
    pub why: String,
}

pub struct Difference {
    pub site: String,
    pub sku: String,
    pub current: i64,
    pub target: i64,
    pub delta: i64,
    pub resolution: String,
}

#[derive(Template)]
#[template(path = "console/stock.html")]
struct StockPage {
    chrome: Chrome,
    sites: Vec<String>,
    sku_q: String,
    site_q: String,
    sku: Option<Sku>,
    largest: Vec<Difference>,
    at_risk: Vec<Risk>,
}

/// `GET /stock?sku=&site=`.
pub async fn page(State(console): State<Arc<Console>>, Query(search): Query<Search>) -> Response {
    match stock(&console, search).await {
        Ok(page) => render(page),
        Err(e) => failure(e),
    }
}

async fn stock(console: &Console, search: Search) -> Result<StockPage, String> {
    let audit = console.stores.audit.as_ref();
    let report = last_report(audit).await?;
    // The configured sites, else those the last reconciliation compared.
    let mut sites: BTreeSet<String> = console.sites.iter().cloned().collect();
    if sites.is_empty() {
        sites.extend(report.iter().flat_map(|r| r.stock.keys().cloned()));
    }
    let (sku_q, site_q) = (
        search.sku.trim().to_string(),
        search.site.trim().to_string(),
    );
    if !site_q.is_empty() {
        sites.insert(site_q.clone());
    }
    let sku = if sku_q.is_empty() || site_q.is_empty() {
        None
    } else {
        Some(sku_at(console, &sku_q, &site_q).await?)
    };
    let mut largest: Vec<Difference> = report
        .iter()
        .flat_map(|r| &r.stock)
        .flat_map(|(site, drift)| {
            drift.largest.iter().map(move |d| Difference {
                site: site.clone(),
                sku: d.difference.sku.clone(),
                current: d.difference.current,
                target: d.difference.target,
                delta: d.delta,
                resolution: d.resolution.clone(),
            })
        })
        .collect();
    largest.sort_by_key(|d| std::cmp::Reverse(d.delta.abs()));
    let at_risk = at_risk(audit, &sites, &largest).await?;
    Ok(StockPage {
        chrome: Chrome::new(console, "Stock"),
        sites: sites.into_iter().collect(),
        sku_q,
        site_q,
        sku,
        largest,
        at_risk,
    })
}

/// Runs looked back over for one that wrote.
const RUNS_LOOKED_AT: usize = 20;

/// The report of the newest reconciliation that was not a dry run: its differences are what
/// the stock was before it was repaired (a dry run after it finds none).
async fn last_report(audit: &dyn AuditLog) -> Result<Option<DriftReport>, String> {
    let runs = audit
        .list_recent(RUNS_ENTITY, RUNS_LOOKED_AT)
        .await
        .map_err(|e| format!("reading the reconciliation runs: {e}"))?;
    for last in runs.iter().rev() {
        let run = last.detail["run"].as_str().unwrap_or_default();
        let report = drift_report(audit, run)
            .await
            .map_err(|e| format!("reading the drift report of {run}: {e}"))?;
        if let Some(report) = report.filter(|r| !r.dry_run) {
            return Ok(Some(report));
        }
    }
    Ok(None)
}

fn num(e: &AuditEntry, key: &str) -> String {
    e.detail[key]
        .as_i64()
        .map_or_else(|| "-".into(), |n| n.to_string())
}

async fn sku_at(console: &Console, sku: &str, site: &str) -> Result<Sku, String> {
    let trail = console
        .stores
        .audit
        .list_recent(&sku_entity(sku, site), TRAIL_LIMIT)
        .await
        .map_err(|e| format!("reading the trail of {sku} at {site}: {e}"))?;
    // The Peoplevox item behind the SKU (a pack SKU's item differs), as the trail names it.
    let item = trail
        .iter()
        .rev()
        .find_map(|e| e.detail["item"].as_str().map(str::to_string))
        .unwrap_or_else(|| sku.to_string());
    let ledger = ledger_row(console.stores.state.as_ref(), site, &item)
        .await
        .map_err(|e| format!("reading the ledger of {item} at {site}: {e}"))?
        .map(|row| Ledger {
            available: row.figure.available,
            at: at(row.figure.at_ms),
            source: row.figure.source.clone(),
            synced: row.synced(),
            written: row
                .written
                .iter()
                .map(|(s, q)| format!("{s}: {q}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    let latest_set = trail
        .iter()
        .rev()
        .find(|e| matches!(e.outcome.as_str(), "written" | "created" | "unchanged"));
    let entry = latest_set.map(|e| (num(e, "new"), at(e.at_ms)));
    let target = trail
        .iter()
        .rev()
        .find(|e| e.detail.get("available").is_some())
        .map(|e| {
            format!(
                "{} = max(0, ⌊(available {} − pending {} − buffer {}) ÷ pack {}⌋)",
                num(e, "new"),
                num(e, "available"),
                num(e, "pending"),
                num(e, "buffer"),
                num(e, "factor"),
            )
        });
    let trail = trail
        .iter()
        .rev()
        .map(|e| Movement {
            at: at(e.at_ms),
            outcome: e.outcome.clone(),
            old: num(e, "old"),
            new: num(e, "new"),
            available: num(e, "available"),
            pending: num(e, "pending"),
            buffer: num(e, "buffer"),
            reason: e.reason.clone().unwrap_or_default(),
        })
        .collect();
    Ok(Sku {
        sku: sku.to_string(),
        site: site.to_string(),
        ledger,
        entry,
        target,
        trail,
    })
}

/// SKUs whose latest movement left them sellable at or under their buffer, and entries the last
/// reconciliation found above their target.
async fn at_risk(
    audit: &dyn AuditLog,
    sites: &BTreeSet<String>,
    largest: &[Difference],
) -> Result<Vec<Risk>, String> {
    // Oversell risks first: commercetools above the target at the last reconciliation.
    let mut risks: Vec<Risk> = largest
        .iter()
        .filter(|d| d.current > d.target)
        .map(|d| Risk {
            site: d.site.clone(),
            sku: d.sku.clone(),
            why: format!(
                "commercetools showed {} against a target of {} at the last reconciliation ({})",
                d.current, d.target, d.resolution
            ),
        })
        .collect();
    for site in sites {
        let moves = audit
            .list_recent(&site_entity(site), RISK_WINDOW)
            .await
            .map_err(|e| format!("reading the movements at {site}: {e}"))?;
        // The latest movement per SKU.
        let mut latest: BTreeMap<&str, &AuditEntry> = BTreeMap::new();
        for e in &moves {
            if let Some(sku) = e.detail["sku"].as_str() {
                latest.insert(sku, e);
            }
        }
        for (sku, e) in latest {
            let figure = |k: &str| e.detail[k].as_i64();
            let (Some(available), Some(pending), Some(buffer)) =
                (figure("available"), figure("pending"), figure("buffer"))
            else {
                continue;
            };
            // In Peoplevox units, before the pack factor: what is left to sell of the item.
            let sellable = available - pending;
            if sellable <= buffer {
                risks.push(Risk {
                    site: site.clone(),
                    sku: sku.to_string(),
                    why: format!(
                        "available {available} less {pending} pending is {sellable}: at or under the buffer of {buffer}"
                    ),
                });
            }
        }
    }
    risks.truncate(RISK_SHOWN);
    Ok(risks)
}
