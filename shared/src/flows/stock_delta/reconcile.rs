//! A page of the nightly reconciliation through the stock flow: Peoplevox figures read in bulk
//! are compared with commercetools on the same facts and formula as a callback, and only the
//! entries that differ go through the flow's own ledger, writes, catch-up and audit.
//!
//! A figure read at `read_at_ms` is a figure like any callback's: if the ledger holds a newer
//! one (a callback that arrived after the read), the live flow's figure stands and the pair is
//! left alone. Each item keeps the time of its own read: a page's items and the items re-read
//! at its edges were read at different times. An item with no commercetools entry at the
//! site's channel is reported, never created: the reconciliation repairs what exists and
//! invents nothing.

use std::collections::BTreeMap;

use super::apply::Applied;
use super::ledger::{Figure, Versioned};
use super::message::{Group, Key, Reported};
use super::{Fate, StockDelta, StockReport};

/// Where a reconciliation figure comes from, in the ledger and the audit trail.
pub const RECONCILE_SOURCE: &str = "reconcile";

/// An item's `Available` at a site as one Peoplevox read found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFigure {
    /// Peoplevox item.
    pub item: String,
    /// `Available`, the item's rows at the site added up.
    pub available: i64,
    /// When the read began, epoch ms: the figure held at some moment after it, so a live
    /// figure received later is the newer one.
    pub read_at_ms: i64,
}

/// One page of a site's availability, one figure per item.
#[derive(Debug, Clone)]
pub struct ReconcilePage {
    /// Peoplevox site (one of `[stock.sites]`).
    pub site: String,
    /// Each item once, with the time of the read it came from.
    pub items: Vec<ItemFigure>,
    /// Names the run in the audit trail, e.g. `reconcile:2026-11-30T02:00:00Z`.
    pub run: String,
}

/// One commercetools entry that is not at its target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Difference {
    /// Peoplevox site.
    pub site: String,
    /// Peoplevox item.
    pub item: String,
    /// commercetools SKU (the item or one of its packs).
    pub sku: String,
    /// `quantityOnStock` in commercetools when compared.
    pub current: i64,
    /// What it should be: `sellable(available, pending, buffer, factor)`.
    pub target: i64,
    /// Peoplevox `Available`.
    pub available: i64,
    /// Units of orders Peoplevox has not allocated yet.
    pub pending: i64,
}

impl Difference {
    /// `target - current`.
    pub fn delta(&self) -> i64 {
        self.target - self.current
    }
}

/// What became of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Written to its target.
    Updated,
    /// Found at its target when written (another writer got there first).
    AlreadyRight,
    /// A newer live figure stands; the stock flow owns the pair.
    Superseded,
    /// Could not be written; the reason is in [`PageOutcome::failed`].
    Failed,
    /// A dry run: nothing written.
    NotWritten,
}

/// What one page did.
#[derive(Debug, Clone, Default)]
pub struct PageOutcome {
    /// Peoplevox items compared.
    pub items: usize,
    /// commercetools entries compared (an item's own entry and its packs').
    pub entries: usize,
    /// Entries at their target.
    pub unchanged: usize,
    /// Every entry that differed, with what became of it.
    pub differences: Vec<(Difference, Resolution)>,
    /// Items whose facts or writes failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Items with no commercetools entry at the site's channel.
    pub only_in_peoplevox: Vec<String>,
    /// Version conflicts met and resolved.
    pub conflicts: usize,
}

impl StockDelta {
    /// The supply channel id of each configured site.
    pub fn site_channels(&self) -> &BTreeMap<String, String> {
        &self.parts.channels
    }

    /// The id of the OrderExport channel (orders without its mark are not allocated yet).
    pub fn export_channel_id(&self) -> &str {
        &self.parts.export_channel_id
    }

    /// The Peoplevox item behind a commercetools SKU.
    pub fn item_of<'a>(&'a self, sku: &'a str) -> &'a str {
        self.sku_map.item_of(sku).0
    }

