//! Steps 4–5 of a batch: the unallocated units, a target per commercetools SKU, the entries
//! read per channel, and the writes that bring each entry to its target.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::apply::{self, Applied, NotApplied, Target};
use super::audit::EntryAudit;
use super::ledger::Versioned;
use super::message::{Group, Key};
use super::{Fate, StockDelta, StockReport, pending};
use crate::commercetools::types::InventoryEntry;
use crate::domain::sellable;

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
            // Every site reaching here was checked against the channels when the batch was read.
            let Some(channel) = self.parts.channels.get(&key.site) else {
                continue;
            };
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
                let Some(figure) = figures.get(&key).map(|v| &v.row.figure) else {
                    continue;
                };
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
                    sources: groups
                        .get(&key)
                        .map(|g| g.sources.clone())
                        .unwrap_or_default(),
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
}
