//! One queue batch as a Lambda runs it, shared by the Lambda handlers
//! (`crate::lambda_sqs`) and the local workers, so that both behave alike:
//!
//! - the flow is built at the first invocation, not at init ([`LazyFlow`]): building it reads
//!   commercetools and Peoplevox (channels, custom types, template headers), and an outage of
//!   either at a cold start must not fail the init, which would burn the batch's receives
//!   without the flow's backoff or a reason. A failed build is tried again at the next
//!   invocation, and its batch is retried with the reason;
//! - the flow runs under the invocation's deadline less [`SETTLE_RESERVE`]
//!   ([`crate::deadline`]), so that it returns while there is still time to settle;
//! - every record ends with an outcome, even when the flow could not be built or overran its
//!   time (then the flow is dropped: its records are retried, as after a crash, but with the
//!   flow's backoff and a reason).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::app::SetupError;
use crate::config::{ConfigFeed, Versioned};
use crate::deadline::{self, Deadline};
use crate::flows::batch::{BatchFlow, BatchOutcomes, InputRecord, RecordOutcome};
use crate::store::now_epoch_ms;

/// Time kept after the flow's deadline for settling its batch before the Lambda's own: up to
/// 10 `ChangeMessageVisibilityBatch` calls for 100 retried records, and re-queues or parks 10
/// at a time (a `SendMessage` and an audit `PutItem` each), about 30 calls of 10–100 ms in
/// the region, the batch's activity entry (at most [`crate::flows::activity::RECORD_TIMEOUT`]),
/// then the answer to the runtime. Five seconds leave room for a slow store.
/// A short invocation (a test's) keeps a quarter of its time instead.
pub const SETTLE_RESERVE: Duration = Duration::from_secs(5);

/// Time kept between a flow's last request and its deadline, for what it writes after its
/// requests (ledger, order links, audit entries: a few store calls). A short invocation keeps
/// an eighth of its time instead.
pub const WORK_MARGIN: Duration = Duration::from_secs(2);

/// The flow's deadline in an invocation that must end at `lambda_deadline_ms` (epoch ms).
pub fn flow_deadline(lambda_deadline_ms: i64) -> Deadline {
    let remaining = Duration::from_millis(
        u64::try_from(lambda_deadline_ms.saturating_sub(now_epoch_ms())).unwrap_or(0),
    );
    let reserve = SETTLE_RESERVE.min(remaining / 4);
    Deadline {
        end_ms: lambda_deadline_ms.saturating_sub(ms(reserve)),
        margin: WORK_MARGIN.min(remaining / 8),
    }
}

/// Time before a rebuild that failed for a version is tried again while the flow built before
/// goes on (a version that validates but cannot be built, say a channel key that does not
/// exist, must not cost every batch a failed build).
const REBUILD_RETRY: Duration = Duration::from_secs(60);

struct Slot<F> {
    /// The flow and the configuration version it was built from.
    built: Option<(String, Arc<F>)>,
    /// The version whose rebuild failed last, and when.
    failed: Option<(String, std::time::Instant)>,
}

impl<F> Slot<F> {
    fn new(built: Option<(String, Arc<F>)>) -> tokio::sync::Mutex<Self> {
        tokio::sync::Mutex::new(Self {
            built,
            failed: None,
        })
    }
}

type Build<F> =
    Box<dyn Fn(Option<Arc<Versioned>>) -> BoxFuture<'static, Result<F, SetupError>> + Send + Sync>;

/// A flow built at its first use and kept while its configuration stays the same; while its
/// build fails, every use tries again. A flow made [`LazyFlow::configured`] is rebuilt when its
/// [`ConfigFeed`] hands out a new version: a pushed configuration takes effect at the next
/// invocation after the feed sees it, with no redeploy.
pub struct LazyFlow<F> {
    name: &'static str,
    feed: Option<Arc<dyn ConfigFeed>>,
    slot: tokio::sync::Mutex<Slot<F>>,
    build: Build<F>,
    failures: AtomicU64,
}

