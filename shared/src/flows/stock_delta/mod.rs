//! Flow `stock-delta`: Peoplevox stock events → sellable quantities on commercetools inventory
//! entries, per (sku, supply channel).
//!
//! The story of a batch:
//! 1. Read the records ([`message`]): a record about an unknown site, or that is not a stock
//!    message, goes to the dead-letter queue with the reason. Group the rest by (site, item):
//!    the newest `{Available}` of a pair wins, so a batch writes each entry once.
//! 2. Decide per pair against the [`ledger`]: an event not newer than the ledger's figure is
//!    stale and changes nothing; a movement or a due confirmation needs a figure obtained after
//!    it, read from Peoplevox ("Item inventory summary", one call per site and 100 items).
//! 3. Record the figure in the ledger with a conditional write (a newer figure wins).
//! 4. Target per commercetools SKU = available − units of unexported orders ([`pending`]) −
//!    the site's buffer, in the SKU's units ([`skus`]), floored at 0.
//! 5. Read the entries (one query per channel), write the differences as deltas with the
//!    version read, re-planning from the target on a conflict ([`apply`]).
//! 6. Mark the ledger synced, write an audit entry per entry, and schedule one confirming
//!    re-read per site for figures that came from callbacks.

mod apply;
mod audit;
mod confirm;
pub mod ledger;
mod message;
mod pending;
mod report;
mod skus;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use audit::{site_entity, sku_entity};
pub use ledger::{Figure, LedgerRow, ledger_row};
pub use report::StockReport;

use self::apply::{Applied, NotApplied, Target};
use self::audit::EntryAudit;
use self::ledger::Versioned;
use self::message::{Group, Key};
use self::skus::SkuMap;
use crate::commercetools::CtClient;
use crate::commercetools::types::InventoryEntry;
use crate::config::{StockRules, UnitOfMeasure};
use crate::domain::sellable;
use crate::flows::batch::{InputRecord, RecordOutcome};
use crate::peoplevox::PvxClient;
use crate::store::{AuditLog, Queue, StateStore, now_epoch_ms};

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

/// How a pair goes forward after the ledger was consulted.
enum Plan {
    /// Nothing newer than what is applied.
    Stale,
    /// Needs a figure from Peoplevox.
    Read(Option<Versioned>),
    /// Apply this figure; `record` when it is new to the ledger.
    Apply {
        figure: Figure,
        current: Option<Versioned>,
        record: bool,
    },
}

