//! Order export: commercetools orders become Peoplevox sales orders, exactly once.
//!
//! The story of one batch, top to bottom:
//! 1. read each record (Platform Message, CloudEvent, bare Order) as a pointer to its order; a
//!    body that cannot be read goes to the dead-letter queue with its reason;
//! 2. claim each order id (idempotency): a completed order is a duplicate, an order another
//!    worker holds is retried later;
//! 3. read the order's link: exported already → duplicate; `Sending` → a previous worker died
//!    after (maybe) sending, so Peoplevox is checked before sending again;
//! 4. read every order from commercetools by id, in a few queries (a payload's order is never
//!    used); an id commercetools does not know is parked with the reason; an imported order is
//!    left alone when `orders.export_imported` is false;
//! 5. map to sales orders (choosing the Peoplevox number); an order that cannot be mapped is
//!    held with the reason, an order without a number yet waits for the held-order sweep;
//! 6. hold orders with SKUs Peoplevox does not know (retried when the items appear);
//! 7. send the batch in one "Sales orders" and one "Sales order items" SaveData per
//!    `orders.max_orders_per_call` sales orders; each refused record is attributed to its order
//!    (`refusals`), and an answer that cannot be attributed fails the chunk, whose retry asks
//!    Peoplevox what it has;
//! 8. mark each exported order in commercetools (`updateSyncInfo` on the OrderExport channel,
//!    Peoplevox number as externalId) on the order as it is then: one cancelled meanwhile is
//!    cancelled in Peoplevox too; link `Exported`, audit, complete the claim.

mod cancelled;
mod finish;
mod held;
mod link;
mod refusals;
mod report;
mod send;
mod stages;
mod stock_hints;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub use held::{HeldOrder, SweepReport, held_orders, requeue_message};
pub use link::{
    NotOurs, OrderLink, left_alone, load as load_link, load_many as load_links, order_id_by_number,
    orders_not_found, unknown_numbers,
};
pub use report::BatchReport;

use finish::Finish;

use crate::commercetools::client::CtClient;
use crate::commercetools::types::Order;
use crate::config::{OrderRules, PeoplevoxConfig, StatusRules};
use crate::domain::SalesOrder;
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::flows::item_catalog::ItemCatalog;
use crate::idempotency::Idempotency;
use crate::mapping::SalesOrderLayout;
use crate::peoplevox::client::PvxClient;
use crate::store::{AuditLog, Queue, StateStore};

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
    status: StatusRules,
    peoplevox: PeoplevoxConfig,
    layout: SalesOrderLayout,
    export_channel_id: String,
    items: ItemCatalog,
    crash: Option<CrashPoint>,
    stock_queue: Option<Arc<dyn Queue>>,
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
    /// `[status]`: how a cancellation goes to Peoplevox (an order cancelled during its export).
    pub status: StatusRules,
    /// Peoplevox templates and the tenant's field names.
    pub peoplevox: PeoplevoxConfig,
    /// Tenant layout of the two templates.
    pub layout: SalesOrderLayout,
    /// Id of the OrderExport channel.
    pub export_channel_id: String,
}

/// One order on its way through a batch.
#[derive(Debug, Clone)]
struct Work {
    order_id: String,
    /// Every record of the batch that announced this order (duplicates ride along).
    message_ids: Vec<String>,
    recovering: bool,
    order: Option<Order>,
    /// One sales order per address the order ships to (one, unless split).
    sales_orders: Vec<SalesOrder>,
    /// Numbers of parts a recovering attempt found in Peoplevox: their headers are not sent
    /// again.
    in_peoplevox: BTreeSet<String>,
    /// Was held before (its held-index entry goes once exported).
    was_held: bool,
    /// Announced by an OrderImported message.
    imported: bool,
    /// The numbers a previous attempt sent under (link `Sending`): a retry keeps them.
    sent_numbers: Vec<String>,
    /// What became of a cancellation made while the order was being exported (audited).
    cancellation: Option<String>,
}

impl Work {
    /// Every part's Peoplevox number, in part order.
    fn numbers(&self) -> Vec<String> {
        self.sales_orders
            .iter()
            .map(|so| so.number.to_string())
            .collect()
    }

    /// The first part's number (the order's, unless split).
    fn first_number(&self) -> Option<String> {
        self.sales_orders.first().map(|so| so.number.to_string())
    }

    /// Every part was found in Peoplevox by a recovering attempt.
    fn recovered(&self) -> bool {
        !self.sales_orders.is_empty()
            && self
                .sales_orders
                .iter()
                .all(|so| self.in_peoplevox.contains(so.number.as_str()))
    }
}

impl OrderExport {
    /// Assembles the flow.
    pub fn new(parts: OrderExportParts) -> Self {
        let item_types = &parts.peoplevox.templates.item_types;
        let item_code_field = parts.peoplevox.field_name(item_types, "ItemCode");
        let items = ItemCatalog::new(
            item_types,
            item_code_field,
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
            status: parts.status,
            peoplevox: parts.peoplevox,
            layout: parts.layout,
            export_channel_id: parts.export_channel_id,
            items,
            crash: None,
            stock_queue: None,
        }
    }

    /// Sends stock rechecks for the items of exported orders to this queue's stock queue.
    pub fn with_stock_hints(mut self, queue: Option<Arc<dyn Queue>>) -> Self {
        self.stock_queue = queue;
        self
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
                    report.records.set(
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
}

#[async_trait::async_trait]
impl crate::flows::batch::BatchFlow for OrderExport {
    type Report = BatchReport;
    fn name(&self) -> &'static str {
        FLOW
    }
    async fn process(&self, records: &[InputRecord], deadline_ms: i64) -> BatchReport {
        self.export_batch(records, deadline_ms).await
    }
}
