//! The drift report of a run: what differed, what was done about it, per site and per sweep.
//! It travels in the run's checkpoint (so it survives invocations), is written to the audit
//! log when the run ends, and is summed up in one log line in the style of
//! commercetools-sync-java ("N processed, M updated, K failed"). SKUs, item codes, order and
//! despatch numbers only: no personal data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::flows::stock_delta::{Difference, PageOutcome, Resolution};

/// Failure reasons kept in a report (the count goes on).
const MAX_REASONS: usize = 20;

/// One difference in the report, with what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The entry as compared.
    #[serde(flatten)]
    pub difference: Difference,
    /// `target - current`.
    pub delta: i64,
    /// `updated`, `already-right`, `superseded`, `failed` or `not-written` (dry run).
    pub resolution: String,
}

impl Drift {
    /// The report row of a difference.
    pub fn new(difference: &Difference, resolution: Resolution) -> Self {
        let resolution = serde_json::to_value(resolution)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Self {
            delta: difference.delta(),
            difference: difference.clone(),
            resolution,
        }
    }
}

/// Stock drift at one site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDrift {
    /// Peoplevox pages read.
    pub pages: u32,
    /// Peoplevox items compared.
    pub items: usize,
    /// commercetools entries compared.
    pub entries: usize,
    /// Entries at their target.
    pub unchanged: usize,
    /// Entries that differed (the drift before the run).
    pub differences: usize,
    /// Sum of `|target - current|` over the differences.
    pub units_off: i64,
    /// Entries written to their target.
    pub updated: usize,
    /// Entries found at their target when written.
    pub already_right: usize,
    /// Entries left to a newer live figure.
    pub superseded: usize,
    /// Entries (or items) that could not be compared or written.
    pub failed: usize,
    /// Peoplevox items without any commercetools entry at the site's channel.
    pub only_in_peoplevox: usize,
    /// commercetools entries at the channel whose item Peoplevox does not list at the site.
    pub only_in_commercetools: usize,
    /// The first few of each, for a person to look at.
    pub only_in_peoplevox_examples: Vec<String>,
    /// See [`SiteDrift::only_in_peoplevox_examples`].
    pub only_in_commercetools_examples: Vec<String>,
    /// The largest differences by `|delta|`.
    pub largest: Vec<Drift>,
}

impl SiteDrift {
    /// Adds a page's outcome, keeping the `keep` largest differences.
    pub fn absorb(&mut self, page: &PageOutcome, keep: usize) {
        self.pages += 1;
        self.items += page.items;
        self.entries += page.entries;
        self.unchanged += page.unchanged;
        self.failed += page.failed.len();
        self.only_in_peoplevox += page.only_in_peoplevox.len();
        add_examples(
            &mut self.only_in_peoplevox_examples,
            page.only_in_peoplevox.iter().cloned(),
            keep,
        );
        for (difference, resolution) in &page.differences {
            self.differences += 1;
            self.units_off += difference.delta().abs();
            match resolution {
                Resolution::Updated => self.updated += 1,
                Resolution::AlreadyRight => self.already_right += 1,
                Resolution::Superseded => self.superseded += 1,
                Resolution::Failed => {}
                Resolution::NotWritten => {}
            }
            self.largest.push(Drift::new(difference, *resolution));
        }
        self.largest.sort_by(|a, b| {
            b.delta
                .abs()
                .cmp(&a.delta.abs())
                .then(a.difference.sku.cmp(&b.difference.sku))
        });
        self.largest.truncate(keep);
    }

    /// Entries still off their target after the run (dry run: all of them).
    pub fn remaining(&self) -> usize {
        self.differences - self.updated - self.already_right - self.superseded
    }
}

/// Adds examples up to `keep`.
pub fn add_examples(examples: &mut Vec<String>, more: impl Iterator<Item = String>, keep: usize) {
    let room = keep.saturating_sub(examples.len());
    examples.extend(more.take(room));
}

/// The order sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSweep {
    /// commercetools pages read. Defaulted so that a checkpoint written before the sweep was
    /// paged still reads.
    #[serde(default)]
    pub pages: u32,
    /// commercetools orders of the period without the export mark (cancelled ones excluded).
    pub unexported: usize,
    /// Sent back to the orders queue (the export flow exports each exactly once).
    pub requeued: usize,
    /// Held for items Peoplevox does not know: the held-order sweep re-queues them when the
    /// items appear.
    pub held_for_items: usize,
    /// The first few order numbers re-queued (or, in a dry run, that would be).
    pub examples: Vec<String>,
}

/// The despatch sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DespatchSweep {
    /// Peoplevox report pages read.
    pub pages: u32,
    /// Despatches in the period.
    pub despatches: usize,
    /// ... that have their commercetools delivery.
    pub delivered: usize,
    /// ... without one: sent to the shipments queue (or, dry, would be).
    pub requeued: usize,
    /// ... of sales orders commercetools does not know.
    pub unknown_orders: usize,
    /// ... delivered, but with a parcel that has no tracking number: re-queued as well, so
    /// that the shipment flow reads the packages again (a tracking number Peoplevox got later,
    /// whose callback was lost).
    #[serde(default)]
    pub untracked: usize,
    /// Despatched after this (epoch ms): the watermark the sweep read from.
    pub from_ms: i64,
    /// The first few despatch numbers re-queued.
    pub examples: Vec<String>,
}

