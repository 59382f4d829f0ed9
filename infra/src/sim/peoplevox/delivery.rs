//! Asynchronous delivery of event callbacks: one background dispatcher fed in the order the
//! movements happened, one shared HTTP client, counters, a bounded log, and the delivery
//! faults. Peoplevox's retry behaviour is UNCONFIRMED, so a failed callback is not retried:
//! the connector has to survive lost callbacks anyway.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::callback_faults::CallbackFaults;
use super::routing::{CallbackRequest, POST_CONTENT_TYPE, Routed};

/// How long one callback may take before it counts as failed.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);
/// Entries the callback log keeps (the oldest go first).
const LOG_CAPACITY: usize = 100_000;

/// What became of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCallbackOutcome {
    /// The receiver answered 2xx.
    Sent,
    /// A non-2xx answer or a transport error.
    Failed,
    /// Lost on purpose (see [`CallbackFaults::set_drop_rate`]).
    Dropped,
}

/// One callback fired by the simulator, logged when its fate is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCallback {
    /// e.g. `AvailabilityChanges`.
    pub event_type: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The URL called, placeholders substituted.
    pub url: String,
    /// The POST body; `None` for GET.
    pub body: Option<String>,
    /// The receiver's HTTP status; `None` for a transport error or a dropped callback.
    pub status: Option<u16>,
    /// Sent, failed or dropped.
    pub outcome: SimCallbackOutcome,
}

/// A callback queued for the dispatcher.
#[derive(Debug)]
pub struct Job {
    request: CallbackRequest,
    /// Deliveries after the first (0, 1 or 2), each after the one before.
    extra: u8,
}

/// Counters, log, faults and the HTTP client, shared by the dispatcher and the test handle.
#[derive(Debug)]
pub struct Delivery {
    client: reqwest::Client,
    pub(crate) faults: CallbackFaults,
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) unparsed_filters: AtomicU64,
    /// Deliveries scheduled (duplicates included) and not finished.
    pub(crate) pending: AtomicU64,
    idle: Notify,
    log: Mutex<VecDeque<SimCallback>>,
    /// Callbacks on the wire at once. A reorder window gives every callback its own task;
    /// unbounded, a burst of ten thousand status changes opened as many connections to an
    /// in-process receiver and ran out of file descriptors, refusing callbacks no fault
    /// asked for.
    on_the_wire: tokio::sync::Semaphore,
}

/// At most this many callbacks in flight (each is two descriptors when the receiver runs in
/// the same process).
const MAX_CALLBACKS_IN_FLIGHT: usize = 256;