/// Where a pair ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Done,
    Retry(String),
    DeadLetter(String),
}

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
        let parsed = message::parse(records, |site| self.parts.channels.contains_key(site));
        for (id, reason) in &parsed.rejected {
            tracing::warn!(message_id = %id, %reason, "stock record rejected");
            report.set(id, RecordOutcome::DeadLetter(reason.clone()));
        }
        let groups = parsed.groups;
        report.pairs = groups.len();
        report.coalesced = groups.values().map(|g| g.superseded).sum();
        let mut fates: BTreeMap<Key, Fate> = BTreeMap::new();

        let plans = self.plan(&groups, &mut fates).await;
        let (figures, stale) = self.figures(plans, &mut fates, &mut report).await;
        report.stale = stale.len();
        let applied = self
            .apply_all(&groups, &figures, &mut fates, &mut report)
            .await;

        if self.crash == Some(StockCrash::AfterCommercetoolsWrite)
            && report.writes + report.created > 0
        {
            let mut dead = StockReport::default();
            for record in records {
                dead.set(
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
                merge(&mut report, id, &fate);
            }
        }
        report
    }

    /// Loads the ledger rows and decides what each pair needs.
    async fn plan(
        &self,
        groups: &BTreeMap<Key, Group>,
        fates: &mut BTreeMap<Key, Fate>,
    ) -> BTreeMap<Key, Plan> {
        let state = self.parts.state.clone();
        let loaded: Vec<_> = futures::stream::iter(groups.keys().cloned())
            .map(|key| {
                let state = state.clone();
                async move {
                    let row = ledger::load(state.as_ref(), &key).await;
                    (key, row)
                }
            })
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await;
        let mut plans = BTreeMap::new();
        for (key, row) in loaded {
            match row {
                Ok(current) => {
                    let plan = decide(&groups[&key], current);
                    plans.insert(key, plan);
                }
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        plans
    }

    /// Reads the figures that are needed, records new figures in the ledger, and returns the
    /// figure to apply per pair (plus the pairs that are stale).
    async fn figures(
        &self,
        plans: BTreeMap<Key, Plan>,
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) -> (BTreeMap<Key, Versioned>, Vec<Key>) {
        let mut to_read: BTreeMap<String, Vec<(String, Option<Versioned>)>> = BTreeMap::new();
        let mut to_record = Vec::new();
        let mut ready = BTreeMap::new();
        let mut stale = Vec::new();
        for (key, plan) in plans {
            match plan {
                Plan::Stale => stale.push(key),
                Plan::Read(current) => to_read
                    .entry(key.site.clone())
                    .or_default()
                    .push((key.item.clone(), current)),
                Plan::Apply {
                    figure,
                    current,
                    record: true,
                } => to_record.push((key, current, figure)),
                Plan::Apply {
                    current: Some(current),
                    ..
                } => {
                    ready.insert(key, current);
                }
                Plan::Apply { current: None, .. } => {}
            }
        }
        for (site, wanted) in to_read {
            let items: Vec<String> = wanted.iter().map(|(item, _)| item.clone()).collect();
            let read_at = now_epoch_ms();
            report.rereads += items.len();
            match self.parts.pvx.read_availability(&site, &items).await {
                Ok(found) => {
                    for (item, current) in wanted {
                        let key = Key {
                            site: site.clone(),
                            item,
                        };
                        match found.get(&key.item) {
                            Some(available) => to_record.push((
                                key,
                                current,
                                Figure {
                                    available: *available,
                                    at_ms: read_at,
                                    source: "reread".into(),
                                },
                            )),
                            None => {
                                let reason = format!(
                                    "unknown SKU: Peoplevox reports no item `{}` at site `{site}`",
                                    key.item
                                );
                                fates.insert(key, Fate::DeadLetter(reason));
                            }
                        }
                    }
                }
                Err(e) => {
                    let reason = format!("reading availability at `{site}` from Peoplevox: {e}");
                    for (item, _) in wanted {
                        let key = Key {
                            site: site.clone(),
                            item,
                        };
                        fates.insert(key, Fate::Retry(reason.clone()));
                    }
                }
            }
        }
        let state = self.parts.state.clone();
        let recorded: Vec<_> = futures::stream::iter(to_record)
            .map(|(key, current, figure)| {
                let state = state.clone();
                async move {
                    let row = ledger::record(state.as_ref(), &key, current, figure).await;
                    (key, row)
                }
            })
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await;
        for (key, row) in recorded {
            match row {
                Ok(row) => {
                    ready.insert(key, row);
                }
                Err(e) => {
                    fates.insert(key, Fate::Retry(format!("stock ledger: {e}")));
                }
            }
        }
        (ready, stale)
    }

    /// Computes the targets and brings every entry in line; returns the audit facts per
    /// (pair, sku).
    async fn apply_all(
        &self,
        groups: &BTreeMap<Key, Group>,
        figures: &BTreeMap<Key, Versioned>,
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) -> Vec<(Key, EntryAudit)> {
        let ct = &self.parts.ct;
        let mut skus: BTreeSet<String> = BTreeSet::new();
        for key in figures.keys() {
            skus.extend(self.sku_map.skus_of(&key.item).into_iter().map(|(s, _)| s));
        }
        let skus: Vec<String> = skus.into_iter().collect();
        let pending = match pending::pending_units(
            ct,
            &self.parts.export_channel_id,
            &self.sku_map,
            &skus,
            self.parts.rules.pending_order_days,
        )
        .await
        {
            Ok(pending) => pending,
            Err(e) => {
                let reason = format!("reading unexported orders from commercetools: {e}");
                for key in figures.keys() {
                    fates.insert(key.clone(), Fate::Retry(reason.clone()));
                }
                return Vec::new();
            }
        };
        let mut per_channel: BTreeMap<String, Vec<(Key, String, u32)>> = BTreeMap::new();
        for key in figures.keys() {
            let channel = &self.parts.channels[&key.site];
            for (sku, factor) in self.sku_map.skus_of(&key.item) {
                per_channel
                    .entry(channel.clone())
                    .or_default()
                    .push((key.clone(), sku, factor));
            }
        }
        let reads: Vec<_> = futures::stream::iter(per_channel)
            .map(|(channel, wanted)| async move {
                let skus: Vec<String> = wanted.iter().map(|(_, sku, _)| sku.clone()).collect();
                let entries = ct.query_inventory(Some(&channel), &skus).await;
                (channel, wanted, entries)
            })
            .buffered(4)
            .collect()
            .await;
        let mut targets = Vec::new();
        for (channel, wanted, entries) in reads {
            let entries: BTreeMap<String, InventoryEntry> = match entries {
                Ok(list) => list.into_iter().map(|e| (e.sku.clone(), e)).collect(),
                Err(e) => {
                    let reason = format!("reading commercetools inventory: {e}");
                    for (key, _, _) in wanted {
                        fates.insert(key, Fate::Retry(reason.clone()));
                    }
                    continue;
                }
            };
            for (key, sku, factor) in wanted {
                let figure = &figures[&key].row.figure;
                let pending_units = pending
                    .get(&(channel.clone(), key.item.clone()))
                    .copied()
                    .unwrap_or(0);
                let buffer = i64::from(self.parts.rules.buffer(&key.site));
                let quantity = sellable(figure.available, pending_units, buffer, factor);
                let facts = EntryAudit {
                    sku: sku.clone(),
                    channel_id: channel.clone(),
                    available: figure.available,
                    pending: pending_units,
                    buffer,
                    factor,
                    target: quantity,
                    figure_at_ms: figure.at_ms,
                    figure_source: figure.source.clone(),
                    sources: groups[&key].sources.clone(),
                    result: None,
                };
                let target = Target {
                    channel_id: channel.clone(),
                    entry: entries.get(&sku).cloned(),
                    sku,
                    quantity,
                };
                targets.push((key, facts, target));
            }
        }
        let create_missing = self.parts.rules.create_missing_entries;
        let done: Vec<_> = futures::stream::iter(targets)
            .map(|(key, facts, target)| async move {
                let attempted = apply::apply(ct, target, create_missing).await;
                (key, facts, attempted)
            })
            .buffer_unordered(self.parts.rules.write_concurrency)
            .collect()
            .await;
        let mut audits = Vec::with_capacity(done.len());
        for (key, mut facts, attempted) in done {
            report.conflicts += attempted.conflicts as usize;
            match &attempted.result {
                Ok(Applied::Unchanged { .. }) => report.skipped_unchanged += 1,
                Ok(Applied::Written { .. }) => report.writes += 1,
                Ok(Applied::Created { .. }) => report.created += 1,
                Err(NotApplied::Retry(reason)) => {
                    fates.insert(key.clone(), Fate::Retry(reason.clone()));
                }
                Err(NotApplied::Refused(reason)) => {
                    fates.insert(key.clone(), Fate::DeadLetter(reason.clone()));
                }
            }
            facts.result = Some(attempted.result);
            audits.push((key, facts));
        }
        audits
    }

    /// Marks the ledger, writes the audit trail, schedules confirmations.
    async fn finish(
        &self,
        groups: &BTreeMap<Key, Group>,
        figures: &BTreeMap<Key, Versioned>,
        audits: Vec<(Key, EntryAudit)>,
        stale: &[Key],
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) {
        let mut written: BTreeMap<Key, BTreeMap<String, i64>> = BTreeMap::new();
        for (key, facts) in &audits {
            if let Some(Ok(applied)) = &facts.result {
                let quantity = match applied {
                    Applied::Unchanged { quantity } => *quantity,
                    Applied::Written { new, .. } | Applied::Created { new } => *new,
                };
                written
                    .entry(key.clone())
                    .or_default()
                    .insert(facts.sku.clone(), quantity);
            }
        }
        let state = self.parts.state.clone();
        let marks: Vec<_> = figures
            .iter()
            .filter(|(key, _)| !fates.contains_key(*key))
            .map(|(key, row)| {
                let written = written.remove(key).unwrap_or_default();
                (key.clone(), row.clone(), written)
            })
            .collect();
        let marked: Vec<_> = futures::stream::iter(marks)
            .map(|(key, row, written)| {
                let state = state.clone();
                async move {
                    let at = row.row.figure.at_ms;
                    let result = ledger::mark_synced(state.as_ref(), &key, row, at, &written).await;
                    (key, result)
                }
            })
            .buffered(STORE_CONCURRENCY)
            .collect()
            .await;
        for (key, result) in marked {
            if let Err(e) = result {
                // commercetools is right; only the bookkeeping lags. The next event for the
                // pair re-checks, so this is logged rather than retried.
                tracing::warn!(pair = %key, error = %e, "stock ledger not marked synced");
            }
        }
        audit::write(self.parts.audit.as_ref(), &audits, stale, groups).await;
        if let Some(queue) = &self.parts.queue {
            let trusted: Vec<&Key> = figures
                .iter()
                .filter(|(key, row)| {
                    row.row.figure.source == "availability"
                        && groups[*key].reported.is_some()
                        && !fates.contains_key(*key)
                })
                .map(|(key, _)| key)
                .collect();
            let delay = Duration::from_secs(self.parts.rules.confirm_after_s);
            report.confirms_scheduled += confirm::schedule(queue.as_ref(), &trusted, delay).await;
        }
        for key in groups.keys() {
            fates.entry(key.clone()).or_insert(Fate::Done);
        }
    }
}

/// What a pair needs, given the batch's events and the ledger row.
fn decide(group: &Group, current: Option<Versioned>) -> Plan {
    let ledger_at = current.as_ref().map(|v| v.row.figure.at_ms);
    let reported = group
        .reported
        .as_ref()
        .filter(|r| ledger_at.is_none_or(|at| r.at_ms > at));
    let best_at = reported.map(|r| r.at_ms).or(ledger_at);
    if let Some(after) = group.fresh_after_ms
        && best_at.is_none_or(|at| at < after)
    {
        return Plan::Read(current);
    }
    if let Some(r) = reported {
        return Plan::Apply {
            figure: Figure {
                available: r.available,
                at_ms: r.at_ms,
                source: "availability".into(),
            },
            current,
            record: true,
        };
    }
    match current {
        Some(v) if group.recheck || !v.row.synced() => Plan::Apply {
            figure: v.row.figure.clone(),
            current: Some(v),
            record: false,
        },
        Some(_) => Plan::Stale,
        None => Plan::Read(None),
    }
}

/// Sets a message's outcome to the worse of what it has and `fate`.
fn merge(report: &mut StockReport, id: &str, fate: &Fate) {
    let rank = |o: Option<&RecordOutcome>| match o {
        None => 0,
        Some(RecordOutcome::Done) => 1,
        Some(RecordOutcome::Retry(_)) => 2,
        Some(RecordOutcome::DeadLetter(_)) => 3,
    };
    let outcome = match fate {
        Fate::Done => RecordOutcome::Done,
        Fate::Retry(r) => RecordOutcome::Retry(r.clone()),
        Fate::DeadLetter(r) => RecordOutcome::DeadLetter(r.clone()),
    };
    let existing = report.outcomes.get(id).cloned();
    if rank(Some(&outcome)) > rank(existing.as_ref()) {
        // Undo the count of the outcome being replaced.
        match existing {
            Some(RecordOutcome::Retry(_)) => report.retried -= 1,
            Some(RecordOutcome::DeadLetter(_)) => report.dead_lettered -= 1,
            _ => {}
        }
        report.set(id, outcome);
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
