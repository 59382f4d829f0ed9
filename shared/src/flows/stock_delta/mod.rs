//! Flow `stock-delta`: Peoplevox stock events → sellable quantities on commercetools inventory
//! entries, per (sku, supply channel).
//!
//! The story of a batch:
//! 1. Read the records ([`message`]): a record about an unknown site, or that is not a stock
//!    message, goes to the dead-letter queue with the reason. Group the rest by (site, item):
//!    the newest `{Available}` of a pair wins, so a batch writes each entry once.
//! 2. Decide per pair against the [`ledger`] ([`plan`]): an event not newer than the ledger's
//!    figure is stale and changes nothing; a movement or a due confirmation needs a figure
//!    obtained after it, read from Peoplevox ("Item inventory summary", one call per site and
//!    100 items) ([`figures`]).
//! 3. Record the figure in the ledger with a conditional write (a newer figure wins).
//! 4. Read the entries (one query per channel), then the orders Peoplevox had not allocated
//!    when the figure was true ([`pending`]); in that order, so that an order placed between
//!    the reads is never sold twice ([`targets`] has the argument).
//! 5. Target per commercetools SKU = available − those orders' units − the site's buffer, in
//!    the SKU's units ([`crate::mapping::pack_units`]), floored at 0. Write the differences as
//!    deltas with the version read; on a conflict, read the entry and the pending orders again
//!    and plan again from the target ([`apply`]).
//! 6. Mark the ledger synced, write an audit entry per entry ([`audit`]), and schedule one
//!    confirming re-read per site for figures that came from callbacks ([`confirm`],
//!    [`finish`]).

mod apply;
mod audit;
mod confirm;
mod figures;
mod finish;
pub mod ledger;
mod message;
mod pending;
mod plan;
mod reconcile;
mod report;
mod targets;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use audit::{site_entity, sku_entity};
pub use ledger::{Figure, LedgerRow, ledger_row};
pub use reconcile::{
    Difference, ItemFigure, PageOutcome, RECONCILE_SOURCE, ReconcilePage, Resolution,
};
pub use report::StockReport;

use self::message::Key;
use crate::commercetools::CtClient;
use crate::config::{StockRules, UnitOfMeasure};
use crate::deadline;
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::mapping::SkuMap;
use crate::peoplevox::PvxClient;
use crate::store::{AuditLog, Queue, StateStore};

/// Name of the flow in audit entries and dead-letter attributes.
pub const FLOW: &str = "stock-delta";

/// Store calls in flight at once.
const STORE_CONCURRENCY: usize = 16;

/// Test hook: where a worker dies, as a killed Lambda would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockCrash {
    /// After commercetools accepted the writes, before the ledger and the queue hear of it.
    AfterCommercetoolsWrite,
}

/// What the flow is built from.
pub struct StockDeltaParts {
    /// commercetools client.
    pub ct: Arc<CtClient>,
    /// Peoplevox client (availability re-reads).
    pub pvx: Arc<PvxClient>,
    /// Ledger.
    pub state: Arc<dyn StateStore>,
    /// Audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// The stock queue, for confirming re-reads; `None` turns them off.
    pub queue: Option<Arc<dyn Queue>>,
    /// `[stock]`.
    pub rules: StockRules,
    /// `orders.units_of_measure` (packs draw on their item's stock).
    pub units: BTreeMap<String, UnitOfMeasure>,
    /// Site → supply channel id (resolved from the configured keys).
    pub channels: BTreeMap<String, String>,
    /// Id of the OrderExport channel (orders without its mark are not allocated yet).
    pub export_channel_id: String,
}

/// The flow.
pub struct StockDelta {
    parts: StockDeltaParts,
    sku_map: SkuMap,
    crash: Option<StockCrash>,
}

// Where a pair ended: what its messages become (a message about several pairs fares as its
// worst).
use crate::flows::batch::RecordOutcome as Fate;

impl StockDelta {
    /// The flow from its parts.
    pub fn new(parts: StockDeltaParts) -> Self {
        let sku_map = SkuMap::new(&parts.units);
        Self {
            parts,
            sku_map,
            crash: None,
        }
    }

    /// Test hook: die at this point of every batch that wrote something.
    pub fn crash_at(mut self, point: Option<StockCrash>) -> Self {
        self.crash = point;
        self
    }

    /// Handles one batch of stock-queue records.
    pub async fn run_batch(&self, records: &[InputRecord]) -> StockReport {
        let mut report = StockReport {
            events: records.len(),
            ..StockReport::default()
        };
        let sites: Vec<String> = self.parts.channels.keys().cloned().collect();
        let parsed = message::parse(records, &sites);
        for (id, reason) in &parsed.rejected {
            tracing::warn!(message_id = %id, %reason, "stock record rejected");
            report
                .records
                .set(id, RecordOutcome::DeadLetter(reason.clone()));
        }
        let groups = parsed.groups;
        report.pairs = groups.len();
        report.coalesced = groups.values().map(|g| g.superseded).sum();
        let mut fates: BTreeMap<Key, Fate> = BTreeMap::new();
        if deadline::expired() {
            for group in groups.values() {
                for id in &group.message_ids {
                    report
                        .records
                        .set(id, Fate::Retry(deadline::UNSTARTED.into()));
                }
            }
            return report;
        }

        let plans = self.plan(&groups, &mut fates).await;
        let (figures, stale) = self.figures(plans, &mut fates, &mut report).await;
        report.stale = stale.len();
        // The writes are not started once the time has run out: their pairs are retried.
        let applied = if deadline::expired() {
            for key in figures.keys() {
                fates
                    .entry(key.clone())
                    .or_insert_with(|| Fate::Retry(deadline::UNSTARTED.into()));
            }
            Vec::new()
        } else {
            self.apply_all(&groups, &figures, &mut fates, &mut report)
                .await
        };

        if self.crash == Some(StockCrash::AfterCommercetoolsWrite)
            && report.writes + report.created > 0
        {
            let mut dead = StockReport::default();
            for record in records {
                dead.records.set(
                    &record.id,
                    RecordOutcome::Retry("worker killed (test)".into()),
                );
            }
            return dead;
        }

        self.finish(&groups, &figures, applied, &stale, &mut fates, &mut report)
            .await;
        for (key, group) in &groups {
            let fate = fates.get(key).cloned().unwrap_or(Fate::Done);
            for id in &group.message_ids {
                report.records.set_worst(id, fate.clone());
            }
        }
        report
    }
}

#[async_trait::async_trait]
impl crate::flows::batch::BatchFlow for StockDelta {
    type Report = StockReport;
    fn name(&self) -> &'static str {
        FLOW
    }
    async fn process(&self, records: &[InputRecord], _deadline_ms: i64) -> StockReport {
        self.run_batch(records).await
    }
}