/// The sweep of late tracking: deliveries of the last `tracking_days` that lack a tracking
/// number, re-read in Peoplevox. Defaulted field by field, so that a checkpoint or report
/// written before the sweep existed still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackingSweep {
    /// commercetools pages read.
    pub pages: u32,
    /// Exported orders modified in the period (a delivery booked modifies its order).
    pub orders: usize,
    /// Their `pvx-` deliveries of the period with a parcel without a tracking number, or
    /// without a parcel.
    pub untracked: usize,
    /// ... despatched inside this run's despatch sweep window: that sweep re-queued them.
    pub left_to_despatch_sweep: usize,
    /// ... whose despatch number cannot be told from the delivery (a key cut at 256
    /// characters, without the despatch number field): for a person to look at.
    pub unnamed: usize,
    /// Despatches re-read from Peoplevox.
    pub checked: usize,
    /// Peoplevox requests made.
    pub requests: u32,
    /// ... where Peoplevox shows a tracking number or package the delivery lacks: sent to the
    /// shipments queue (or, dry, would be).
    pub requeued: usize,
    /// ... where Peoplevox shows nothing more (still untracked there): left alone.
    pub unchanged: usize,
    /// ... that Peoplevox's despatch report does not list.
    pub not_in_peoplevox: usize,
    /// The first few despatch numbers re-queued.
    pub examples: Vec<String>,
}

/// The status sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSweep {
    /// commercetools pages read.
    pub pages: u32,
    /// Orders of the period with the export mark, or cancelled (with or without it).
    pub orders: usize,
    /// ... looked up in Peoplevox (the others are closed or cancelled on both sides already,
    /// or wait on a person's decision).
    pub checked: usize,
    /// Peoplevox requests made.
    pub requests: u32,
    /// Peoplevox status callbacks re-queued (or, dry, that would be).
    pub statuses_requeued: usize,
    /// commercetools cancellations re-queued (or, dry, that would be).
    pub cancellations_requeued: usize,
    /// Peoplevox returns of despatched orders not recorded on the order, re-queued (or, dry,
    /// that would be): their Returns callback was lost.
    #[serde(default)]
    pub returns_requeued: usize,
    /// Exported orders Peoplevox has no sales order of: for a person to look at.
    pub not_in_peoplevox: usize,
    /// Orders at a Peoplevox status nobody mapped (left alone: the status flow would only
    /// audit it).
    pub unmapped: usize,
    /// The first few order numbers re-queued.
    pub examples: Vec<String>,
    /// The first few exported order numbers Peoplevox does not have.
    pub not_in_peoplevox_examples: Vec<String>,
}

impl StatusSweep {
    /// Messages re-queued of both kinds.
    pub fn requeued(&self) -> usize {
        self.statuses_requeued + self.cancellations_requeued + self.returns_requeued
    }
}

/// A run's report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The run.
    pub run: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// When the run started, epoch ms.
    pub started_at_ms: i64,
    /// When it finished, epoch ms.
    pub finished_at_ms: Option<i64>,
    /// Invocations that worked on it.
    pub invocations: u32,
    /// Stock per site.
    pub stock: BTreeMap<String, SiteDrift>,
    /// Orders that never reached Peoplevox.
    pub orders: OrderSweep,
    /// Despatches without a delivery.
    pub despatches: DespatchSweep,
    /// Tracking numbers and packages Peoplevox got after the despatch sweep's window.
    #[serde(default)]
    pub tracking: TrackingSweep,
    /// Statuses and cancellations that never arrived. Defaulted so that a checkpoint written
    /// before the sweep existed still reads.
    #[serde(default)]
    pub statuses: StatusSweep,
    /// Failures met on the way (the first few reasons).
    pub failures: Vec<String>,
    /// How many failures there were.
    pub failure_count: usize,
}

impl DriftReport {
    /// Records a failure reason.
    pub fn fail(&mut self, reason: String) {
        self.failure_count += 1;
        if self.failures.len() < MAX_REASONS {
            self.failures.push(reason);
        }
    }

    /// Entries compared over every site.
    pub fn processed(&self) -> usize {
        self.stock.values().map(|s| s.entries).sum()
    }

    /// Entries that differed over every site: the drift before the run.
    pub fn drift_before(&self) -> usize {
        self.stock.values().map(|s| s.differences).sum()
    }

    /// Entries written over every site.
    pub fn updated(&self) -> usize {
        self.stock.values().map(|s| s.updated).sum()
    }

    /// Entries still off their target (a dry run leaves them all).
    pub fn remaining(&self) -> usize {
        self.stock.values().map(SiteDrift::remaining).sum()
    }

