//! A queue worker: what the SQS event source mapping and a Lambda do together in AWS. It
//! gathers a batch, runs it as one invocation of the function would
//! ([`ctpvx_shared::invocation`]: the flow built at first use, under the function's deadline
//! less the settle reserve), deletes what is done, dead-letters what is poisonous (with its
//! reason) and leaves the rest to come back after their retry delay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ctpvx_shared::flows::batch::{
    BatchFlow, BatchOutcomes, InputRecord, REQUEUES_ATTRIBUTE, requeues_of,
};
use ctpvx_shared::flows::settle::{RetryPolicy, settle};
use ctpvx_shared::invocation::{LazyFlow, Processed, process_batch, process_built};
use ctpvx_shared::store::{AuditLog, Queue, QueueMessage, now_epoch_ms};

use super::lambda_limits::{LambdaLimits, StallingQueue};

/// How a worker polls.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The queue to read, its dead-letter queue, and how a failing record is handed on.
    pub retry: RetryPolicy,
    /// Largest batch (the event source mapping's BatchSize).
    pub batch_size: usize,
    /// Visibility timeout of a receive (the queue's, in AWS).
    pub visibility: Duration,
    /// Time a batch may take (the function timeout).
    pub timeout: Duration,
    /// Pause when the queue is empty.
    pub idle_pause: Duration,
    /// Fault injection: kills the worker after the flow's side effects, before it
    /// acknowledges anything, as a Lambda that dies at the end of its run would.
    pub kill: Option<Arc<Chance>>,
    /// Counts batches acknowledged after their visibility timeout ran out. A Lambda cannot
    /// outlive its timeout (shorter than the visibility timeout); a local worker can, and its
    /// messages are then handed out again while it still works on them, each time adding a
    /// receive towards the redrive count.
    pub late: Option<Arc<AtomicU64>>,
}

/// A seeded share of events that happen (batches that die, calls that stall), and their count.
#[derive(Debug)]
pub struct Chance {
    rate_ppm: std::sync::atomic::AtomicU32,
    rng: std::sync::Mutex<fastrand::Rng>,
    hits: AtomicU64,
}

impl Chance {
    /// A share `rate` (0.0–1.0) of the rolls hit, repeatably for a seed.
    pub fn new(rate: f64, seed: u64) -> Self {
        let chance = Self {
            rate_ppm: Default::default(),
            rng: std::sync::Mutex::new(fastrand::Rng::with_seed(seed)),
            hits: Default::default(),
        };
        chance.set_rate(rate);
        chance
    }

    /// Changes the share from now on.
    pub fn set_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1e6).round() as u32;
        self.rate_ppm.store(ppm, Ordering::Relaxed);
    }

    /// Rolls that hit so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Whether this roll hits (counted when it does).
    pub fn roll(&self) -> bool {
        let rate = self.rate_ppm.load(Ordering::Relaxed);
        let hit = rate > 0
            && self
                .rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .u32(0..1_000_000)
                < rate;
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }
}

/// Gathers up to `batch_size` messages (10 per receive, as SQS hands them out).
pub async fn gather(queue: &dyn Queue, options: &WorkerOptions) -> Vec<QueueMessage> {
    let mut batch = Vec::new();
    while batch.len() < options.batch_size {
        let want = (options.batch_size - batch.len()).min(10);
        match queue
            .receive(&options.retry.queue, want, options.visibility)
            .await
        {
            Ok(messages) if messages.is_empty() => break,
            Ok(messages) => batch.extend(messages),
            Err(e) => {
                tracing::warn!(error = %e, "receive failed");
                break;
            }
        }
    }
    batch
}

/// Runs one batch through a flow built already and settles it; returns the flow's report.
pub async fn run_batch<F: BatchFlow>(
    flow: &F,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    options: &WorkerOptions,
    messages: Vec<QueueMessage>,
) -> F::Report {
    let received = Instant::now();
    let records = records_of(&messages);
    let processed = process_built(flow, &records, deadline_ms(options, received)).await;
    let failed = settle_batch(flow.name(), queue, audit, options, &messages, &processed).await;
    acknowledge(queue, options, &messages, failed.as_deref(), received).await;
    processed.report
}

/// One invocation of a queue-fed function on `messages`, first received at `received` and
/// handed to the function at `invoked`, then the event source mapping's deletes of its done
/// messages: [`function`] and [`acknowledge`].
pub async fn invoke<F: BatchFlow>(
    flow: &LazyFlow<F>,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    options: &WorkerOptions,
    messages: Vec<QueueMessage>,
    (received, invoked): (Instant, Instant),
) -> Processed<F::Report> {
    let (processed, failed) = function(flow, queue, audit, options, &messages, invoked).await;
    acknowledge(queue, options, &messages, failed.as_deref(), received).await;
    processed
}