impl Delivery {
    /// A delivery core with its own HTTP client.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            // Callbacks go straight to the receiver, whatever proxy the environment names.
            client: reqwest::Client::builder()
                .timeout(CALLBACK_TIMEOUT)
                .no_proxy()
                .build()?,
            faults: CallbackFaults::default(),
            sent: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            unparsed_filters: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            idle: Notify::new(),
            log: Mutex::new(VecDeque::new()),
            on_the_wire: tokio::sync::Semaphore::new(MAX_CALLBACKS_IN_FLIGHT),
        })
    }

    /// Queues routed callbacks; called under the data mutex, so the queue keeps the order
    /// of the movements. Never blocks.
    pub fn schedule(&self, outbox: &UnboundedSender<Job>, routed: Routed) {
        self.unparsed_filters
            .fetch_add(routed.unparsed_filters, Ordering::SeqCst);
        for request in routed.requests {
            if self.faults.roll_drop() {
                self.dropped.fetch_add(1, Ordering::SeqCst);
                self.record(&request, None, SimCallbackOutcome::Dropped);
                continue;
            }
            let extra = self.faults.roll_extra_deliveries();
            let deliveries = 1 + u64::from(extra);
            // Counted before it is queued, so that a waiter never sees a false idle.
            self.pending.fetch_add(deliveries, Ordering::SeqCst);
            if extra > 0 {
                self.duplicated.fetch_add(1, Ordering::SeqCst);
            }
            if let Err(unsent) = outbox.send(Job { request, extra }) {
                // The dispatcher is gone: the simulator is shutting down.
                self.record(&unsent.0.request, None, SimCallbackOutcome::Failed);
                self.failed.fetch_add(1, Ordering::SeqCst);
                for _ in 0..deliveries {
                    self.finish();
                }
            }
        }
    }

    /// Waits until no callback is pending; `false` if `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut notified = std::pin::pin!(self.idle.notified());
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.pending.load(Ordering::SeqCst) == 0;
            }
        }
    }

    /// The callback log, oldest first.
    pub fn log(&self) -> Vec<SimCallback> {
        self.log_guard().iter().cloned().collect()
    }

    /// Delivers one callback and accounts for it.
    async fn deliver(&self, request: &CallbackRequest) {
        // Never closed, so the permit is always granted.
        let _permit = self.on_the_wire.acquire().await.ok();
        let builder = match &request.body {
            None => self.client.get(&request.url),
            Some(body) => self
                .client
                .post(&request.url)
                .header(reqwest::header::CONTENT_TYPE, POST_CONTENT_TYPE)
                .body(body.clone()),
        };
        let status = match builder.send().await {
            Ok(response) => {
                let status = response.status();
                // Read to the end so that the connection can be reused.
                let _ = response.bytes().await;
                Some(status)
            }
            Err(e) => {
                // The URL carries the connector's secret callback token as a path segment, so
                // neither it nor the error (which quotes it) is logged whole.
                tracing::debug!(
                    event_type = %request.event_type,
                    error = %e.without_url(),
                    "simulated callback failed"
                );
                None
            }
        };
        let outcome = if status.is_some_and(|s| s.is_success()) {
            self.sent.fetch_add(1, Ordering::SeqCst);
            SimCallbackOutcome::Sent
        } else {
            self.failed.fetch_add(1, Ordering::SeqCst);
            SimCallbackOutcome::Failed
        };
        self.record(request, status.map(|s| s.as_u16()), outcome);
        self.finish();
    }

    /// Waits a random part of the reorder window, then delivers.
    async fn deliver_late(&self, request: &CallbackRequest, window: Duration) {
        tokio::time::sleep(self.faults.roll_delay(window)).await;
        self.deliver(request).await;
    }

    fn finish(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn record(&self, request: &CallbackRequest, status: Option<u16>, outcome: SimCallbackOutcome) {
        let mut log = self.log_guard();
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(SimCallback {
            event_type: request.event_type.clone(),
            method: request.method.to_string(),
            url: request.url.clone(),
            body: request.body.clone(),
            status,
            outcome,
        });
    }

    fn log_guard(&self) -> std::sync::MutexGuard<'_, VecDeque<SimCallback>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The dispatcher. Without a reorder window it delivers one callback at a time, in queue
/// order, and a duplicate only once the queue is momentarily empty (so it may arrive after
/// newer callbacks, as a late retry would). With a window, every callback gets its own task
/// and a random head start. Ends when the queue's sender is dropped.
pub async fn run(core: Arc<Delivery>, mut queue: UnboundedReceiver<Job>) {
    let mut duplicates: VecDeque<CallbackRequest> = VecDeque::new();
    loop {
        let job = match queue.try_recv() {
            Ok(job) => job,
            Err(_) => match duplicates.pop_front() {
                Some(request) => {
                    core.deliver(&request).await;
                    continue;
                }
                None => match queue.recv().await {
                    Some(job) => job,
                    None => break,
                },
            },
        };
        let window = core.faults.reorder_window();
        if window.is_zero() {
            core.deliver(&job.request).await;
            for _ in 0..job.extra {
                duplicates.push_back(job.request.clone());
            }
        } else {
            let core = core.clone();
            tokio::spawn(async move {
                core.deliver_late(&job.request, window).await;
                for _ in 0..job.extra {
                    core.deliver_late(&job.request, window).await;
                }
            });
        }
    }
}
