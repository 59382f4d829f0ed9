//! A run's checkpoint: its stages, where it stands, its report so far and who works on it.
//! One state-store item (pk `reconcile-run`, sk = run id), written after every unit of work
//! under optimistic concurrency, so that:
//! - a follow-up invocation resumes exactly where the last checkpoint says, neither redoing
//!   nor skipping a page;
//! - two invocations never work on one run at once: an invocation takes a lease (until its
//!   own deadline), and a checkpoint write fails if someone else wrote since.

use serde::{Deserialize, Serialize};

use super::report::DriftReport;
use crate::commercetools::scan::RangeCursor;
use crate::store::{Condition, StateStore, StoreError, now_epoch_ms, now_epoch_s};

/// Partition of run checkpoints.
const PK: &str = "reconcile-run";
/// How long a run's checkpoint is kept after its start.
const KEEP_S: i64 = 30 * 24 * 3600;

/// One stage of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Stage {
    /// commercetools orders without the export mark → re-queued.
    Orders,
    /// Peoplevox despatches without a delivery → re-queued.
    Despatches,
    /// Deliveries of the last `tracking_days` with a parcel that lacks its tracking number →
    /// re-read in Peoplevox, re-queued where it shows more.
    Tracking,
    /// Order statuses Peoplevox reports but commercetools does not show, and commercetools
    /// cancellations Peoplevox does not show → re-queued on the status queue.
    Statuses,
    /// Every item at a site: compared and brought in line.
    Stock {
        /// Peoplevox site.
        site: String,
    },
    /// commercetools entries at a site's channel whose item Peoplevox does not list.
    Unmatched {
        /// Peoplevox site.
        site: String,
    },
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Orders => f.write_str("orders"),
            Self::Despatches => f.write_str("despatches"),
            Self::Tracking => f.write_str("late tracking"),
            Self::Statuses => f.write_str("statuses"),
            Self::Stock { site } => write!(f, "stock {site}"),
            Self::Unmatched { site } => write!(f, "commercetools-only entries {site}"),
        }
    }
}

/// Where the run stands within its current stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Index of the current stage.
    pub stage: usize,
    /// The next Peoplevox page to compare (1-based), in a paged stage.
    pub page: u32,
    /// Rows the stage's report has, once a page told (`TotalCount`).
    pub total_rows: Option<i64>,
    /// Rows read so far in this stage (all pages before `page`).
    #[serde(default)]
    pub rows_done: i64,
    /// A stock stage: the last item of the previous page, held back because its rows may go
    /// on in the next page (one row per location), with the units read so far.
    pub carry: Option<(String, i64)>,
    /// When the read that found all of `carry`'s rows began, epoch ms; `None` when no single
    /// read did (or the checkpoint predates this field), and the item must be re-read.
    #[serde(default)]
    pub carry_read_at_ms: Option<i64>,
    /// A despatch stage: the last despatch of the previous page (its rows may go on). The
    /// status, order and late-tracking stages: the id of the last commercetools order done.
    pub last_key: Option<String>,
    /// A commercetools-only scan: where each of its id ranges stands (empty before it starts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangeCursor>,
}

/// How long a hold lasts past the last checkpoint: longer than the slowest page (a full budget
/// wait, a 60 s request and its retries), short enough that a killed holder's run is taken
/// over soon.
const HOLD_MS: i64 = 15 * 60 * 1000;

/// An invocation's hold on a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Random id of the holder.
    pub holder: String,
    /// Epoch ms after which the hold has lapsed: [`HOLD_MS`] after the last checkpoint, never
    /// past `cap_ms`.
    pub until_ms: i64,
    /// The holder's own end (a Lambda's deadline), epoch ms.
    pub cap_ms: i64,
}

impl Lease {
    fn renewed(&mut self) {
        self.until_ms = (now_epoch_ms().saturating_add(HOLD_MS)).min(self.cap_ms);
    }
}

/// A run's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// The run id.
    pub id: String,
    /// Only compare and report.
    pub dry_run: bool,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// Where it stands.
    pub cursor: Cursor,
    /// The report so far.
    pub report: DriftReport,
    /// Who works on it.
    pub lease: Option<Lease>,
}

impl RunState {
    /// The current stage, `None` once every stage is done.
    pub fn stage(&self) -> Option<&Stage> {
        self.stages.get(self.cursor.stage)
    }

    /// Moves to the next stage.
    pub fn next_stage(&mut self) {
        self.cursor = Cursor {
            stage: self.cursor.stage + 1,
            page: 1,
            ..Cursor::default()
        };
    }

