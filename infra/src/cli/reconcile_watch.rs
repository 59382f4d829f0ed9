//! What `ctpvx reconcile` shows and keeps while a run goes: a progress bar per stage when
//! stderr is a terminal (nothing otherwise, so logs and pipes stay clean), and every
//! difference, one-sided item and re-queued order or despatch for the report file.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ctpvx_shared::flows::nightly_reconcile::report::Drift;
use ctpvx_shared::flows::nightly_reconcile::{Observer, Stage};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// A row of the report file that is not a difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `only-in-peoplevox`, `only-in-commercetools`, `order-requeued`, `despatch-requeued`,
    /// `status-requeued`, `cancellation-requeued`.
    pub kind: String,
    /// The site, for stock rows.
    pub site: String,
    /// The item, SKU, order or despatch number.
    pub id: String,
}

/// Everything a run reported as it went.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every entry that differed.
    pub differences: Vec<Drift>,
    /// Everything else worth a row.
    pub notes: Vec<Note>,
}

/// Progress bars and the collected rows.
pub struct Watch {
    bars: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
    collected: Mutex<Collected>,
}

impl Watch {
    /// Bars only when `show` (stderr is a terminal).
    pub fn new(show: bool) -> Self {
        Self {
            bars: show.then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new()))),
            collected: Mutex::new(Collected::default()),
        }
    }

    /// What was collected.
    pub fn into_collected(self) -> Collected {
        self.collected
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn bar(&self, stage: &Stage, done: u64, total: Option<u64>) {
        let Some((multi, bars)) = &self.bars else {
            return;
        };
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(stage.to_string()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::no_length());
            let style = ProgressStyle::with_template(
                "{prefix:>34} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(stage.to_string());
            bar
        });
        if let Some(total) = total {
            bar.set_length(total.max(done));
        }
        bar.set_position(done);
        if total.is_some_and(|t| done >= t) {
            bar.finish();
        }
    }

    fn note(&self, kind: &str, site: &str, id: &str) {
        self.collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .notes
            .push(Note {
                kind: kind.into(),
                site: site.into(),
                id: id.into(),
            });
    }

    /// Closes the bars.
    pub fn finish(&self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
                bar.finish();
            }
        }
    }
}

impl Observer for Watch {
    fn stage(&self, stage: &Stage, done: u64, total: Option<u64>) {
        self.bar(stage, done, total);
    }
    fn progress(&self, stage: &Stage, done: u64, total: Option<u64>) {
        self.bar(stage, done, total);
    }
    fn difference(&self, drift: &Drift) {
        self.collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .differences
            .push(drift.clone());
    }
    fn only_in_peoplevox(&self, site: &str, item: &str) {
        self.note("only-in-peoplevox", site, item);
    }
    fn only_in_commercetools(&self, site: &str, sku: &str) {
        self.note("only-in-commercetools", site, sku);
    }
    fn requeued(&self, kind: &str, id: &str) {
        self.note(&format!("{kind}-requeued"), "", id);
    }
}
