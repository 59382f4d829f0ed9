//! The other side of a site: every commercetools inventory entry at the site's channel, read
//! with an id cursor over concurrent id ranges (500 a page, `withTotal=false`), checked
//! against the items Peoplevox listed for the site in this run's stock stage. An entry whose
//! item Peoplevox does not list is reported, never changed: it may be stock the merchant
//! manages elsewhere, and guessing it to zero could stop sales.

use futures::StreamExt;

use super::run::{Stage, Versioned, seen};
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};

impl NightlyReconcile {
    /// Reports the commercetools-only entries of a site (one unit).
    pub(super) async fn unmatched_stage(
        &self,
        current: &mut Versioned,
        site: &str,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let stage = Stage::Unmatched {
            site: site.to_string(),
        };
        work.observer.stage(&stage, 0, None);
        let stock = &self.parts.stock;
        let Some(channel) = stock.site_channels().get(site).cloned() else {
            return Err(ReconcileError::Invalid(format!(
                "site `{site}` has no supply channel"
            )));
        };
        // Sorted item codes: half the memory of a hash set, and a binary search is enough.
        let listed = seen::all(self.parts.state.as_ref(), &current.state.id, site).await?;
        let mut pages = self
            .parts
            .ct
            .inventory_pages(&channel, self.parts.rules.scan_partitions);
        let keep = self.parts.rules.largest;
        let mut found = 0usize;
        let mut examples = Vec::new();
        let mut read = 0u64;
        while let Some(page) = pages.next().await {
            for entry in page? {
                read += 1;
                let item = stock.item_of(&entry.sku);
                if listed.binary_search_by(|s| s.as_ref().cmp(item)).is_err() {
                    found += 1;
                    if examples.len() < keep {
                        examples.push(entry.sku.clone());
                    }
                    work.observer.only_in_commercetools(site, &entry.sku);
                }
            }
            work.observer.progress(&stage, read, None);
        }
        let drift = current
            .state
            .report
            .stock
            .entry(site.to_string())
            .or_default();
        drift.only_in_commercetools = found;
        drift.only_in_commercetools_examples = examples;
        work.units += 1;
        Ok(StageEnd::Done)
    }
}