    /// Whether every stage is done.
    pub fn finished(&self) -> bool {
        self.report.finished_at_ms.is_some()
    }
}

/// A checkpoint with the version that guards it.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The checkpoint.
    pub state: RunState,
    /// Its state-store version.
    pub version: u64,
}

fn encode(state: &RunState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Creates the run unless it exists; returns the checkpoint either way (a retried start
/// resumes, never restarts, a run).
pub async fn create(store: &dyn StateStore, state: RunState) -> Result<Versioned, StoreError> {
    let expires = Some(now_epoch_s() + KEEP_S);
    match store
        .put(
            PK,
            &state.id,
            &encode(&state)?,
            Condition::NotExists,
            expires,
        )
        .await
    {
        Ok(version) => Ok(Versioned { state, version }),
        Err(StoreError::ConditionFailed) => load(store, &state.id).await?.ok_or_else(|| {
            StoreError::Backend(format!("reconcile run {} vanished while created", state.id))
        }),
        Err(e) => Err(e),
    }
}

/// The checkpoint of a run.
pub async fn load(store: &dyn StateStore, id: &str) -> Result<Option<Versioned>, StoreError> {
    let Some(item) = store.get(PK, id).await? else {
        return Ok(None);
    };
    let state = serde_json::from_str(&item.data)
        .map_err(|e| StoreError::Corrupt(format!("reconcile run {id}: {e}")))?;
    Ok(Some(Versioned {
        state,
        version: item.version,
    }))
}

/// Writes a checkpoint if nobody wrote since `current` was read, renewing the holder's lease.
/// `ConditionFailed` means another invocation took the run over.
pub async fn save(store: &dyn StateStore, current: &mut Versioned) -> Result<(), StoreError> {
    if let Some(lease) = &mut current.state.lease {
        lease.renewed();
    }
    let expires = Some(current.state.report.started_at_ms / 1000 + KEEP_S);
    current.version = store
        .put(
            PK,
            &current.state.id,
            &encode(&current.state)?,
            Condition::Version(current.version),
            expires,
        )
        .await?;
    Ok(())
}

/// What taking a lease found.
#[derive(Debug)]
pub enum Leased {
    /// Ours until our deadline.
    Taken(Box<Versioned>),
    /// Another live invocation holds it.
    Busy,
    /// The run is already finished.
    Finished(Box<RunState>),
    /// No such run.
    Unknown,
}

/// Takes the run for `holder` (at most until `cap_ms`), unless a live lease or a finished run
/// stands in the way.
pub async fn lease(
    store: &dyn StateStore,
    id: &str,
    holder: &str,
    cap_ms: i64,
) -> Result<Leased, StoreError> {
    for _ in 0..4 {
        let Some(mut current) = load(store, id).await? else {
            return Ok(Leased::Unknown);
        };
        if current.state.finished() {
            return Ok(Leased::Finished(Box::new(current.state)));
        }
        if current
            .state
            .lease
            .as_ref()
            .is_some_and(|l| l.holder != holder && l.until_ms > now_epoch_ms())
        {
            return Ok(Leased::Busy);
        }
        current.state.lease = Some(Lease {
            holder: holder.to_string(),
            until_ms: 0,
            cap_ms,
        });
        current.state.report.invocations += 1;
        match save(store, &mut current).await {
            Ok(()) => return Ok(Leased::Taken(Box::new(current))),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Leased::Busy)
}

/// Lets go of a run that is paused (the next invocation takes it at once).
pub async fn release(store: &dyn StateStore, current: &mut Versioned) -> Result<(), StoreError> {
    current.state.lease = None;
    save(store, current).await
}

/// Lets go of a run after a failed unit, keeping the last checkpoint as written (whatever the
/// failed unit had counted in memory is dropped with it, so its retry counts once).
pub async fn release_after_failure(
    store: &dyn StateStore,
    id: &str,
    holder: &str,
) -> Result<(), StoreError> {
    let Some(mut current) = load(store, id).await? else {
        return Ok(());
    };
    if current
        .state
        .lease
        .as_ref()
        .is_some_and(|l| l.holder == holder)
    {
        release(store, &mut current).await?;
    }
    Ok(())
}

/// The items compared on one page of a site, kept for the run so that its last stage can
/// tell which commercetools entries Peoplevox does not list.
pub mod seen {
    use super::*;

    fn pk(run: &str, site: &str) -> String {
        format!("reconcile-seen#{run}#{site}")
    }

    /// Records the items of page `page`.
    pub async fn record(
        store: &dyn StateStore,
        run: &str,
        site: &str,
        page: u32,
        items: &[String],
    ) -> Result<(), StoreError> {
        let data = serde_json::to_string(items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // Kept a few days: long enough for the slowest run, never a growing table.
        let expires = Some(now_epoch_s() + 3 * 24 * 3600);
        store
            .put(
                &pk(run, site),
                &format!("page#{page:08}"),
                &data,
                Condition::Always,
                expires,
            )
            .await
            .map(|_| ())
    }

    /// Every item recorded for a site, sorted, each once.
    pub async fn all(
        store: &dyn StateStore,
        run: &str,
        site: &str,
    ) -> Result<Vec<Box<str>>, StoreError> {
        let pages = store.query(&pk(run, site), usize::MAX).await?;
        let mut items: Vec<Box<str>> = Vec::new();
        for (sk, item) in pages {
            let page: Vec<String> = serde_json::from_str(&item.data)
                .map_err(|e| StoreError::Corrupt(format!("reconcile page {sk}: {e}")))?;
            items.extend(page.into_iter().map(String::into_boxed_str));
        }
        items.sort_unstable();
        items.dedup();
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedStore;

    fn run(id: &str) -> RunState {
        RunState {
            id: id.into(),
            dry_run: false,
            stages: vec![Stage::Orders],
            cursor: Cursor::default(),
            report: DriftReport {
                run: id.into(),
                started_at_ms: now_epoch_ms(),
                ..DriftReport::default()
            },
            lease: None,
        }
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_its_lease_lapses() {
        let store = EmbeddedStore::in_memory().unwrap();
        create(store.as_ref(), run("r")).await.unwrap();
        // A second create finds the run instead of replacing it.
        let again = create(store.as_ref(), run("r")).await.unwrap();
        assert_eq!(again.version, 1);
        let far = now_epoch_ms() + 3_600_000;
        let Leased::Taken(mut a) = lease(store.as_ref(), "r", "a", far).await.unwrap() else {
            panic!("a takes the run");
        };
        assert!(matches!(
            lease(store.as_ref(), "r", "b", far).await.unwrap(),
            Leased::Busy
        ));
        // A checkpoint by a renews its hold; a stale writer cannot overwrite it.
        a.state.cursor.page = 7;
        save(store.as_ref(), &mut a).await.unwrap();
        let mut stale = load(store.as_ref(), "r").await.unwrap().unwrap();
        stale.version -= 1;
        assert!(matches!(
            save(store.as_ref(), &mut stale).await,
            Err(StoreError::ConditionFailed)
        ));
        // A holder whose end has passed holds nothing.
        release(store.as_ref(), &mut a).await.unwrap();
        let past = now_epoch_ms() - 1;
        assert!(matches!(
            lease(store.as_ref(), "r", "c", past).await.unwrap(),
            Leased::Taken(_)
        ));
        let Leased::Taken(d) = lease(store.as_ref(), "r", "d", far).await.unwrap() else {
            panic!("c's lease lapsed at its end");
        };
        assert_eq!(d.state.cursor.page, 7);
        assert_eq!(d.state.report.invocations, 3);
        assert!(matches!(
            lease(store.as_ref(), "nope", "d", far).await.unwrap(),
            Leased::Unknown
        ));
    }

    #[tokio::test]
    async fn a_failed_unit_leaves_the_last_checkpoint_and_frees_the_run() {
        let store = EmbeddedStore::in_memory().unwrap();
        create(store.as_ref(), run("r")).await.unwrap();
        let far = now_epoch_ms() + 3_600_000;
        let Leased::Taken(mut a) = lease(store.as_ref(), "r", "a", far).await.unwrap() else {
            panic!("a takes the run");
        };
        a.state.report.orders.requeued = 5;
        save(store.as_ref(), &mut a).await.unwrap();
        // Counted in memory by a unit that then failed: not kept.
        a.state.report.orders.requeued = 9;
        release_after_failure(store.as_ref(), "r", "a")
            .await
            .unwrap();
        let Leased::Taken(b) = lease(store.as_ref(), "r", "b", far).await.unwrap() else {
            panic!("the run is free again");
        };
        assert_eq!(b.state.report.orders.requeued, 5);
        // Another holder's failure does not free b's run.
        release_after_failure(store.as_ref(), "r", "a")
            .await
            .unwrap();
        assert!(matches!(
            lease(store.as_ref(), "r", "c", far).await.unwrap(),
            Leased::Busy
        ));
    }
}
