//! The deployment-wide request budget: at most `limit` requests to one Peoplevox tenant in any
//! sliding window, whatever the number of concurrent Lambdas.
//!
//! A sliding log lives in one state-store item (pk `pvx-budget`, sk = client id) and is
//! written under optimistic concurrency. Each entry is the last moment its request could
//! still *arrive* at Peoplevox: while the request is in flight that is the acquire time plus
//! the request timeout, and once the answer is in it becomes the completion time. Recording
//! only the send time would not do: an earlier request that travels slower than a later one
//! would land inside the later one's window at the server.
//!
//! The entry's moment is chosen before the store write that grants it, so a slow store (or a
//! starved scheduler) eats into the time the request may spend in flight. The permit says
//! how much is left ([`Permit::time_left`]) and the transport shortens the request timeout to
//! it: a request can then never arrive after the moment its entry claims.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::PvxError;
use crate::store::{Condition, StateStore, StoreError, now_epoch_ms};

/// Partition key of the budget item.
pub const BUDGET_PK: &str = "pvx-budget";

/// One request in the log.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    /// Random id, so that the request can update its own entry on completion.
    id: u64,
    /// Epoch ms up to which the request may reach Peoplevox.
    at: i64,
}

/// Slack for bytes already on the wire when the client gives up on a request.
const WIRE_SLACK_MS: i64 = 1_000;

/// Allowance for the time between choosing an entry's moment and sending the request (the
/// store write that grants the slot, task scheduling), so that a grant leaves the request its
/// whole timeout even on a slow store: on moto under the default-size soak a grant took over a
/// second. Generous on purpose: it only matters for a request whose outcome is never reported
/// (the process died), since an answered or abandoned request shortens its entry at once.
const GRANT_SLACK_MS: i64 = 10_000;

/// A granted request slot; hand it back to [`RequestBudget::release`] when the answer is in.
#[derive(Debug)]
pub struct Permit {
    id: u64,
    /// When the slot was granted, epoch ms.
    pub granted_at_ms: i64,
    /// The last moment, epoch ms, at which the request may reach Peoplevox (its entry).
    arrive_by_ms: i64,
}

impl Permit {
    /// How long a request sent now may stay in flight and still reach Peoplevox before the
    /// moment its entry claims; zero when that moment is too close.
    pub fn time_left(&self) -> Duration {
        let left = self.arrive_by_ms - WIRE_SLACK_MS - now_epoch_ms();
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }
}

/// The shared limiter of one tenant.
pub struct RequestBudget {
    store: Arc<dyn StateStore>,
    key: String,
    limit: usize,
    /// Slots this instance leaves free for others (a background reader's courtesy).
    reserve: usize,
    window_ms: i64,
    hold_ms: i64,
    made: AtomicU64,
}

impl std::fmt::Debug for RequestBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBudget")
            .field("key", &self.key)
            .field("limit", &self.limit)
            .field("reserve", &self.reserve)
            .field("window_ms", &self.window_ms)
            .finish()
    }
}

impl RequestBudget {
    /// A budget of `limit` requests per `window` for `client_id`. `max_request` bounds how
    /// long a request can stay in flight (the request timeout).
    pub fn new(
        store: Arc<dyn StateStore>,
        client_id: &str,
        limit: u32,
        window: Duration,
        max_request: Duration,
    ) -> Result<Self, PvxError> {
        if limit == 0 || window.is_zero() {
            return Err(PvxError::Config(
                "budget_requests and budget_window must be greater than zero".into(),
            ));
        }
        Ok(Self {
            store,
            key: client_id.to_string(),
            limit: limit as usize,
            reserve: 0,
            window_ms: duration_ms(window),
            hold_ms: duration_ms(max_request) + WIRE_SLACK_MS + GRANT_SLACK_MS,
            made: AtomicU64::new(0),
        })
    }

    /// This instance takes a slot only while more than `reserve` slots are free, so that
    /// other processes of the deployment always find some: a long background read (the
    /// nightly reconciliation) then never starves the live flows. At least one slot stays
    /// usable.
    pub fn with_reserve(mut self, reserve: u32) -> Self {
        self.reserve = (reserve as usize).min(self.limit - 1);
        self
    }

