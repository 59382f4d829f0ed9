//! The other side of a site: every commercetools inventory entry at the site's channel, read
//! with an id cursor over concurrent id ranges (500 a page, `withTotal=false`), checked
//! against the items Peoplevox listed for the site in this run's stock stage. An entry whose
//! item Peoplevox does not list is reported, never changed: it may be stock the merchant
//! manages elsewhere, and guessing it to zero could stop sales.
//!
//! A channel can hold hundreds of thousands of entries, so the scan stops at the deadline
//! between pages like every stage, and is checkpointed after every page: the cursor keeps
//! where each id range stands and the report what was found so far, so the next invocation
//! goes on from there and counts every entry once.

use futures::StreamExt;

use super::run::{self, Stage, Versioned, seen};
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::commercetools::scan::{RangeCursor, RangePage};

impl NightlyReconcile {
    /// Reports the commercetools-only entries of a site, until the scan is done or the budget
    /// is spent. The scan counts as one unit of the budget: its pages arrive from concurrent
    /// ranges in no set number, and a scan cut short counts for the pages it checkpointed.
    pub(super) async fn unmatched_stage(
        &self,
        current: &mut Versioned,
        site: &str,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let stage = Stage::Unmatched {
            site: site.to_string(),
        };
        let read = |current: &Versioned| u64::try_from(current.state.cursor.rows_done).unwrap_or(0);
        work.observer.stage(&stage, read(current), None);
        let Some(channel) = self.parts.stock.site_channels().get(site).cloned() else {
            return Err(ReconcileError::Invalid(format!(
                "site `{site}` has no supply channel"
            )));
        };
        // Sorted item codes: half the memory of a hash set, and a binary search is enough.
        let listed = seen::all(self.parts.state.as_ref(), &current.state.id, site).await?;
        let ranges = &mut current.state.cursor.ranges;
        if ranges.is_empty() {
            *ranges = vec![RangeCursor::default(); self.parts.rules.scan_partitions.max(1)];
        }
        let mut pages = self.parts.ct.inventory_pages(&channel, ranges);
        let mut checkpointed = false;
        let end = loop {
            // Every range read: done, without waiting for the next invocation to find out.
            if current.state.cursor.ranges.iter().all(|r| r.done) {
                break StageEnd::Done;
            }
            if work.exhausted() {
                break StageEnd::OutOfTime;
            }
            let Some(page) = pages.next().await else {
                break StageEnd::Done;
            };
            self.unmatched_page(current, site, &listed, page?, work)
                .await?;
            checkpointed = true;
            work.observer.progress(&stage, read(current), None);
        };
        if checkpointed || matches!(end, StageEnd::Done) {
            work.units += 1;
        }
        Ok(end)
    }

    /// One page: its entries checked against the items Peoplevox listed, what it found added
    /// to the report, the checkpoint moved past it.
    async fn unmatched_page(
        &self,
        current: &mut Versioned,
        site: &str,
        listed: &[Box<str>],
        page: RangePage,
        work: &Work<'_>,
    ) -> Result<(), ReconcileError> {
        let keep = self.parts.rules.largest;
        let state = &mut current.state;
        let drift = state.report.stock.entry(site.to_string()).or_default();
        for entry in &page.entries {
            let item = self.parts.stock.item_of(&entry.sku);
            if listed.binary_search_by(|s| s.as_ref().cmp(item)).is_err() {
                drift.only_in_commercetools += 1;
                if drift.only_in_commercetools_examples.len() < keep {
                    drift.only_in_commercetools_examples.push(entry.sku.clone());
                }
                work.observer.only_in_commercetools(site, &entry.sku);
            }
        }
        let cursor = &mut state.cursor;
        cursor.rows_done += i64::try_from(page.entries.len()).unwrap_or(i64::MAX);
        if let Some(range) = cursor.ranges.get_mut(page.range) {
            *range = page.cursor;
        }
        run::save(self.parts.state.as_ref(), current).await?;
        Ok(())
    }
}