    /// Compares one page with commercetools and, unless `dry_run`, brings the differing
    /// entries to their targets.
    pub async fn reconcile_page(&self, page: ReconcilePage, dry_run: bool) -> PageOutcome {
        let mut outcome = PageOutcome {
            items: page.items.len(),
            ..PageOutcome::default()
        };
        let figures: BTreeMap<Key, Figure> = page
            .items
            .iter()
            .map(|read| {
                let key = Key {
                    site: page.site.clone(),
                    item: read.item.clone(),
                };
                let figure = Figure {
                    available: read.available,
                    at_ms: read.read_at_ms,
                    source: RECONCILE_SOURCE.into(),
                };
                (key, figure)
            })
            .collect();
        let facts = self.read_facts(&figures).await;
        for (key, reason) in &facts.failed {
            outcome.failed.push((key.item.clone(), reason.clone()));
        }
        let planned = self.targets(&facts, &figures, &BTreeMap::new());
        // Items with no entry for any of their SKUs exist in Peoplevox only.
        let mut has_entry: BTreeMap<&Key, bool> = figures
            .keys()
            .filter(|key| !facts.failed.contains_key(*key))
            .map(|key| (key, false))
            .collect();
        let mut differing = Vec::new();
        for p in planned {
            let Some(entry) = &p.target.entry else {
                continue;
            };
            if let Some(seen) = has_entry.get_mut(&p.key) {
                *seen = true;
            }
            outcome.entries += 1;
            if entry.quantity_on_stock == p.target.quantity {
                outcome.unchanged += 1;
                continue;
            }
            let difference = Difference {
                site: p.key.site.clone(),
                item: p.key.item.clone(),
                sku: p.target.sku.clone(),
                current: entry.quantity_on_stock,
                target: p.target.quantity,
                available: p.facts.available,
                pending: p.facts.pending,
            };
            differing.push((difference, p));
        }
        outcome.only_in_peoplevox = has_entry
            .into_iter()
            .filter(|(_, seen)| !seen)
            .map(|(key, _)| key.item.clone())
            .collect();
        if dry_run || differing.is_empty() {
            outcome.differences = differing
                .into_iter()
                .map(|(d, _)| (d, Resolution::NotWritten))
                .collect();
            return outcome;
        }
        self.write_differences(&page, differing, &mut outcome).await;
        outcome
    }

    /// The differing entries through the flow: the ledger decides whether the page's figure
    /// is the newest, the entries are written from the facts already read, then marked, with
    /// the flow's catch-up when a live worker touched the pair meanwhile.
    async fn write_differences(
        &self,
        page: &ReconcilePage,
        differing: Vec<(Difference, super::targets::Planned)>,
        outcome: &mut PageOutcome,
    ) {
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        let mut read_at: BTreeMap<Key, i64> = BTreeMap::new();
        for (_, p) in &differing {
            read_at.insert(p.key.clone(), p.facts.figure_at_ms);
            groups.entry(p.key.clone()).or_insert_with(|| Group {
                reported: Some(Reported {
                    available: p.facts.available,
                    at_ms: p.facts.figure_at_ms,
                    event_id: page.run.clone(),
                    source: RECONCILE_SOURCE,
                }),
                sources: vec![page.run.clone()],
                ..Group::default()
            });
        }
        let mut fates: BTreeMap<Key, Fate> = BTreeMap::new();
        let mut report = StockReport::default();
        let plans = self.plan(&groups, &mut fates).await;
        let (figures, mut stale) = self.figures(plans, &mut fates, &mut report).await;
        // Only pairs whose ledger now holds this page's figure are ours to write and mark; a
        // newer live figure (recorded, or still being applied) belongs to the stock flow,
        // which applies and marks it itself.
        let (ours, theirs): (BTreeMap<Key, Versioned>, BTreeMap<Key, Versioned>) =
            figures.into_iter().partition(|(key, row)| {
                row.row.figure.source == RECONCILE_SOURCE
                    && read_at.get(key) == Some(&row.row.figure.at_ms)
            });
        stale.extend(theirs.into_keys());
        let mut keys = Vec::with_capacity(differing.len());
        let mut to_write = Vec::new();
        for (difference, p) in differing {
            keys.push((difference, p.key.clone()));
            if ours.contains_key(&p.key) {
                to_write.push(p);
            }
        }
        let audits = self
            .apply_targets(to_write, false, &mut fates, &mut report)
            .await;
        let written: BTreeMap<(Key, String), bool> = audits
            .iter()
            .filter_map(|(key, facts)| match &facts.result {
                Some(Ok(Applied::Written { .. })) => Some(((key.clone(), facts.sku.clone()), true)),
                Some(Ok(_)) => Some(((key.clone(), facts.sku.clone()), false)),
                _ => None,
            })
            .collect();
        self.finish(&groups, &ours, audits, &stale, &mut fates, &mut report)
            .await;
        outcome.conflicts += report.conflicts;
        for (key, fate) in &fates {
            if let Fate::Retry(reason) | Fate::DeadLetter(reason) = fate {
                outcome.failed.push((key.item.clone(), reason.clone()));
            }
        }
        for (difference, key) in keys {
            let resolution = match fates.get(&key) {
                Some(Fate::Retry(_) | Fate::DeadLetter(_)) => Resolution::Failed,
                _ if !ours.contains_key(&key) => Resolution::Superseded,
                _ => match written.get(&(key, difference.sku.clone())) {
                    Some(true) => Resolution::Updated,
                    Some(false) => Resolution::AlreadyRight,
                    None => Resolution::Superseded,
                },
            };
            outcome.differences.push((difference, resolution));
        }
    }
}
