//! The overview: what needs a person first (parked messages, held orders, a reconciliation
//! that left drift or failed, a budget in full use), then each flow's last hour and day, the
//! dead-letter queues, the last reconciliation, the Peoplevox budget and the subscriptions.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use ctpvx_shared::flows::activity::{self, BatchCounts};
use ctpvx_shared::flows::nightly_reconcile::{RUNS_ENTITY, drift_report};
use ctpvx_shared::flows::{
    nightly_reconcile, order_export, order_status, shipment_confirmed, stock_delta,
};
use ctpvx_shared::peoplevox::BudgetUse;
use ctpvx_shared::store::now_epoch_ms;
use ctpvx_shared::subscriptions::record::load_all;

use super::Console;
use super::held::{self, HeldRow};
use super::page::{Chrome, age, failure, render};
use crate::operator::dlq::pairs;

/// The queue-fed flows, as the overview names them.
const FLOWS: [(&str, &str); 5] = [
    (order_export::FLOW, "Orders out"),
    (stock_delta::FLOW, "Stock back"),
    (shipment_confirmed::FLOW, "Shipments back"),
    (order_status::FLOW, "Status back"),
    (nightly_reconcile::FLOW, "Reconciliation (continuations)"),
];

/// Held orders shown on the overview; the held-orders page lists them all.
const HELD_SHOWN: usize = 10;

pub struct FlowRow {
    pub label: &'static str,
    pub flow: &'static str,
    pub hour: BatchCounts,
    pub day: BatchCounts,
    /// More batches in an hour than were read: the figures are a floor.
    pub floor: bool,
}

pub struct QueueRow {
    pub source: &'static str,
    pub dlq: &'static str,
    pub parked: u64,
    pub in_flight: u64,
}

pub struct LastRun {
    pub run: String,
    pub age: String,
    pub dry_run: bool,
    pub found: usize,
    pub repaired: usize,
    pub left: usize,
    pub failed: usize,
    pub summary: String,
}

pub struct SubscriptionRow {
    pub name: String,
    pub event_type: String,
    pub site: String,
    pub id: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    attention: Vec<String>,
    held: Vec<HeldRow>,
    held_total: usize,
    flows: Vec<FlowRow>,
    queues: Vec<QueueRow>,
    reconcile: Option<LastRun>,
    budget: Option<Result<BudgetUse, String>>,
    subscriptions: Result<Vec<SubscriptionRow>, String>,
}

/// `GET /`.
pub async fn page(State(console): State<Arc<Console>>) -> Response {
    match overview(&console).await {
        Ok(page) => render(page),
        Err(e) => failure(e),
    }
}

async fn overview(console: &Console) -> Result<OverviewPage, String> {
    let now = now_epoch_ms();
    let audit = console.stores.audit.as_ref();
    // The flows side by side: each reads its day's 25 hour partitions.
    let read = FLOWS.map(|(flow, label)| async move {
        let (hour, day, floor) = activity::last_hour_and_day(audit, flow, now)
            .await
            .map_err(|e| format!("reading {flow}'s activity: {e}"))?;
        Ok::<_, String>(FlowRow {
            label,
            flow,
            hour,
            day,
            floor,
        })
    });
    let flows = futures::future::try_join_all(read).await?;
    let mut queues = Vec::new();
    for pair in pairs() {
        let depth = console
            .queue
            .depth(pair.dlq)
            .await
            .map_err(|e| format!("reading the depth of {}: {e}", pair.dlq))?;
        queues.push(QueueRow {
            source: pair.source,
            dlq: pair.dlq,
            parked: depth.visible,
            in_flight: depth.in_flight,
        });
    }
    let (held, more_held) = held::rows(console).await?;
    let reconcile = last_run(console, now).await?;
    let budget = match &console.budget {
        Some(budget) => Some(budget.in_use().await.map_err(|e| e.to_string())),
        None => None,
    };
    let subscriptions = load_all(console.stores.state.as_ref())
        .await
        .map(|all| {
            all.into_iter()
                .map(|s| SubscriptionRow {
                    name: s.name,
                    event_type: s.record.event_type,
                    site: s.record.site.unwrap_or_else(|| "every site".into()),
                    id: s.record.id.map_or_else(
                        || "unconfirmed (answer never recorded)".into(),
                        |id| id.to_string(),
                    ),
                    url: s.record.url,
                })
                .collect()
        })
        .map_err(|e| e.to_string());

    let mut attention = Vec::new();
    for q in queues.iter().filter(|q| q.parked + q.in_flight > 0) {
        attention.push(format!(
            "{} message(s) parked in {}: see Dead letters",
            q.parked + q.in_flight,
            q.dlq
        ));
    }
    let waiting_for_person = held.iter().filter(|h| !h.automatic).count();
    if !held.is_empty() {
        attention.push(format!(
            "{}{} order(s) held, {} of them waiting for a person: see Held orders",
            if more_held { "more than " } else { "" },
            held.len(),
            waiting_for_person
        ));
    }
    if let Some(run) = reconcile
        .as_ref()
        .filter(|run| run.left > 0 || run.failed > 0)
    {
        attention.push(format!(
            "the last reconciliation ({} ago) left {} stock entries off target and met {} failures",
            run.age, run.left, run.failed
        ));
    }
    if let Some(Ok(b)) = &budget
        && b.waiting > 0
    {
        attention.push(format!(
            "{} process(es) wait for the Peoplevox budget ({} of {} requests used in the window)",
            b.waiting, b.busy, b.limit
        ));
    }
    let held_total = held.len();
    Ok(OverviewPage {
        chrome: Chrome::new(console, "Overview"),
        attention,
        held: held.into_iter().take(HELD_SHOWN).collect(),
        held_total,
        flows,
        queues,
        reconcile,
        budget,
        subscriptions,
    })
}

/// The newest finished reconciliation and its drift report.
async fn last_run(console: &Console, now: i64) -> Result<Option<LastRun>, String> {
    let audit = console.stores.audit.as_ref();
    let runs = audit
        .list_recent(RUNS_ENTITY, 1)
        .await
        .map_err(|e| format!("reading the reconciliation runs: {e}"))?;
    let Some(last) = runs.last() else {
        return Ok(None);
    };
    let run = last.detail["run"].as_str().unwrap_or_default().to_string();
    let summary = last.detail["summary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let report = drift_report(audit, &run)
        .await
        .map_err(|e| format!("reading the drift report of {run}: {e}"))?
        .unwrap_or_default();
    Ok(Some(LastRun {
        age: age(last.at_ms, now),
        dry_run: report.dry_run,
        found: report.drift_before(),
        repaired: report.updated(),
        left: report.remaining(),
        failed: report.failed(),
        run,
        summary,
    }))
}