/// What a Lambda does with an SQS event: the flow (built first if it is not yet) under the
/// function's timeout counted from `invoked` (Lambda does not charge the event source's
/// gathering of a batch to the function's Timeout; the visibility timeout runs from the
/// receive), then the batch settled. Returns the flow's outcome and the batch item failures
/// (`None`: the function died before answering, so every message comes back). Wrap it in a
/// timeout to kill it as Lambda kills a function at its Timeout.
pub async fn function<F: BatchFlow>(
    flow: &LazyFlow<F>,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    options: &WorkerOptions,
    messages: &[QueueMessage],
    invoked: Instant,
) -> (Processed<F::Report>, Option<Vec<String>>) {
    let records = records_of(messages);
    let processed = process_batch(flow, &records, deadline_ms(options, invoked)).await;
    let failed = settle_batch(flow.name(), queue, audit, options, messages, &processed).await;
    (processed, failed)
}

fn records_of(messages: &[QueueMessage]) -> Vec<InputRecord> {
    messages
        .iter()
        .map(|m| InputRecord {
            id: m.id.clone(),
            body: m.body.clone(),
            receive_count: m.receive_count,
            requeues: requeues_of(m.attributes.get(REQUEUES_ATTRIBUTE).map(String::as_str)),
            receipt: Some(m.receipt.clone()),
        })
        .collect()
}

/// The function's deadline for an invocation that started at `started` (epoch ms).
fn deadline_ms(options: &WorkerOptions, started: Instant) -> i64 {
    let left = options.timeout.saturating_sub(started.elapsed());
    now_epoch_ms().saturating_add(i64::try_from(left.as_millis()).unwrap_or(i64::MAX))
}

/// Settles what the flow made of `messages` (retry delays, re-queues, parks: the function's
/// own calls) and returns the ids to report as batch item failures; `None` when the kill
/// switch kills the worker first.
async fn settle_batch<R: BatchOutcomes>(
    flow: &str,
    queue: &dyn Queue,
    audit: &dyn AuditLog,
    options: &WorkerOptions,
    messages: &[QueueMessage],
    processed: &Processed<R>,
) -> Option<Vec<String>> {
    if options.kill.as_ref().is_some_and(|k| k.roll()) {
        // Died after the side effects: nothing is deleted or parked, every record comes
        // back after the visibility timeout.
        return None;
    }
    let records = records_of(messages);
    // A local worker's visibility timeout is short: no retry should wait longer than it.
    let policy = options.retry.clone().capped_at(options.visibility);
    Some(settle(queue, audit, flow, &policy, &records, &processed.outcomes).await)
}