impl<F: Send + Sync> LazyFlow<F> {
    /// A flow named `name` (its audit and dead-letter name), built once by `build` when first
    /// needed.
    pub fn new<B, Fut>(name: &'static str, build: B) -> Self
    where
        B: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<F, SetupError>> + Send + 'static,
    {
        Self {
            name,
            feed: None,
            slot: Slot::new(None),
            build: Box::new(move |_| Box::pin(build())),
            failures: AtomicU64::new(0),
        }
    }

    /// A flow built by `build` from the newest configuration `feed` hands out, and built again
    /// when a newer version comes.
    pub fn configured<B, Fut>(name: &'static str, feed: Arc<dyn ConfigFeed>, build: B) -> Self
    where
        B: Fn(Arc<Versioned>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<F, SetupError>> + Send + 'static,
    {
        let build = Arc::new(build);
        Self {
            name,
            feed: Some(feed),
            slot: Slot::new(None),
            build: Box::new(move |config| {
                let build = build.clone();
                Box::pin(async move {
                    match config {
                        Some(config) => build(config).await,
                        None => Err(SetupError("no configuration to build the flow from".into())),
                    }
                })
            }),
            failures: AtomicU64::new(0),
        }
    }

    /// A flow built already (tests, local tools).
    pub fn ready(name: &'static str, flow: F) -> Self {
        Self {
            name,
            feed: None,
            slot: Slot::new(Some((String::new(), Arc::new(flow)))),
            build: Box::new(|_| {
                Box::pin(async { Err(SetupError("the flow was given built".into())) })
            }),
            failures: AtomicU64::new(0),
        }
    }

    /// The flow, built now if it is not yet or if its configuration has a newer version. When
    /// a rebuild for a newer version fails (an outage at that moment, or a version that
    /// validates but cannot be built), the flow built before goes on with its configuration,
    /// and the rebuild is tried again after [`REBUILD_RETRY`].
    pub async fn get(&self) -> Result<Arc<F>, SetupError> {
        // The version is read under the lock: two callers cannot build two versions out of
        // order.
        let mut slot = self.slot.lock().await;
        let config = match &self.feed {
            Some(feed) => Some(feed.current().await),
            None => None,
        };
        let version = config
            .as_ref()
            .map(|c| c.version.clone())
            .unwrap_or_default();
        let old = match slot.built.as_ref() {
            Some((built_from, flow)) if self.feed.is_none() || *built_from == version => {
                return Ok(flow.clone());
            }
            Some((built_from, flow)) => Some((built_from.clone(), flow.clone())),
            None => None,
        };
        if let (Some((_, flow)), Some((failed, at))) = (&old, &slot.failed)
            && *failed == version
            && at.elapsed() < REBUILD_RETRY
        {
            return Ok(flow.clone());
        }
        match (self.build)(config).await {
            Ok(flow) => {
                if let Some((before, _)) = &old {
                    tracing::info!(flow = self.name, configuration = %version, previous = %before, "flow rebuilt for a new configuration version");
                }
                let flow = Arc::new(flow);
                slot.built = Some((version, flow.clone()));
                slot.failed = None;
                Ok(flow)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                match old {
                    Some((before, flow)) => {
                        tracing::warn!(flow = self.name, error = %e, configuration = %version, running = %before, "flow not rebuilt for the new configuration; it goes on with the one before and tries again in a minute");
                        slot.failed = Some((version, std::time::Instant::now()));
                        Ok(flow)
                    }
                    None => {
                        tracing::warn!(flow = self.name, error = %e, "flow not built; its batch is retried and the next invocation builds it again");
                        Err(e)
                    }
                }
            }
        }
    }

    /// The configuration version the flow was last built from, if it has been built.
    pub async fn built_from(&self) -> Option<String> {
        self.slot
            .lock()
            .await
            .built
            .as_ref()
            .map(|(v, _)| v.clone())
    }

    /// Builds that failed so far (a cold start during an outage).
    pub fn build_failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// The flow's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// What one invocation's flow made of its batch.
#[derive(Debug)]
pub struct Processed<R> {
    /// The flow's report (the default one when the flow was not built or overran its time).
    pub report: R,
    /// The outcome of every record, for [`crate::flows::settle::settle`].
    pub outcomes: BTreeMap<String, RecordOutcome>,
    /// Why the flow could not be built, when it could not.
    pub build_error: Option<String>,
    /// The flow was still working at its deadline and was stopped.
    pub overran: bool,
}

impl<R> Processed<R> {
    /// Records that did not end done (retried or parked).
    pub fn failures(&self) -> usize {
        self.outcomes
            .values()
            .filter(|o| !matches!(o, RecordOutcome::Done))
            .count()
    }
}

/// Builds the flow if needed and runs the batch through it under the deadline of an
/// invocation that ends at `lambda_deadline_ms` (epoch ms), less [`SETTLE_RESERVE`].
pub async fn process_batch<F: BatchFlow>(
    flow: &LazyFlow<F>,
    records: &[InputRecord],
    lambda_deadline_ms: i64,
) -> Processed<F::Report> {
    run(
        flow.name(),
        records,
        lambda_deadline_ms,
        |deadline_ms| async move {
            let built = flow.get().await.map_err(|e| e.to_string())?;
            Ok(built.process(records, deadline_ms).await)
        },
    )
    .await
}

/// [`process_batch`] with a flow built already (tests, benchmarks).
pub async fn process_built<F: BatchFlow>(
    flow: &F,
    records: &[InputRecord],
    lambda_deadline_ms: i64,
) -> Processed<F::Report> {
    run(
        flow.name(),
        records,
        lambda_deadline_ms,
        |deadline_ms| async move { Ok(flow.process(records, deadline_ms).await) },
    )
    .await
}

/// Runs `work` (given the flow's deadline, epoch ms) in the deadline's scope and stops it at
/// that deadline; every record gets an outcome.
async fn run<R, W, Fut>(
    flow: &'static str,
    records: &[InputRecord],
    lambda_deadline_ms: i64,
    work: W,
) -> Processed<R>
where
    R: BatchOutcomes,
    W: FnOnce(i64) -> Fut,
    Fut: Future<Output = Result<R, String>>,
{
    let deadline = flow_deadline(lambda_deadline_ms);
    let time = Duration::from_millis(
        u64::try_from(deadline.end_ms.saturating_sub(now_epoch_ms())).unwrap_or(0),
    );
    let every = |outcome: RecordOutcome| -> BTreeMap<String, RecordOutcome> {
        records
            .iter()
            .map(|r| (r.id.clone(), outcome.clone()))
            .collect()
    };
    let scoped = deadline::scope(deadline, work(deadline.end_ms));
    match tokio::time::timeout(time, scoped).await {
        Ok(Ok(report)) => Processed {
            outcomes: report.records().by_message.clone(),
            report,
            build_error: None,
            overran: false,
        },
        Ok(Err(reason)) => Processed {
            report: R::default(),
            outcomes: every(RecordOutcome::Retry(reason.clone())),
            build_error: Some(reason),
            overran: false,
        },
        Err(_) => {
            tracing::warn!(
                flow,
                records = records.len(),
                "flow still working at its deadline: stopped, its records are retried"
            );
            Processed {
                report: R::default(),
                outcomes: every(RecordOutcome::Retry(
                    "the invocation's time ran out before the batch was finished".into(),
                )),
                build_error: None,
                overran: true,
            }
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::batch::RecordOutcomes;
    use std::sync::atomic::AtomicBool;

    #[derive(Debug, Default, Clone, serde::Serialize)]
    struct Report {
        records: RecordOutcomes,
    }

    impl BatchOutcomes for Report {
        fn records(&self) -> &RecordOutcomes {
            &self.records
        }
        fn absorb(&mut self, _: &Self) {}
    }

    /// The deadline a flow was given, and the one its scope held.
    type Seen = Arc<std::sync::Mutex<Option<(i64, Option<Deadline>)>>>;

    /// Finishes every record after `pause`, noting the deadline it was given.
    struct Pausing {
        pause: Duration,
        seen: Seen,
    }

    #[async_trait::async_trait]
    impl BatchFlow for Pausing {
        type Report = Report;
        fn name(&self) -> &'static str {
            "pausing"
        }
        async fn process(&self, records: &[InputRecord], deadline_ms: i64) -> Report {
            *self.seen.lock().unwrap() = Some((deadline_ms, deadline::current()));
            tokio::time::sleep(self.pause).await;
            let mut report = Report::default();
            for r in records {
                report.records.set(&r.id, RecordOutcome::Done);
            }
            report
        }
    }

    fn records(n: usize) -> Vec<InputRecord> {
        (0..n)
            .map(|i| InputRecord {
                id: format!("m{i}"),
                body: "{}".into(),
                receive_count: 1,
                requeues: 0,
                receipt: None,
            })
            .collect()
    }

    #[test]
    fn the_flow_keeps_the_settle_reserve_and_a_short_invocation_a_quarter() {
        let now = now_epoch_ms();
        let long = flow_deadline(now + 120_000);
        assert!((now + 114_900..=now + 115_000).contains(&long.end_ms));
        assert_eq!(long.margin, WORK_MARGIN);
        let short = flow_deadline(now + 2_000);
        assert!((now + 1_490..=now + 1_500).contains(&short.end_ms));
        assert!(short.margin <= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn the_flow_runs_under_its_deadline_and_is_stopped_when_it_overruns() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let flow = LazyFlow::ready(
            "pausing",
            Pausing {
                pause: Duration::from_millis(10),
                seen: seen.clone(),
            },
        );
        let lambda_deadline = now_epoch_ms() + 60_000;
        let done = process_batch(&flow, &records(3), lambda_deadline).await;
        assert_eq!(done.failures(), 0);
        let (given, scoped) = seen.lock().unwrap().take().unwrap();
        assert_eq!(given, lambda_deadline - 5_000);
        assert_eq!(scoped.map(|d| d.end_ms), Some(given));

        // A flow still busy at its deadline is stopped; every record is retried.
        let slow = LazyFlow::ready(
            "pausing",
            Pausing {
                pause: Duration::from_secs(30),
                seen,
            },
        );
        let started = std::time::Instant::now();
        let cut = process_batch(&slow, &records(3), now_epoch_ms() + 1_000).await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(cut.overran);
        assert_eq!(cut.failures(), 3);
        assert!(
            cut.outcomes
                .values()
                .all(|o| matches!(o, RecordOutcome::Retry(r) if r.contains("time ran out")))
        );
    }

    #[tokio::test]
    async fn a_flow_that_cannot_be_built_retries_its_batch_and_is_built_at_the_next() {
        let up = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new(None));
        let flow = {
            let (up, seen) = (up.clone(), seen.clone());
            LazyFlow::new("pausing", move || {
                let (up, seen) = (up.clone(), seen.clone());
                async move {
                    if up.load(Ordering::Relaxed) {
                        Ok(Pausing {
                            pause: Duration::ZERO,
                            seen,
                        })
                    } else {
                        Err(SetupError("reading channel `pvx`: unavailable".into()))
                    }
                }
            })
        };
        let deadline = now_epoch_ms() + 60_000;
        let first = process_batch(&flow, &records(2), deadline).await;
        assert_eq!(first.failures(), 2);
        assert!(
            first
                .build_error
                .as_deref()
                .unwrap()
                .contains("unavailable")
        );
        assert!(
            first
                .outcomes
                .values()
                .all(|o| matches!(o, RecordOutcome::Retry(r) if r.contains("cannot start")))
        );
        assert_eq!(flow.build_failures(), 1);
        up.store(true, Ordering::Relaxed);
        let second = process_batch(&flow, &records(2), deadline).await;
        assert_eq!(second.failures(), 0);
        assert!(flow.built_from().await.is_some());
        assert_eq!(flow.build_failures(), 1);
    }

    /// A feed whose version a test moves.
    struct MovingFeed(std::sync::Mutex<Arc<Versioned>>);

    impl MovingFeed {
        fn at(version: &str) -> Self {
            Self(std::sync::Mutex::new(Self::versioned(version)))
        }
        fn versioned(version: &str) -> Arc<Versioned> {
            Arc::new(Versioned {
                config: crate::config::Config::from_toml(crate::config::MINIMAL_TOML).unwrap(),
                version: version.into(),
            })
        }
        fn move_to(&self, version: &str) {
            *self.0.lock().unwrap() = Self::versioned(version);
        }
    }

    #[async_trait::async_trait]
    impl ConfigFeed for MovingFeed {
        async fn current(&self) -> Arc<Versioned> {
            self.0.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn a_configured_flow_is_rebuilt_for_a_new_version_and_kept_when_the_rebuild_fails() {
        let feed = Arc::new(MovingFeed::at("v1"));
        let up = Arc::new(AtomicBool::new(true));
        let flow = {
            let up = up.clone();
            LazyFlow::configured("versioned", feed.clone(), move |live| {
                let up = up.load(Ordering::Relaxed);
                async move {
                    if up {
                        Ok(live.version.clone())
                    } else {
                        Err(SetupError("commercetools unavailable".into()))
                    }
                }
            })
        };
        assert_eq!(*flow.get().await.unwrap(), "v1");
        assert_eq!(*flow.get().await.unwrap(), "v1");
        feed.move_to("v2");
        assert_eq!(*flow.get().await.unwrap(), "v2", "rebuilt for v2");
        assert_eq!(flow.built_from().await.as_deref(), Some("v2"));
        up.store(false, Ordering::Relaxed);
        feed.move_to("v3");
        assert_eq!(
            *flow.get().await.unwrap(),
            "v2",
            "a failed rebuild leaves the flow built before in use"
        );
        assert_eq!(flow.build_failures(), 1);
        up.store(true, Ordering::Relaxed);
        assert_eq!(
            *flow.get().await.unwrap(),
            "v2",
            "not tried again within a minute"
        );
        assert_eq!(flow.build_failures(), 1);
        feed.move_to("v4");
        assert_eq!(
            *flow.get().await.unwrap(),
            "v4",
            "a newer version is built at once"
        );
    }
}
