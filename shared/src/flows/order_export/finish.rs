//! How orders leave a batch: what is written for each (held index and link, idempotency record,
//! audit entry) and how its records are counted. The writes of a stage's finished orders run
//! concurrently, like every other store call of the flow, so a batch of 100 does not pay for
//! 300 store round trips one after another.

use futures::StreamExt;

use super::link::{self, OrderLink};
use super::stages::CONCURRENCY;
use super::{BatchReport, OrderExport, Work, held};
use crate::commercetools::types::Order;
use crate::domain::{HoldReason, SalesOrder};
use crate::flows::batch::RecordOutcome;
use crate::store::{AuditEntry, now_epoch_ms};

/// How an order left the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finish {
    Exported {
        number: String,
        site: String,
        recovered: bool,
    },
    Duplicate,
    /// Cancelled in commercetools before it was exported: commercetools owns it, Peoplevox
    /// never hears of it.
    Cancelled,
    Held {
        number: Option<String>,
        reason: HoldReason,
    },
    /// Left alone by configuration (an import while `orders.export_imported` is false):
    /// acknowledged, counted as ignored, and remembered in the order's link.
    Ignored(HoldReason),
    Retry(String),
    DeadLetter(String),
}

impl Finish {
    fn outcome(&self) -> RecordOutcome {
        match self {
            Self::Retry(reason) => RecordOutcome::Retry(reason.clone()),
            Self::DeadLetter(reason) => RecordOutcome::DeadLetter(reason.clone()),
            _ => RecordOutcome::Done,
        }
    }

    fn audit_outcome(&self) -> &'static str {
        match self {
            Self::Exported {
                recovered: true, ..
            } => "recovered",
            Self::Exported { .. } => "exported",
            Self::Duplicate => "duplicate",
            Self::Cancelled => "cancelled-before-export",
            Self::Held { .. } => "held",
            Self::Ignored(_) => "ignored",
            Self::Retry(_) => "retry",
            Self::DeadLetter(_) => "rejected",
        }
    }
}

/// Counts one finished order and sets the outcome of each of its records. The first record of
/// an order counts as the order; the others announced the same order, so they are duplicates
/// (and share its retry or dead-lettering).
pub(super) fn tally(report: &mut BatchReport, work: &Work, finish: &Finish) {
    let extra = work.message_ids.len().saturating_sub(1);
    match finish {
        Finish::Exported {
            recovered: true, ..
        } => report.recovered += 1,
        Finish::Exported { .. } => report.exported += 1,
        Finish::Held { .. } => report.held += 1,
        Finish::Duplicate => report.duplicates += 1,
        Finish::Cancelled => report.cancelled += 1,
        Finish::Ignored(_) => report.ignored += 1,
        Finish::Retry(_) | Finish::DeadLetter(_) => {}
    }
    if finish.outcome() == RecordOutcome::Done {
        report.duplicates += extra;
    }
    for id in &work.message_ids {
        report.records.set(id, finish.outcome());
    }
}