    /// Failures of every kind.
    pub fn failed(&self) -> usize {
        self.failure_count + self.stock.values().map(|s| s.failed).sum::<usize>()
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let only_pvx: usize = self.stock.values().map(|s| s.only_in_peoplevox).sum();
        let only_ct: usize = self.stock.values().map(|s| s.only_in_commercetools).sum();
        let verb = if self.dry_run {
            "would update"
        } else {
            "updated"
        };
        format!(
            "reconcile {}{}: stock {} processed, {} {verb}, {} failed (drift {} entries, {} units; {} items only in Peoplevox, {} entries only in commercetools); orders {} unexported, {} re-queued; despatches {} read, {} re-queued; late tracking {} checked, {} re-queued; statuses {} checked, {} re-queued, {} cancellations and {} returns re-queued; {} failures",
            self.run,
            if self.dry_run { " (dry run)" } else { "" },
            self.processed(),
            if self.dry_run {
                self.drift_before()
            } else {
                self.updated()
            },
            self.stock.values().map(|s| s.failed).sum::<usize>(),
            self.drift_before(),
            self.stock.values().map(|s| s.units_off).sum::<i64>(),
            only_pvx,
            only_ct,
            self.orders.unexported,
            self.orders.requeued,
            self.despatches.despatches,
            self.despatches.requeued,
            self.tracking.checked,
            self.tracking.requeued,
            self.statuses.checked,
            self.statuses.statuses_requeued,
            self.statuses.cancellations_requeued,
            self.statuses.returns_requeued,
            self.failed(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(sku: &str, current: i64, target: i64) -> Difference {
        Difference {
            site: "S".into(),
            item: sku.into(),
            sku: sku.into(),
            current,
            target,
            available: target,
            pending: 0,
        }
    }

    #[test]
    fn pages_add_up_and_keep_the_largest() {
        let mut site = SiteDrift::default();
        let page = PageOutcome {
            items: 3,
            entries: 4,
            unchanged: 1,
            differences: vec![
                (difference("A", 5, 7), Resolution::Updated),
                (difference("B", 9, 1), Resolution::Superseded),
                (difference("C", 0, 1), Resolution::Failed),
            ],
            failed: vec![("C".into(), "boom".into())],
            only_in_peoplevox: vec!["D".into(), "E".into()],
            conflicts: 0,
        };
        site.absorb(&page, 2);
        site.absorb(&page, 2);
        assert_eq!((site.pages, site.items, site.entries), (2, 6, 8));
        assert_eq!((site.differences, site.units_off), (6, 22));
        assert_eq!((site.updated, site.superseded, site.failed), (2, 2, 2));
        assert_eq!(site.remaining(), 2);
        assert_eq!(site.only_in_peoplevox, 4);
        assert_eq!(site.only_in_peoplevox_examples, ["D", "E"]);
        let largest: Vec<i64> = site.largest.iter().map(|d| d.delta).collect();
        assert_eq!(largest, [-8, -8]);
        assert_eq!(site.largest[0].resolution, "superseded");
    }

    #[test]
    fn a_checkpoint_from_before_the_status_sweep_still_reads() {
        let mut old = serde_json::to_value(DriftReport::default()).unwrap();
        old.as_object_mut().unwrap().remove("statuses");
        let report: DriftReport = serde_json::from_value(old).unwrap();
        assert_eq!(report.statuses, StatusSweep::default());
    }

    #[test]
    fn a_checkpoint_from_before_the_tracking_sweep_still_reads() {
        let mut old = serde_json::to_value(DriftReport::default()).unwrap();
        old.as_object_mut().unwrap().remove("tracking");
        let report: DriftReport = serde_json::from_value(old).unwrap();
        assert_eq!(report.tracking, TrackingSweep::default());
        // A sweep written by an older build with fewer counts reads too.
        let partial: TrackingSweep =
            serde_json::from_value(serde_json::json!({"pages": 2, "requeued": 1})).unwrap();
        assert_eq!(
            (partial.pages, partial.requeued, partial.checked),
            (2, 1, 0)
        );
    }

    #[test]
    fn the_summary_names_the_counts() {
        let mut report = DriftReport {
            run: "r1".into(),
            ..DriftReport::default()
        };
        report.stock.insert(
            "S".into(),
            SiteDrift {
                entries: 10,
                differences: 3,
                updated: 3,
                units_off: 7,
                ..SiteDrift::default()
            },
        );
        report.statuses = StatusSweep {
            checked: 4,
            statuses_requeued: 2,
            cancellations_requeued: 1,
            ..StatusSweep::default()
        };
        report.tracking = TrackingSweep {
            checked: 5,
            requeued: 2,
            ..TrackingSweep::default()
        };
        report.fail("x".into());
        let line = report.summary();
        assert!(
            line.contains("late tracking 5 checked, 2 re-queued"),
            "{line}"
        );
        assert!(
            line.contains(
                "statuses 4 checked, 2 re-queued, 1 cancellations and 0 returns re-queued"
            ),
            "{line}"
        );
        assert_eq!(report.statuses.requeued(), 3);
        assert!(
            line.contains("stock 10 processed, 3 updated, 0 failed (drift 3 entries, 7 units"),
            "{line}"
        );
        assert!(line.ends_with("1 failures"), "{line}");
    }
}
