//! Steps 4–5 of a batch: the unallocated units, a target per commercetools SKU, the entries
//! read per channel, and the writes that bring each entry to its target. The reads
//! ([`StockDelta::read_facts`]), the targets ([`StockDelta::targets`]) and the writes
//! ([`StockDelta::apply_targets`]) are separate so that the nightly reconciliation compares
//! on the facts it read and writes only what differs, through the same code.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::apply::{self, Applied, NotApplied, Target};
use super::audit::EntryAudit;
use super::ledger::{Figure, Versioned};
use super::message::{Group, Key};
use super::{Fate, StockDelta, StockReport, pending};
use crate::commercetools::types::InventoryEntry;
use crate::domain::sellable;

/// What commercetools says about the SKUs of some pairs: the units not yet allocated by
/// Peoplevox and the inventory entries, per supply channel.
#[derive(Debug, Default)]
pub(super) struct Facts {
    pending: pending::Pending,
    /// Channel id → SKU → entry; a SKU without an entry is absent.
    entries: BTreeMap<String, BTreeMap<String, InventoryEntry>>,
    /// Pairs whose facts could not be read, with the reason.
    pub(super) failed: BTreeMap<Key, String>,
}

/// One commercetools entry's target, with the facts behind it.
pub(super) struct Planned {
    pub(super) key: Key,
    pub(super) facts: EntryAudit,
    pub(super) target: Target,
}

impl StockDelta {
    /// Computes the targets and brings every entry in line; returns the audit facts per
    /// (pair, sku).
    pub(super) async fn apply_all(
        &self,
        groups: &BTreeMap<Key, Group>,
        figures: &BTreeMap<Key, Versioned>,
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) -> Vec<(Key, EntryAudit)> {
        let facts = self.read_facts(figures.keys()).await;
        for (key, reason) in &facts.failed {
            fates.insert(key.clone(), Fate::Retry(reason.clone()));
        }
        let figures: BTreeMap<Key, Figure> = figures
            .iter()
            .map(|(key, v)| (key.clone(), v.row.figure.clone()))
            .collect();
        let planned = self.targets(&facts, &figures, groups);
        let create_missing = self.parts.rules.create_missing_entries;
        self.apply_targets(planned, create_missing, fates, report)
            .await
    }

    /// Reads the unexported orders holding the pairs' SKUs (one query per 500 SKUs) and
    /// their entries (one query per channel and 500 SKUs).
    pub(super) async fn read_facts<'a>(&self, keys: impl Iterator<Item = &'a Key>) -> Facts {
        let ct = &self.parts.ct;
        let keys: Vec<&Key> = keys.collect();
        let mut facts = Facts::default();
        let skus: BTreeSet<String> = keys
            .iter()
            .flat_map(|key| self.sku_map.skus_of(&key.item).into_iter().map(|(s, _)| s))
            .collect();
        let skus: Vec<String> = skus.into_iter().collect();
        match pending::pending_units(
            ct,
            self.parts.state.as_ref(),
            &self.parts.export_channel_id,
            &self.sku_map,
            &skus,
            self.parts.rules.pending_order_days,
        )
        .await
        {
            Ok(pending) => facts.pending = pending,
            Err(reason) => {
                facts.failed = keys
                    .iter()
                    .map(|k| ((*k).clone(), reason.clone()))
                    .collect();
                return facts;
            }
        }
        let mut per_channel: BTreeMap<String, (Vec<Key>, Vec<String>)> = BTreeMap::new();
        for key in keys {
            // Every site reaching here was checked against the channels when it was read.
            let Some(channel) = self.parts.channels.get(&key.site) else {
                continue;
            };
            let (keys, skus) = per_channel.entry(channel.clone()).or_default();
            keys.push(key.clone());
            skus.extend(self.sku_map.skus_of(&key.item).into_iter().map(|(s, _)| s));
        }
        let reads: Vec<_> = futures::stream::iter(per_channel)
            .map(|(channel, (keys, skus))| async move {
                let entries = ct.query_inventory(Some(&channel), &skus).await;
                (channel, keys, entries)
            })
            .buffered(4)
            .collect()
            .await;
        for (channel, keys, entries) in reads {
            match entries {
                Ok(list) => {
                    let by_sku = list.into_iter().map(|e| (e.sku.clone(), e)).collect();
                    facts.entries.insert(channel, by_sku);
                }
                Err(e) => {
                    let reason = format!("reading commercetools inventory: {e}");
                    for key in keys {
                        facts.failed.insert(key, reason.clone());
                    }
                }
            }
        }
        facts
    }

    /// The target of every SKU of every pair with a figure and readable facts:
    /// `sellable(available, pending, buffer, factor)`.
    pub(super) fn targets(
        &self,
        facts: &Facts,
        figures: &BTreeMap<Key, Figure>,
        groups: &BTreeMap<Key, Group>,
    ) -> Vec<Planned> {
        let mut planned = Vec::new();
        for (key, figure) in figures {
            if facts.failed.contains_key(key) {
                continue;
            }
            let Some(channel) = self.parts.channels.get(&key.site) else {
                continue;
            };
            let entries = facts.entries.get(channel);
            let pending_units = facts
                .pending
                .get(&(channel.clone(), key.item.clone()))
                .copied()
                .unwrap_or(0);
            let buffer = i64::from(self.parts.rules.buffer(&key.site));
            for (sku, factor) in self.sku_map.skus_of(&key.item) {
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
                    sources: groups
                        .get(key)
                        .map(|g| g.sources.clone())
                        .unwrap_or_default(),
                    result: None,
                };
                let target = Target {
                    channel_id: channel.clone(),
                    entry: entries.and_then(|e| e.get(&sku)).cloned(),
                    sku,
                    quantity,
                };
                planned.push(Planned {
                    key: key.clone(),
                    facts,
                    target,
                });
            }
        }
        planned
    }

    /// Brings every planned entry to its target, a few at a time; counts and fates follow
    /// what happened.
    pub(super) async fn apply_targets(
        &self,
        planned: Vec<Planned>,
        create_missing: bool,
        fates: &mut BTreeMap<Key, Fate>,
        report: &mut StockReport,
    ) -> Vec<(Key, EntryAudit)> {
        let ct = &self.parts.ct;
        let done: Vec<_> = futures::stream::iter(planned)
            .map(|p| async move {
                let attempted = apply::apply(ct, p.target, create_missing).await;
                (p.key, p.facts, attempted)
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
}