impl OrderExport {
    /// Writes what the finished orders leave behind, concurrently, then counts them.
    pub(super) async fn finish_all(&self, done: Vec<(Work, Finish)>, report: &mut BatchReport) {
        let done: Vec<(Work, Finish)> = futures::stream::iter(done)
            .map(|(work, finish)| async move {
                self.persist(&work, &finish).await;
                (work, finish)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (work, finish) in &done {
            tally(report, work, finish);
        }
        if let Some(queue) = &self.stock_queue {
            let exported: Vec<(&SalesOrder, &Order)> = done
                .iter()
                .filter(|(_, f)| matches!(f, Finish::Exported { .. }))
                .filter_map(|(w, _)| w.order.as_ref().map(|o| (w, o)))
                .flat_map(|(w, o)| w.sales_orders.iter().map(move |so| (so, o)))
                .collect();
            if !exported.is_empty() {
                super::stock_hints::send(queue.as_ref(), &exported).await;
            }
        }
    }

    /// The writes of one finished order. Failures are logged, not returned: the outcome stands
    /// (a lost audit entry must not turn an export into a retry).
    async fn persist(&self, work: &Work, finish: &Finish) {
        let order_id = &work.order_id;
        let held = match finish {
            Finish::Held { number, reason } => Some((number.clone(), reason)),
            Finish::Ignored(reason) => Some((None, reason)),
            _ => None,
        };
        if let Some((number, reason)) = held {
            match reason {
                HoldReason::UnknownSkus { skus } => {
                    held::remember(self.state.as_ref(), order_id, skus).await;
                }
                HoldReason::AwaitingOrderNumber => {
                    let created_at = work.order.as_ref().and_then(|o| o.created_at.as_deref());
                    held::remember_awaiting_number(self.state.as_ref(), order_id, created_at).await;
                }
                other if other.retry_can_help() => {
                    held::remember_for_person(self.state.as_ref(), order_id).await;
                }
                _ => {}
            }
            // Refused by Peoplevox: some of its parts (or its header) may be there already.
            // Cancelled while sending: the parts a previous attempt sent.
            let parts = match reason {
                HoldReason::RejectedByPeoplevox { .. } => link::parts_of(&work.numbers()),
                HoldReason::CancelledWhileSending => link::parts_of(&work.sent_numbers),
                _ => Vec::new(),
            };
            let link = OrderLink::Held {
                number,
                reason: reason.clone(),
                since_ms: now_epoch_ms(),
                parts,
            };
            if let Err(e) = link::save(self.state.as_ref(), order_id, &link).await {
                tracing::error!(%order_id, error = %e, "held state not recorded");
            }
        }
        let claim = match finish {
            Finish::Exported { number, .. } => {
                let result = serde_json::json!({ "number": number }).to_string();
                self.idempotency.complete(order_id, &result).await
            }
            Finish::Duplicate | Finish::Cancelled => {
                self.idempotency.complete(order_id, "{}").await
            }
            // Held and failed orders give the claim up, so that a retry or a re-queue runs.
            _ => self.idempotency.release(order_id).await,
        };
        if let Err(e) = claim {
            tracing::error!(%order_id, error = %e, "idempotency record not updated");
        }
        let mut detail = serde_json::json!({ "messages": work.message_ids });
        if let Some(cancellation) = &work.cancellation {
            detail["cancellation"] = cancellation.clone().into();
        }
        let (number, reason) = match finish {
            Finish::Exported { number, site, .. } => {
                detail["site"] = site.clone().into();
                // What the mapping cut, left out or derived: nothing disappears untraced.
                let mut notes: Vec<&str> = Vec::new();
                for note in work.sales_orders.iter().flat_map(|so| &so.notes) {
                    if !notes.contains(&note.as_str()) {
                        notes.push(note);
                    }
                }
                if !notes.is_empty() {
                    detail["notes"] = notes.into();
                }
                if work.sales_orders.len() > 1 {
                    detail["parts"] = work.numbers().into();
                }
                (Some(number.clone()), None)
            }
            Finish::Held { number, reason } => (number.clone(), Some(reason.to_string())),
            Finish::Ignored(reason) => (None, Some(reason.to_string())),
            Finish::Retry(reason) | Finish::DeadLetter(reason) => (None, Some(reason.clone())),
            Finish::Duplicate | Finish::Cancelled => (None, None),
        };
        if let Some(number) = number {
            detail["number"] = number.into();
        }
        let entry = AuditEntry {
            entity: format!("order#{order_id}"),
            at_ms: now_epoch_ms(),
            flow: super::FLOW.into(),
            outcome: finish.audit_outcome().into(),
            reason,
            detail,
        };
        if let Err(e) = self.audit.append(&entry).await {
            tracing::error!(%order_id, error = %e, "audit append failed");
        }
        tracing::info!(%order_id, outcome = finish.audit_outcome(), "order finished");
    }
}
