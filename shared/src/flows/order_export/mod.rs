//! Order export: commercetools orders become Peoplevox sales orders, exactly once.
//!
//! The story of one batch, top to bottom:
//! 1. read each record (Platform Message, CloudEvent, bare Order); a body that cannot be read
//!    goes to the dead-letter queue with its reason;
//! 2. claim each order id (idempotency): a completed order is a duplicate, an order another
//!    worker holds is retried later;
//! 3. read the order's link: exported already → duplicate; `Sending` → a previous worker died
//!    after (maybe) sending, so Peoplevox is checked before sending again;
//! 4. fetch orders the message did not carry (`payloadNotIncluded`);
//! 5. map to sales orders; an order that cannot be mapped is held with the reason;
//! 6. hold orders with SKUs Peoplevox does not know (retried when the items appear);
//! 7. send all orders of the batch in one "Sales orders" and one "Sales order items" SaveData;
//!    per-record statuses decide per order;
//! 8. mark each exported order in commercetools (`updateSyncInfo` on the OrderExport channel,
//!    Peoplevox number as externalId), link `Exported`, audit, complete the claim.

mod held;
mod link;
mod report;
mod send;
mod stages;

use std::sync::Arc;
use std::time::Duration;

pub use held::{SweepReport, requeue_message};
pub use link::{OrderLink, load as load_link};
pub use report::BatchReport;

use crate::commercetools::client::CtClient;
use crate::commercetools::types::Order;
use crate::config::{OrderRules, TemplateNames};
use crate::domain::{HoldReason, SalesOrder};
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::flows::item_catalog::ItemCatalog;
use crate::idempotency::Idempotency;
use crate::mapping::SalesOrderLayout;
use crate::peoplevox::client::PvxClient;
use crate::store::{AuditEntry, AuditLog, StateStore, now_epoch_ms};

/// The flow's name in audit entries, idempotency keys and logs.
pub const FLOW: &str = "order-export";

/// A place where a test makes the worker die, as a Lambda killed mid-batch would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Right after both SaveData calls returned, before anything else is written.
    AfterSaveData,
}

/// Everything the flow needs, built once per process.
pub struct OrderExport {
    ct: Arc<CtClient>,
    pvx: Arc<PvxClient>,
    state: Arc<dyn StateStore>,
    audit: Arc<dyn AuditLog>,
    idempotency: Idempotency,
    rules: OrderRules,
    templates: TemplateNames,
    layout: SalesOrderLayout,
    export_channel_id: String,
    items: ItemCatalog,
    field_names: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    crash: Option<CrashPoint>,
}

/// The parts of an [`OrderExport`].
pub struct OrderExportParts {
    /// commercetools client.
    pub ct: Arc<CtClient>,
    /// Peoplevox client.
    pub pvx: Arc<PvxClient>,
    /// State store (order links, held index).
    pub state: Arc<dyn StateStore>,
    /// Audit log.
    pub audit: Arc<dyn AuditLog>,
    /// Idempotency over the idempotency store.
    pub idempotency: Idempotency,
    /// Mapping rules.
    pub rules: OrderRules,
    /// Template names.
    pub templates: TemplateNames,
    /// Tenant layout of the two templates.
    pub layout: SalesOrderLayout,
    /// Id of the OrderExport channel.
    pub export_channel_id: String,
    /// Tenant field renames per template (`peoplevox.field_names`).
    pub field_names: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// One order on its way through a batch.
#[derive(Debug, Clone)]
struct Work {
    order_id: String,
    /// Every record of the batch that announced this order (duplicates ride along).
    message_ids: Vec<String>,
    recovering: bool,
    order: Option<Order>,
    sales_order: Option<SalesOrder>,
    /// Found in Peoplevox by a recovering attempt: not sent again.
    in_peoplevox: bool,
    /// Was held before (its held-index entry goes once exported).
    was_held: bool,
}

/// How an order left the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finish {
    Exported {
        number: String,
        site: String,
        recovered: bool,
    },
    Duplicate,
    Held {
        number: Option<String>,
        reason: HoldReason,
    },
    Retry(String),
    DeadLetter(String),
}

impl OrderExport {
    /// Assembles the flow.
    pub fn new(parts: OrderExportParts) -> Self {
        let item_code_field = parts
            .field_names
            .get(&parts.templates.item_types)
            .and_then(|r| r.get("ItemCode"))
            .cloned()
            .unwrap_or_else(|| "ItemCode".to_string());
        let items = ItemCatalog::new(
            &parts.templates.item_types,
            &item_code_field,
            Duration::from_secs(parts.rules.item_cache_ttl_s),
            Duration::from_secs(parts.rules.missing_item_cache_ttl_s),
        );
        Self {
            ct: parts.ct,
            pvx: parts.pvx,
            state: parts.state,
            audit: parts.audit,
            idempotency: parts.idempotency,
            rules: parts.rules,
            templates: parts.templates,
            layout: parts.layout,
            export_channel_id: parts.export_channel_id,
            items,
            field_names: parts.field_names,
            crash: None,
        }
    }

