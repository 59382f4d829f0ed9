//! Flow `order-status`: what the warehouse does with an order, in commercetools, under clear
//! ownership rules — and commercetools cancellations back to the warehouse.
//!
//! The story of a batch:
//! 1. Read the records ([`read`]); garbage goes to the dead-letter queue with the reason.
//! 2. Peoplevox status events ([`statuses`]): what a callback left out (its status, the hold
//!    flag) is read from Peoplevox first ([`fill`], [`pvx_orders`]); the orders are read by
//!    number (one query per 100).
//!    A status nobody mapped is audited and changes nothing. Per order, the furthest status
//!    of the batch is planned ([`plan`]) on the order as it is and written with its version: the
//!    stage only moves forward, Peoplevox may change fulfilment facts only after export, and
//!    after a cancellation a status is a conflict for a person. Despatched and short-pick
//!    statuses compare what Peoplevox despatched with what was ordered ([`shorts`]).
//! 3. commercetools cancellations ([`cancellations`]): not exported, nothing to tell
//!    Peoplevox; exported and not picked, cancelled in Peoplevox ([`cancel`]); picking started,
//!    an exception for a person.
//! 4. Peoplevox returns ([`record_returns`]): the "Return summary" rows become one
//!    `addReturnInfo` per Peoplevox return, keyed by its code.
//! 5. An audit entry for every event: applied, unchanged, ignored, refused or conflict, with
//!    the reason.

mod audit;
pub mod cancel;
mod cancellations;
pub mod fields;
mod fill;
pub mod mark;
pub mod parts;
pub mod plan;
pub mod pvx_orders;
mod read;
mod record_returns;
mod report;
pub mod returns;
pub mod shorts;
mod statuses;

use std::sync::Arc;

pub use fields::OrderType;
pub use report::StatusReport;

use crate::commercetools::CtClient;
use crate::config::{OrderRules, StatusRules};
use crate::deadline;
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::idempotency::Idempotency;
use crate::mapping::SkuMap;
use crate::peoplevox::PvxClient;
use crate::store::{AuditLog, StateStore};

/// Name of the flow in audit entries and dead-letter attributes.
pub const FLOW: &str = "order-status";

/// Orders updated at once.
const CONCURRENCY: usize = 8;
/// Reads and decisions per order before a batch gives up on it (SQS delivers it again).
const ATTEMPTS: u32 = 5;

/// What the flow is built from.
pub struct OrderStatusParts {
    /// commercetools client.
    pub ct: Arc<CtClient>,
    /// Peoplevox client (despatch and return reads, cancellations).
    pub pvx: Arc<PvxClient>,
    /// Audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// `[status]`.
    pub rules: StatusRules,
    /// The despatch report (`shipments.summary_report`), for short picks.
    pub despatch_report: String,
    /// `[orders]`: packs are several Peoplevox units (`units_of_measure`); an unmarked order's
    /// Peoplevox numbers are the ones its export would choose.
    pub orders: OrderRules,
    /// The OrderExport channel: its `syncInfo` on an order says the order is exported.
    pub export_channel_id: String,
    /// The order Type carrying the status fields.
    pub order_type: OrderType,
    /// The state store: its order-number index tells an export in flight from a stranger, and
    /// an unmarked order's links name the numbers it was sent under.
    pub state: Arc<dyn StateStore>,
    /// The order export's claims: a cancellation of an order being exported waits for it.
    pub export_claims: Idempotency,
}

/// The flow.
pub struct OrderStatus {
    parts: OrderStatusParts,
    sku_map: SkuMap,
    /// The status template was seen to have no hold field: callbacks without a hold flag are
    /// not read for one again (it would cost a request and tell nothing).
    no_hold_field: std::sync::atomic::AtomicBool,
}

/// A Peoplevox status event of the batch; what its callback left out is read from Peoplevox
/// before it is planned.
#[derive(Debug, Clone)]
pub(crate) struct StatusEvent {
    record_id: String,
    status: Option<String>,
    on_hold: Option<bool>,
    modified: Option<String>,
    received_at_ms: i64,
    /// The status or the hold flag came from a Peoplevox read, not the callback.
    read_from_peoplevox: bool,
    /// When the hold flag was read from Peoplevox (it shows Peoplevox's flag at that time).
    hold_read_at_ms: Option<i64>,
}

impl StatusEvent {
    /// The status name (empty only before [`fill`] ran).
    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("")
    }
}

impl OrderStatus {
    /// The flow from its parts.
    pub fn new(parts: OrderStatusParts) -> Self {
        let sku_map = SkuMap::new(&parts.orders.units_of_measure);
        Self {
            parts,
            sku_map,
            no_hold_field: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Handles one batch of status-queue records.
    pub async fn run_batch(&self, records: &[InputRecord]) -> StatusReport {
        let mut report = StatusReport {
            events: records.len(),
            ..StatusReport::default()
        };
        let read::Read {
            statuses,
            returns,
            cancels,
            ended,
        } = read::read(records, self.parts.ct.project_key());
        for (id, outcome) in ended {
            report.records.set(&id, outcome);
        }
        // A stage is not started once the time has run out: its records are retried.
        if !statuses.is_empty() {
            if deadline::expired() {
                let ids = statuses.values().flatten().map(|e| e.record_id.as_str());
                unstarted(ids, &mut report);
            } else {
                self.apply_statuses(statuses, &mut report).await;
            }
        }
        if !cancels.is_empty() {
            if deadline::expired() {
                unstarted(cancels.values().flatten().map(String::as_str), &mut report);
            } else {
                self.apply_cancellations(cancels, &mut report).await;
            }
        }
        if !returns.is_empty() {
            if deadline::expired() {
                unstarted(returns.iter().map(|(id, ..)| id.as_str()), &mut report);
            } else {
                self.record_returns(returns, &mut report).await;
            }
        }
        report
    }
}

impl OrderStatus {
    /// Where callbacks for orders that are not ours go.
    fn not_ours(&self) -> crate::flows::order_export::NotOurs<'_> {
        crate::flows::order_export::NotOurs {
            state: self.parts.state.as_ref(),
            audit: self.parts.audit.as_ref(),
            flow: FLOW,
            policy: self.parts.orders.other_orders,
        }
    }
}

/// Retries the records of a stage the batch ran out of time for.
fn unstarted<'a>(records: impl Iterator<Item = &'a str>, report: &mut StatusReport) {
    for id in records {
        report
            .records
            .set(id, RecordOutcome::Retry(deadline::UNSTARTED.into()));
    }
}

#[async_trait::async_trait]
impl crate::flows::batch::BatchFlow for OrderStatus {
    type Report = StatusReport;
    fn name(&self) -> &'static str {
        FLOW
    }
    async fn process(&self, records: &[InputRecord], _deadline_ms: i64) -> StatusReport {
        self.run_batch(records).await
    }
}
