//! Steps 4–5 of a batch: the entries read per channel, the unallocated units, a target per
//! commercetools SKU, and the writes that bring each entry to its target. The reads
//! ([`StockDelta::read_facts`]), the targets ([`StockDelta::targets`]) and the writes
//! ([`StockDelta::apply_targets`]) are separate so that the nightly reconciliation compares
//! on the facts it read and writes only what differs, through the same code.
//!
//! # Why the entries are read before the pending orders
//!
//! The target is `A − P − B` where `A` is Peoplevox's available figure (true at `tA`), `P` the
//! units Peoplevox had not allocated at `tA` ([`pending`]), `B` the buffer. The entry's
//! `quantityOnStock` `Q` is read with its version `v`, and the difference is written on
//! condition of `v`. Take an order `O` of `u` units and the moments it touches the two reads:
//!
//! - **Placed** (`tp`): commercetools lowers `Q` by `u` and bumps `v` in the same step as it
//!   creates `O`, which from then on is pending (no mark). The entry is read at `tQ`, the
//!   pending orders at `tP > tQ`, the write lands at `tW`:
//!   - `tp < tQ`: `Q` and `P` both hold `O`: right.
//!   - `tQ < tp < tW`: `v` has moved, so the write is refused (409). The entry is read again,
//!     then the pending orders, and the target planned again ([`apply`]): `O` is in both.
//!     (Re-reading the entry alone would keep a target without `u` and write `u` back.)
//!   - `tp > tW`: `O` lowers what we wrote by `u`, and `P` did not hold it: right.
//!
//!   The other order, pending first, is what this replaced: `tP < tp < tQ` gives an entry that
//!   has lost `u` at a version that stays current, a `P` without `O`, and a write of `u` back:
//!   the storefront sells `O`'s units twice.
//! - **Exported** (Peoplevox allocates at `ta`, `A` drops by `u`; the mark is stamped at
//!   `tm > ta`): the mark does not touch the entry, so the read order does not matter here;
//!   what matters is the figure's age. `P` holds `O` while it has no mark *or its mark is
//!   younger than `tA`*. If `tA < ta`, then `tA < tm`: `O` is in `P` and not in `A`: right,
//!   however late the batch runs. If `tA ≥ tm`, `O` is in `A` and not in `P`: right. If
//!   `ta ≤ tA < tm`, `O` is in both: low by `u` (never oversold), until a figure newer than
//!   the mark: the export sends a recheck that reads one (`order_export/stock_hints.rs`).
//! - **Called back** (Peoplevox's AvailabilityChanges for the allocation, stamped at its
//!   receipt `tR ≥ ta`): a figure like any other, covered by the case above. A callback that
//!   arrives late, carrying a figure from before `ta` but stamped after `tm`, would count `O`
//!   nowhere: Peoplevox's callback order is undocumented, which is why every callback figure
//!   is confirmed by a re-read `stock.confirm_after_s` later ([`super::confirm`]).
//!
//! A cancelled order leaves `P` without touching the entry (commercetools gives no stock
//! back), so it is right in either read order. The reasoning assumes that commercetools
//! shows an order to queries once it has lowered the entry (one request creates both), and
//! that Peoplevox allocates an order when it imports it (SaveData's default action, `0`,
//! allocates; `1` is "do not allocate": api/peoplevox.md, melvin-hamilton-digital
//! `Client.php`).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use super::apply::{self, Applied, NotApplied, Retarget, Target};
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
        let figures: BTreeMap<Key, Figure> = figures
            .iter()
            .map(|(key, v)| (key.clone(), v.row.figure.clone()))
            .collect();
        let facts = self.read_facts(&figures).await;
        for (key, reason) in &facts.failed {
            fates.insert(key.clone(), Fate::Retry(reason.clone()));
        }
        let planned = self.targets(&facts, &figures, groups);
        let create_missing = self.parts.rules.create_missing_entries;
        self.apply_targets(planned, create_missing, fates, report)
            .await
    }

    /// Reads the pairs' entries (one query per channel and 500 SKUs), *then* the orders that
    /// may hold their units unallocated (one query per 500 SKUs); see the module comment for
    /// why in that order.
    pub(super) async fn read_facts(&self, figures: &BTreeMap<Key, Figure>) -> Facts {
        let ct = &self.parts.ct;
        let mut facts = Facts::default();
        let mut per_channel: BTreeMap<String, (Vec<Key>, Vec<String>)> = BTreeMap::new();
        for key in figures.keys() {
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
        let skus: BTreeSet<String> = figures
            .keys()
            .flat_map(|key| self.sku_map.skus_of(&key.item).into_iter().map(|(s, _)| s))
            .collect();
        let skus: Vec<String> = skus.into_iter().collect();
        let oldest = figures.values().map(|f| f.at_ms).min().unwrap_or(0);
        match self.pending_units(&skus, oldest).await {
            Ok(pending) => facts.pending = pending,
            Err(reason) => {
                for key in figures.keys() {
                    facts.failed.insert(key.clone(), reason.clone());
                }
            }
        }
        facts
    }

    /// The orders holding any of `skus` that Peoplevox may not have allocated at
    /// `oldest_figure_ms` or later.
    async fn pending_units(
        &self,
        skus: &[String],
        oldest_figure_ms: i64,
    ) -> Result<pending::Pending, String> {
        pending::pending_units(
            &self.parts.ct,
            self.parts.state.as_ref(),
            &self.parts.export_channel_id,
            &self.sku_map,
            skus,
            self.parts.rules.pending_order_days,
            oldest_figure_ms,
        )
        .await
    }

    /// One entry's target again, from the pending orders read now (after the entry was read
    /// again) and the figure it was planned from.
    async fn retarget(&self, facts: &EntryAudit, item: &str) -> Result<Retarget, String> {
        let skus: Vec<String> = self
            .sku_map
            .skus_of(item)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let pending = self.pending_units(&skus, facts.figure_at_ms).await?.units(
            &facts.channel_id,
            item,
            facts.figure_at_ms,
        );
        Ok(Retarget {
            pending,
            quantity: sellable(facts.available, pending, facts.buffer, facts.factor),
        })
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
            let pending_units = facts.pending.units(channel, &key.item, figure.at_ms);
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
                let retarget = || self.retarget(&p.facts, &p.key.item);
                let attempted = apply::apply(ct, p.target, create_missing, retarget).await;
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
            if let Some(again) = attempted.retargeted {
                facts.pending = again.pending;
                facts.target = again.quantity;
            }
            facts.result = Some(attempted.result);
            audits.push((key, facts));
        }
        audits
    }
}