    /// Requests granted by this instance so far.
    pub fn granted(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// Waits until a slot is free in the shared window, then takes it.
    pub async fn acquire(&self) -> Result<Permit, PvxError> {
        // Waiters cannot know when another process's in-flight request completes, so they
        // poll; the interval scales with the window to keep store reads low.
        let poll_ms = (self.window_ms / 20).clamp(5, 500);
        loop {
            let now = now_epoch_ms();
            let (mut entries, cond) = self.read().await?;
            entries.retain(|e| e.at > now - self.window_ms);
            if entries.len() + self.reserve < self.limit {
                let id = rand::random::<u64>();
                let arrive_by_ms = now + self.hold_ms;
                entries.push(Entry {
                    id,
                    at: arrive_by_ms,
                });
                match self.write(&entries, cond, now).await {
                    Ok(()) => {
                        self.made.fetch_add(1, Ordering::Relaxed);
                        return Ok(Permit {
                            id,
                            granted_at_ms: now,
                            arrive_by_ms,
                        });
                    }
                    Err(StoreError::ConditionFailed) => {
                        // Another acquirer won the race: re-read after a short random pause
                        // so that contenders spread out.
                        tokio::time::sleep(Duration::from_millis(random_ms(3))).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Enough entries must leave the window for one slot beyond the reserve to free.
            let mut ats: Vec<i64> = entries.iter().map(|e| e.at).collect();
            ats.sort_unstable();
            let must_leave = (entries.len() + self.reserve + 1).saturating_sub(self.limit);
            let frees_at = ats
                .get(must_leave.saturating_sub(1))
                .copied()
                .unwrap_or(now)
                + self.window_ms;
            let wait = (frees_at - now).clamp(1, poll_ms);
            let jitter = random_ms((wait / 10).max(1) as u64);
            tokio::time::sleep(Duration::from_millis(wait as u64 + jitter)).await;
        }
    }

    /// Marks the permit's request as finished now, so its slot frees one window later.
    ///
    /// Failures are logged, not returned: the slot then simply frees after the request
    /// timeout, which is slower but still safe.
    pub async fn release(&self, permit: Permit) {
        // Rounded up: the clock is truncated to the millisecond, the completion was later.
        self.shorten(permit, |now| now + 1).await;
    }

    /// Marks the permit's request as given up without an answer: it was sent at `sent_at_ms`
    /// and may still reach Peoplevox until `timeout` and the wire slack after that, so its slot
    /// frees one window after that moment (not after the whole hold).
    pub async fn abandon(&self, permit: Permit, sent_at_ms: i64, timeout: Duration) {
        let arrives_by = sent_at_ms + duration_ms(timeout) + WIRE_SLACK_MS;
        self.shorten(permit, move |_| arrives_by).await;
    }

    /// Moves the permit's entry back to `moment(now)` when that is earlier than its claim.
    async fn shorten(&self, permit: Permit, moment: impl Fn(i64) -> i64) {
        loop {
            let now = now_epoch_ms();
            let (mut entries, cond) = match self.read().await {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(error = %e, "could not release a Peoplevox budget slot");
                    return;
                }
            };
            let Some(entry) = entries.iter_mut().find(|e| e.id == permit.id) else {
                return;
            };
            entry.at = entry.at.min(moment(now));
            entries.retain(|e| e.at > now - self.window_ms);
            match self.write(&entries, cond, now).await {
                Ok(()) => return,
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "could not release a Peoplevox budget slot");
                    return;
                }
            }
        }
    }

    async fn read(&self) -> Result<(Vec<Entry>, Condition), PvxError> {
        match self.store.get(BUDGET_PK, &self.key).await? {
            None => Ok((Vec::new(), Condition::NotExists)),
            Some(item) => {
                let entries = serde_json::from_str(&item.data).unwrap_or_else(|e| {
                    // The log is short-lived bookkeeping: start afresh rather than block.
                    tracing::warn!(error = %e, "unreadable Peoplevox budget log, resetting it");
                    Vec::new()
                });
                Ok((entries, Condition::Version(item.version)))
            }
        }
    }

    async fn write(&self, entries: &[Entry], cond: Condition, now: i64) -> Result<(), StoreError> {
        let data =
            serde_json::to_string(entries).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The item is useless once every entry is older than a window. Entries written by
        // another instance may reach further than this writer's `now` (it read the clock
        // before a slow read), so the latest entry decides, not the clock.
        let latest = entries.iter().map(|e| e.at).max().unwrap_or(now).max(now);
        let expires_at = (latest + self.window_ms) / 1000 + 1;
        self.store
            .put(BUDGET_PK, &self.key, &data, cond, Some(expires_at))
            .await
            .map(|_| ())
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn random_ms(max: u64) -> u64 {
    rand::random::<u64>() % (max + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peoplevox::memory_store::MemoryStore;

    fn budget(store: Arc<dyn StateStore>, limit: u32, window_ms: u64) -> RequestBudget {
        RequestBudget::new(
            store,
            "acme",
            limit,
            Duration::from_millis(window_ms),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn budget_with(
        store: Arc<dyn StateStore>,
        limit: u32,
        window_ms: u64,
        max_request_ms: u64,
    ) -> RequestBudget {
        RequestBudget::new(
            store,
            "acme",
            limit,
            Duration::from_millis(window_ms),
            Duration::from_millis(max_request_ms),
        )
        .unwrap()
    }

    /// The largest number of grants inside any half-open window of `window_ms`.
    fn max_in_window(mut grants: Vec<i64>, window_ms: i64) -> usize {
        grants.sort_unstable();
        let mut best = 0;
        for (i, start) in grants.iter().enumerate() {
            let n = grants[i..]
                .iter()
                .take_while(|t| **t < start + window_ms)
                .count();
            best = best.max(n);
        }
        best
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_acquirers_never_exceed_the_window() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        // Two budgets on one store stand for two Lambdas of the same deployment.
        let a = Arc::new(budget(store.clone(), 5, 300));
        let b = Arc::new(budget(store.clone(), 5, 300));
        let mut tasks = Vec::new();
        for i in 0..40 {
            let budget = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let permit = budget.acquire().await.unwrap();
                // The time the request "arrives": after the grant, before the release.
                let arrived = now_epoch_ms();
                tokio::time::sleep(Duration::from_millis(random_ms(20))).await;
                budget.release(permit).await;
                arrived
            }));
        }
        let mut arrivals = Vec::new();
        for task in tasks {
            arrivals.push(task.await.unwrap());
        }
        assert_eq!(arrivals.len(), 40);
        assert!(max_in_window(arrivals, 300) <= 5);
        assert_eq!(a.granted() + b.granted(), 40);
        assert_eq!(a.granted(), 20);
    }

    /// The moments in the stored log.
    async fn logged(store: &Arc<dyn StateStore>) -> Vec<i64> {
        let item = store.get(BUDGET_PK, "acme").await.unwrap().unwrap();
        let entries: Vec<Entry> = serde_json::from_str(&item.data).unwrap();
        entries.iter().map(|e| e.at).collect()
    }

    #[tokio::test]
    async fn an_unanswered_request_holds_its_slot_until_it_can_no_longer_arrive() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = RequestBudget::new(
            store.clone(),
            "acme",
            1,
            Duration::from_millis(50),
            Duration::from_millis(100),
        )
        .unwrap();
        let permit = budget.acquire().await.unwrap();
        let granted = permit.granted_at_ms;
        // Until its outcome is known, the slot claims the timeout, the wire slack and the
        // grant slack: a request whose process died frees it only then.
        assert_eq!(logged(&store).await, vec![granted + 100 + 1_000 + 10_000]);
        let blocked = tokio::time::timeout(Duration::from_millis(200), budget.acquire()).await;
        assert!(blocked.is_err(), "the held slot was given out again");
        // Given up after its timeout: it may still land until sent + timeout + wire slack.
        let sent = granted + 5;
        budget
            .abandon(permit, sent, Duration::from_millis(100))
            .await;
        assert_eq!(logged(&store).await, vec![sent + 100 + 1_000]);
        // An answered request frees its slot one window after the answer.
        let next = tokio::time::timeout(Duration::from_secs(3), budget.acquire())
            .await
            .expect("the abandoned slot freed one window after it could last arrive")
            .unwrap();
        assert!(next.granted_at_ms >= sent + 1_100 + 50);
        budget.release(next).await;
        let released = logged(&store).await;
        assert!(released[0] <= now_epoch_ms() + 1, "{released:?}");
    }

    #[tokio::test]
    async fn a_reserve_leaves_slots_for_others() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let background = budget(store.clone(), 5, 60_000).with_reserve(2);
        let live = budget(store.clone(), 5, 60_000);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(background.acquire().await.unwrap());
        }
        // The background reader stops at 3 of 5; the live flow still gets the last 2.
        let blocked = tokio::time::timeout(Duration::from_millis(100), background.acquire()).await;
        assert!(blocked.is_err(), "the reserve was taken");
        for _ in 0..2 {
            held.push(live.acquire().await.unwrap());
        }
        assert_eq!(background.granted() + live.granted(), 5);
        // A reserve never blocks an instance completely.
        let all = budget(store, 5, 60_000).with_reserve(9);
        assert_eq!(all.reserve, 4);
    }

