//! What a run tells whoever watches it as it goes: the operator's progress bars and the full
//! difference list of `ctpvx reconcile --report`. A Lambda watches nothing ([`Quiet`]); its
//! report is the checkpoint's.

use super::report::Drift;
use super::run::Stage;

/// Callbacks of a run in progress; every method has a do-nothing default.
pub trait Observer: Send + Sync {
    /// A stage begins (or resumes at `done` of `total` units, when known).
    fn stage(&self, _stage: &Stage, _done: u64, _total: Option<u64>) {}
    /// A unit (a page) of the stage is done.
    fn progress(&self, _stage: &Stage, _done: u64, _total: Option<u64>) {}
    /// An entry that differed, with what became of it.
    fn difference(&self, _drift: &Drift) {}
    /// A Peoplevox item without any commercetools entry at the site's channel.
    fn only_in_peoplevox(&self, _site: &str, _item: &str) {}
    /// A commercetools entry whose item Peoplevox does not list at the site.
    fn only_in_commercetools(&self, _site: &str, _sku: &str) {}
    /// An order, despatch, status or cancellation sent back to its queue (or that would be,
    /// in a dry run); `kind` is `order`, `despatch`, `tracking` (a despatch re-read for late
    /// tracking), `status`, `cancellation` or `return`.
    fn requeued(&self, _kind: &str, _id: &str) {}
}

/// Watches nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {}