/// What the event source mapping does with a function's answer, after the function returned
/// (outside its Timeout): deletes the messages not reported as failures (`failed`; `None`: no
/// answer, nothing deleted), one DeleteMessageBatch per 10.
pub async fn acknowledge(
    queue: &dyn Queue,
    options: &WorkerOptions,
    messages: &[QueueMessage],
    failed: Option<&[String]>,
    received: Instant,
) {
    let Some(failed) = failed else {
        return;
    };
    let done: Vec<&QueueMessage> = messages
        .iter()
        .filter(|m| !failed.contains(&m.id))
        .collect();
    let receipts: Vec<String> = done.iter().map(|m| m.receipt.clone()).collect();
    for (i, e) in queue.delete_many(&options.retry.queue, &receipts).await {
        let id = done.get(i).map_or("?", |m| m.id.as_str());
        tracing::warn!(message_id = %id, error = %e, "delete failed; the message will come back");
    }
    let took = received.elapsed();
    if took > options.visibility {
        tracing::warn!(
            elapsed_ms = took.as_millis() as u64,
            visibility_ms = options.visibility.as_millis() as u64,
            "batch acknowledged after its visibility timeout"
        );
        if let Some(late) = &options.late {
            late.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A new instance of a flow: not built yet (a cold start builds it at its first batch).
pub type FreshFlow<F> = Arc<dyn Fn() -> LazyFlow<F> + Send + Sync>;

/// Polls until `stop` is set, adding every batch report to `totals`. Under `limits`, each
/// invocation is killed at its timeout, and the next one runs on a fresh instance of the
/// flow (`fresh`), as Lambda replaces an execution environment that timed out.
#[allow(clippy::too_many_arguments)]
pub async fn run<F: BatchFlow>(
    flow: Arc<LazyFlow<F>>,
    fresh: FreshFlow<F>,
    queue: Arc<dyn Queue>,
    audit: Arc<dyn AuditLog>,
    options: WorkerOptions,
    limits: Option<Arc<LambdaLimits>>,
    stop: Arc<AtomicBool>,
    totals: Arc<tokio::sync::Mutex<F::Report>>,
) {
    let mut flow = flow;
    while !stop.load(Ordering::Relaxed) {
        let received = Instant::now();
        let messages = gather(queue.as_ref(), &options).await;
        if messages.is_empty() {
            tokio::time::sleep(options.idle_pause).await;
            continue;
        }
        let invoked = Instant::now();
        let Some(limits) = &limits else {
            let processed = invoke(
                flow.as_ref(),
                queue.as_ref(),
                audit.as_ref(),
                &options,
                messages,
                (received, invoked),
            )
            .await;
            totals.lock().await.absorb(&processed.report);
            continue;
        };
        // A stalled call hangs past the whole Timeout, whenever in the invocation it starts.
        let settling = StallingQueue {
            inner: queue.as_ref(),
            limits,
            stall: options.timeout * 2,
        };
        let invocation = function(
            flow.as_ref(),
            &settling,
            audit.as_ref(),
            &options,
            &messages,
            invoked,
        );
        let left = options.timeout.saturating_sub(invoked.elapsed());
        match tokio::time::timeout(left, invocation).await {
            Ok((processed, failed)) => {
                // The event source mapping deletes the done messages after the function
                // returned: not charged to its Timeout.
                acknowledge(
                    queue.as_ref(),
                    &options,
                    &messages,
                    failed.as_deref(),
                    received,
                )
                .await;
                if processed.build_error.is_some() {
                    limits.init_failed();
                }
                if processed.overran {
                    limits.overran();
                }
                totals.lock().await.absorb(&processed.report);
            }
            Err(_) => {
                // Killed: what the invocation did stays done, the rest of its batch comes
                // back after the visibility timeout, and its report is lost with it.
                limits.killed();
                tracing::warn!(
                    flow = flow.name(),
                    timeout_ms = options.timeout.as_millis() as u64,
                    "invocation killed at its timeout; the next one is a cold start"
                );
                flow = Arc::new(fresh());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctpvx_shared::embedded::EmbeddedStore;
    use ctpvx_shared::flows::batch::{RecordOutcome, RecordOutcomes};
    use ctpvx_shared::store::QueueDepth;
    use std::collections::BTreeMap;

    /// A flow that finishes every record, after a pause.
    struct Slow(Duration);

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

    #[async_trait::async_trait]
    impl BatchFlow for Slow {
        type Report = Report;
        fn name(&self) -> &'static str {
            "slow"
        }
        async fn process(&self, records: &[InputRecord], _deadline_ms: i64) -> Report {
            tokio::time::sleep(self.0).await;
            let mut report = Report::default();
            for r in records {
                report.records.set(&r.id, RecordOutcome::Done);
            }
            report
        }
    }

    /// A flow that retries a record on its first receive and finishes it on the next: settling
    /// its first batch is the function's own call (a retry delay), which a stall can hold up.
    struct RetryFirst;

    #[async_trait::async_trait]
    impl BatchFlow for RetryFirst {
        type Report = Report;
        fn name(&self) -> &'static str {
            "retry-first"
        }
        async fn process(&self, records: &[InputRecord], _deadline_ms: i64) -> Report {
            let mut report = Report::default();
            for r in records {
                let outcome = if r.receive_count == 1 {
                    RecordOutcome::Retry("first receive".into())
                } else {
                    RecordOutcome::Done
                };
                report.records.set(&r.id, outcome);
            }
            report
        }
    }

    #[tokio::test]
    async fn a_batch_acknowledged_after_its_visibility_timeout_is_counted() {
        let store = EmbeddedStore::in_memory().unwrap();
        crate::local::stack::declare_queues(&store).unwrap();
        let late = Arc::new(AtomicU64::new(0));
        let options = WorkerOptions {
            retry: ctpvx_shared::queues::retry_policy(ctpvx_shared::queues::ORDERS_QUEUE),
            batch_size: 10,
            visibility: Duration::from_secs(1),
            // Longer than the visibility timeout, as a local worker's may be.
            timeout: Duration::from_secs(10),
            idle_pause: Duration::from_millis(10),
            kill: None,
            late: Some(late.clone()),
        };
        for (pause_ms, late_after) in [(100, 0), (1_300, 1)] {
            store
                .send(&options.retry.queue, "{}", &BTreeMap::new())
                .await
                .unwrap();
            let received = Instant::now();
            let batch = gather(store.as_ref(), &options).await;
            assert_eq!(batch.len(), 1);
            let flow = LazyFlow::ready("slow", Slow(Duration::from_millis(pause_ms)));
            invoke(
                &flow,
                store.as_ref(),
                store.as_ref(),
                &options,
                batch,
                (received, received),
            )
            .await;
            assert_eq!(
                late.load(Ordering::Relaxed),
                late_after,
                "pause {pause_ms} ms"
            );
        }
    }

    /// Lambda's limits: an invocation whose settling stalls is killed at its timeout, its
    /// message comes back after the visibility timeout, and the next invocation runs on a new
    /// instance of the flow, built again.
    #[tokio::test]
    async fn an_invocation_past_its_timeout_is_killed_and_the_next_is_a_cold_start() {
        let store = EmbeddedStore::in_memory().unwrap();
        crate::local::stack::declare_queues(&store).unwrap();
        let queue = ctpvx_shared::queues::STOCK_QUEUE;
        // 120 s / 60: a 2 s timeout, under the 3 s visibility timeout.
        let limits = Arc::new(LambdaLimits::new(60, 7));
        assert_eq!(limits.timeout(queue), Duration::from_secs(2));
        limits.stalls.set_rate(1.0);
        let options = WorkerOptions {
            retry: ctpvx_shared::queues::retry_policy(queue),
            batch_size: 10,
            visibility: Duration::from_secs(3),
            timeout: limits.timeout(queue),
            idle_pause: Duration::from_millis(10),
            kill: None,
            late: None,
        };
        let builds = Arc::new(AtomicU64::new(0));
        let fresh: FreshFlow<RetryFirst> = {
            let builds = builds.clone();
            Arc::new(move || {
                let builds = builds.clone();
                LazyFlow::new("retry-first", move || {
                    builds.fetch_add(1, Ordering::Relaxed);
                    async { Ok(RetryFirst) }
                })
            })
        };
        store.send(queue, "{}", &BTreeMap::new()).await.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let totals = Arc::new(tokio::sync::Mutex::new(Report::default()));
        let worker = tokio::spawn(run(
            Arc::new(fresh()),
            fresh.clone(),
            store.clone(),
            store.clone(),
            options,
            Some(limits.clone()),
            stop.clone(),
            totals,
        ));
        let started = Instant::now();
        while limits.kills() == 0 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(limits.kills(), 1, "the stalled settle is killed");
        // Killed while setting the retry's delay: the message is still in flight.
        assert_eq!(store.depth(queue).await.unwrap().in_flight, 1);
        limits.stalls.set_rate(0.0);
        while store.depth(queue).await.unwrap() != QueueDepth::default()
            && started.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::Relaxed);
        worker.await.unwrap();
        assert_eq!(store.depth(queue).await.unwrap(), QueueDepth::default());
        assert_eq!(limits.kills(), 1);
        assert_eq!(
            builds.load(Ordering::Relaxed),
            2,
            "built at each cold start"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "the message came back only after its visibility timeout"
        );
    }

    /// The deletes of a batch's done messages are the event source mapping's, after the
    /// function returned: a stalled delete never kills the invocation (found in review: the
    /// worker used to delete inside the Timeout).
    #[tokio::test]
    async fn deleting_done_messages_is_outside_the_function_s_timeout() {
        let store = EmbeddedStore::in_memory().unwrap();
        crate::local::stack::declare_queues(&store).unwrap();
        let queue = ctpvx_shared::queues::STOCK_QUEUE;
        let limits = Arc::new(LambdaLimits::new(60, 7));
        limits.stalls.set_rate(1.0);
        let options = WorkerOptions {
            retry: ctpvx_shared::queues::retry_policy(queue),
            batch_size: 10,
            visibility: Duration::from_secs(3),
            timeout: limits.timeout(queue),
            idle_pause: Duration::from_millis(10),
            kill: None,
            late: None,
        };
        let fresh: FreshFlow<Slow> =
            Arc::new(|| LazyFlow::ready("slow", Slow(Duration::from_millis(10))));
        for _ in 0..3 {
            store.send(queue, "{}", &BTreeMap::new()).await.unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let totals = Arc::new(tokio::sync::Mutex::new(Report::default()));
        let worker = tokio::spawn(run(
            Arc::new(fresh()),
            fresh.clone(),
            store.clone(),
            store.clone(),
            options,
            Some(limits.clone()),
            stop.clone(),
            totals,
        ));
        let started = Instant::now();
        while store.depth(queue).await.unwrap() != QueueDepth::default()
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::Relaxed);
        worker.await.unwrap();
        assert_eq!(store.depth(queue).await.unwrap(), QueueDepth::default());
        assert_eq!(
            limits.kills(),
            0,
            "a done batch settles without a stallable call"
        );
    }
}