    #[tokio::test]
    async fn a_permit_leaves_the_request_its_timeout_less_the_grant_time() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = budget(store, 5, 300);
        let permit = budget.acquire().await.unwrap();
        let left = permit.time_left();
        // 5 s timeout + 10 s grant slack, less the (quick) grant itself.
        assert!(left > Duration::from_millis(14_500), "{left:?}");
        assert!(left <= Duration::from_millis(15_000), "{left:?}");
        // A grant that took longer than the whole hold leaves nothing to send with.
        let stale = Permit {
            id: 1,
            granted_at_ms: now_epoch_ms() - 10_000,
            arrive_by_ms: now_epoch_ms() - 3_000,
        };
        assert_eq!(stale.time_left(), Duration::ZERO);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_grant_answered_late_still_keeps_its_request_out_of_later_windows() {
        let memory = MemoryStore::new();
        let store: Arc<dyn StateStore> = memory.clone();
        let budget = Arc::new(budget_with(store, 1, 300, 100));
        // A's grant lands at once but is answered 1.5 s later: its request leaves then,
        // beyond the request timeout and the wire slack after the moment A's entry was made.
        memory.answer_next_put_late(Duration::from_millis(1_500));
        // A request that arrives as soon as its grant is answered; returns when it arrived.
        let request = |budget: Arc<RequestBudget>| {
            tokio::spawn(async move {
                let permit = budget.acquire().await.unwrap();
                let arrived = now_epoch_ms();
                budget.release(permit).await;
                arrived
            })
        };
        let a = request(budget.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let b = request(budget.clone());
        let arrivals = vec![a.await.unwrap(), b.await.unwrap()];
        // B waits for A's answer: both never land inside one window.
        assert_eq!(max_in_window(arrivals.clone(), 300), 1, "{arrivals:?}");
    }

    #[tokio::test]
    async fn the_log_outlives_its_latest_entry_by_a_window() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = budget(store.clone(), 5, 300);
        // Another instance's entry reaching a minute beyond this writer's clock.
        let far = now_epoch_ms() + 60_000;
        let entries = vec![Entry { id: 7, at: far }];
        budget
            .write(&entries, Condition::NotExists, now_epoch_ms())
            .await
            .unwrap();
        let item = store.get(BUDGET_PK, "acme").await.unwrap().unwrap();
        assert!(item.expires_at.unwrap() * 1000 >= far + 300);
    }

    #[test]
    fn zero_limit_is_a_config_error() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let err = RequestBudget::new(
            store,
            "acme",
            0,
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        assert!(matches!(err, Err(PvxError::Config(_))));
    }
}