    /// Makes the worker die at `point` (tests and the soak only).
    pub fn crash_at(mut self, point: Option<CrashPoint>) -> Self {
        self.crash = point;
        self
    }

    /// Exports one batch. `deadline_ms` is when this worker's time runs out (epoch ms).
    pub async fn export_batch(&self, records: &[InputRecord], deadline_ms: i64) -> BatchReport {
        let mut report = BatchReport::default();
        let work = self.read_records(records, &mut report);
        let work = self.claim(work, deadline_ms, &mut report).await;
        let work = self.check_links(work, &mut report).await;
        let work = self.load_orders(work, &mut report).await;
        let work = self.map_orders(work, &mut report).await;
        let work = self.hold_unknown_items(work, &mut report).await;
        let work = self.skip_already_in_peoplevox(work, &mut report).await;
        let work = self.send(work, &mut report).await;
        if self.crash == Some(CrashPoint::AfterSaveData) {
            for w in &work {
                for id in &w.message_ids {
                    report.set(
                        id,
                        RecordOutcome::Retry("worker died after SaveData (injected)".into()),
                    );
                }
            }
            return report;
        }
        self.mark_exported(work, &mut report).await;
        report
    }

    /// Ends an order's journey: audit entry, idempotency record, outcome of its records.
    async fn finish(&self, work: &Work, finish: Finish, report: &mut BatchReport) {
        let (outcome, audit_outcome, reason, number) = match &finish {
            Finish::Exported {
                number, recovered, ..
            } => {
                if *recovered {
                    report.recovered += 1;
                } else {
                    report.exported += 1;
                }
                (
                    RecordOutcome::Done,
                    if *recovered { "recovered" } else { "exported" },
                    None,
                    Some(number.clone()),
                )
            }
            Finish::Duplicate => {
                report.duplicates += work.message_ids.len();
                (RecordOutcome::Done, "duplicate", None, None)
            }
            Finish::Held { number, reason } => {
                report.held += 1;
                if let HoldReason::UnknownSkus { skus } = reason {
                    held::remember(self.state.as_ref(), &work.order_id, skus).await;
                }
                let held_link = OrderLink::Held {
                    number: number.clone(),
                    reason: reason.clone(),
                    since_ms: now_epoch_ms(),
                };
                if let Err(e) = link::save(self.state.as_ref(), &work.order_id, &held_link).await {
                    tracing::error!(order_id = %work.order_id, error = %e, "held state not recorded");
                }
                (
                    RecordOutcome::Done,
                    "held",
                    Some(reason.to_string()),
                    number.clone(),
                )
            }
            Finish::Retry(reason) => (
                RecordOutcome::Retry(reason.clone()),
                "retry",
                Some(reason.clone()),
                None,
            ),
            Finish::DeadLetter(reason) => (
                RecordOutcome::DeadLetter(reason.clone()),
                "rejected",
                Some(reason.clone()),
                None,
            ),
        };
        let claim_result = match &finish {
            Finish::Exported { number, .. } => {
                let result = serde_json::json!({ "number": number }).to_string();
                self.idempotency.complete(&work.order_id, &result).await
            }
            Finish::Duplicate => self.idempotency.complete(&work.order_id, "{}").await,
            // Held and failed orders give the claim up, so that a retry or a re-queue runs.
            _ => self.idempotency.release(&work.order_id).await,
        };
        if let Err(e) = claim_result {
            tracing::error!(order_id = %work.order_id, error = %e, "idempotency record not updated");
        }
        let detail = match &finish {
            Finish::Exported { site, .. } => {
                serde_json::json!({ "site": site, "messages": work.message_ids })
            }
            _ => serde_json::json!({ "messages": work.message_ids }),
        };
        let entry = AuditEntry {
            entity: format!("order#{}", work.order_id),
            at_ms: now_epoch_ms(),
            flow: FLOW.into(),
            outcome: audit_outcome.into(),
            reason,
            detail: match number {
                Some(n) => {
                    let mut d = detail;
                    d["number"] = serde_json::Value::String(n);
                    d
                }
                None => detail,
            },
        };
        if let Err(e) = self.audit.append(&entry).await {
            tracing::error!(order_id = %work.order_id, error = %e, "audit append failed");
        }
        tracing::info!(order_id = %work.order_id, outcome = audit_outcome, "order finished");
        for (i, id) in work.message_ids.iter().enumerate() {
            // Only the first record of a duplicate group counts as the order; the others are
            // duplicates whatever the outcome, and share a retry.
            if i > 0 && outcome == RecordOutcome::Done && !matches!(finish, Finish::Duplicate) {
                report.duplicates += 1;
            }
            report.set(id, outcome.clone());
        }
    }
}
