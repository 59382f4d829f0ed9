//! The deployment-wide request budget: at most `limit` requests to one Peoplevox tenant in any
//! sliding window, whatever the number of concurrent Lambdas.
//!
//! The budget is `limit` slots, one state-store item each (pk `pvx-budget#<client id>`, sk
//! `slot-NN`), written under optimistic concurrency. A slot holds the last moment its latest
//! request could still *arrive* at Peoplevox: while the request is in flight that is the
//! grant time plus the request timeout, and once the answer is in it becomes the completion
//! time. A slot is free again one window after that moment, so the arrivals of one slot are
//! at least a window apart and no window holds more than `limit`. Recording only the send time
//! would not do: an earlier request that travels slower than a later one would land inside
//! the later one's window at the server.
//!
//! One item per slot rather than one log item: grants and releases of different requests
//! write different items, so they do not queue behind one another's conditional writes. On a
//! store that answers in a second (moto under the soak), one shared item let through fewer
//! than one request a second. A grant reads every slot in one query and writes one; a release
//! is one write, conditional on the version its grant wrote, so a release that comes too late
//! (the slot already carries another request) changes nothing. Slot items never expire: a slot
//! created afresh would start its versions again, and a late release could match one.
//!
//! The slot's moment is chosen before the store write that grants it, so a slow store (or a
//! starved scheduler) eats into the time the request may spend in flight. The permit says
//! how much is left ([`Permit::time_left`]) and the transport shortens the request timeout to
//! it: a request can then never arrive after the moment its slot claims. A grant made under a
//! deadline ([`crate::deadline`]) claims at most until the request must be over, plus the
//! wire slack: the process is gone by then, so a Lambda killed at its deadline pins its slot
//! no longer than its request could still arrive.
//!
//! Waiters line up ([`Ticket`]): a waiter that finds no slot for it writes a ticket item into
//! the same partition (sk `wait-<class>-<since>-<id>`), which the same query reads, and a
//! slot goes to the first tickets in key order: the live flows' (class 0) before a background
//! reader's (class 1, the nightly reconciliation), and within a class the earliest. A ticket
//! lapses at its waiter's last useful moment (its deadline less a request) or after a short
//! lease that a waiting waiter renews, so a waiter that died blocks nobody for long. An
//! uncontended grant writes no ticket: it costs one query and one write, as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::PvxError;
use crate::store::{Condition, StateStore, StoreError, now_epoch_ms};

/// Partition key prefix of the budget's slots (`pvx-budget#<client id>`).
pub const BUDGET_PK: &str = "pvx-budget";

/// The request a slot last carried.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    /// Random id of the request, for the logs of a slot's history.
    id: u64,
    /// Epoch ms up to which the request may reach Peoplevox.
    at: i64,
}

/// How much of the budget is taken: slots whose request arrived (or may still arrive) within
/// the last window, and the waiters in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BudgetUse {
    /// Slots taken within the window.
    pub busy: usize,
    /// Requests the window allows.
    pub limit: usize,
    /// Processes waiting for a slot.
    pub waiting: usize,
}

/// A slot as read: the moment its latest request may last arrive (`None` when it never
/// carried one or is unreadable) and the condition that takes it over.
struct Slot {
    at: Option<i64>,
    cond: Condition,
}

impl Slot {
    /// Whether the slot's latest request arrived (or may still arrive) within the window
    /// before `now`.
    fn busy(&self, now: i64, window_ms: i64) -> bool {
        self.at.is_some_and(|at| at > now - window_ms)
    }
}

/// Slack for bytes already on the wire when the client gives up on a request.
const WIRE_SLACK_MS: i64 = 1_000;

/// Allowance for the time between choosing a slot's moment and sending the request (the
/// store write that grants the slot, task scheduling), so that a grant leaves the request its
/// whole timeout even on a slow store: on moto under the default-size soak a grant took over a
/// second. Generous on purpose: it only matters for a request whose outcome is never reported
/// (the process died), since an answered or abandoned request shortens its slot at once.
const GRANT_SLACK_MS: i64 = 10_000;

/// How long a ticket holds its waiter's place without being renewed: the longest a waiter
/// that died can hold up the ones behind it. A waiting waiter renews it at half-time, a write
/// every few seconds.
const TICKET_LEASE_MS: i64 = 10_000;

/// Tickets read with the slots: waiters beyond these count as behind all of them.
const TICKETS_READ: usize = 100;

/// A waiter's place in line for a slot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Ticket {
    /// Epoch ms after which the ticket counts for nothing.
    until: i64,
}

/// A ticket this process wrote: its key and how long it holds.
struct Place {
    sk: String,
    until: i64,
}

/// The place in line of a waiter; a waiter dropped while it waits (its invocation stopped)
/// leaves the line all the same, in a task of its own.
struct InLine<'a> {
    budget: &'a RequestBudget,
    place: Option<Place>,
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        let (Some(place), Ok(runtime)) = (self.place.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let (store, pk) = (self.budget.store.clone(), self.budget.pk.clone());
        runtime.spawn(async move {
            // Best effort: a ticket left behind lapses with its lease.
            let _ = store.delete(&pk, &place.sk).await;
        });
    }
}

/// A granted request slot; hand it back to [`RequestBudget::release`] when the answer is in.
#[derive(Debug)]
pub struct Permit {
    slot: usize,
    /// The slot item's version written by the grant.
    version: u64,
    id: u64,
    /// When the slot was granted, epoch ms.
    pub granted_at_ms: i64,
    /// The last moment, epoch ms, at which the request may reach Peoplevox (its slot's claim).
    arrive_by_ms: i64,
}

impl Permit {
    /// How long a request sent now may stay in flight and still reach Peoplevox before the
    /// moment its slot claims; zero when that moment is too close.
    pub fn time_left(&self) -> Duration {
        let left = self.arrive_by_ms - WIRE_SLACK_MS - now_epoch_ms();
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }
}

/// The shared limiter of one tenant.
pub struct RequestBudget {
    store: Arc<dyn StateStore>,
    pk: String,
    limit: usize,
    /// Slots this instance leaves free for others (a background reader's courtesy).
    reserve: usize,
    /// A background reader: its waiters line up behind every live flow's.
    background: bool,
    window_ms: i64,
    hold_ms: i64,
    made: AtomicU64,
}

impl std::fmt::Debug for RequestBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBudget")
            .field("pk", &self.pk)
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
            pk: format!("{BUDGET_PK}#{client_id}"),
            limit: limit as usize,
            reserve: 0,
            background: false,
            window_ms: duration_ms(window),
            hold_ms: duration_ms(max_request) + WIRE_SLACK_MS + GRANT_SLACK_MS,
            made: AtomicU64::new(0),
        })
    }

    /// Makes this instance a background reader (the nightly reconciliation): it takes a slot
    /// only while more than `reserve` slots are free, so that other processes of the
    /// deployment always find some, and its waiters line up behind every live flow's. At least
    /// one slot stays usable.
    pub fn with_reserve(mut self, reserve: u32) -> Self {
        self.reserve = (reserve as usize).min(self.limit - 1);
        self.background = true;
        self
    }

    /// Requests granted by this instance so far.
    pub fn granted(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// Waits in line until a slot is free in the shared window, then takes it. `until_ms` is
    /// the moment (epoch ms) by which the request must be over, when it has a deadline: the
    /// grant claims no further than that (and the wire slack), and the wait gives up, with
    /// `None`, once a grant would leave the request less than `least`.
    pub async fn acquire(
        &self,
        until_ms: Option<i64>,
        least: Duration,
    ) -> Result<Option<Permit>, PvxError> {
        let give_up_ms = until_ms.map(|until| until.saturating_sub(duration_ms(least)));
        let mut line = InLine {
            budget: self,
            place: None,
        };
        let granted = self
            .wait_in_line(until_ms, give_up_ms, &mut line.place)
            .await;
        if let Some(place) = line.place.take() {
            self.leave(&place).await;
        }
        granted
    }

    async fn wait_in_line(
        &self,
        until_ms: Option<i64>,
        give_up_ms: Option<i64>,
        place: &mut Option<Place>,
    ) -> Result<Option<Permit>, PvxError> {
        // Waiters cannot know when another process's in-flight request completes, so they
        // poll; the interval scales with the window to keep store reads low.
        let poll_ms = (self.window_ms / 20).clamp(5, 500);
        let class = if self.background { '1' } else { '0' };
        // A newcomer comes after every ticket of its class.
        let newcomer = format!("{TICKET_PREFIX}{class}-~");
        loop {
            let now = now_epoch_ms();
            if give_up_ms.is_some_and(|at| now >= at) {
                return Ok(None);
            }
            let (slots, waiters) = self.read().await?;
            let mine = place.as_ref().map_or(newcomer.as_str(), |p| p.sk.as_str());
            let ahead = waiters
                .iter()
                .filter(|(sk, ticket)| ticket.until > now && sk.as_str() < mine)
                .count();
            let free: Vec<usize> = (0..slots.len())
                .filter(|&k| !slots[k].busy(now, self.window_ms))
                .collect();
            if free.len() > self.reserve + ahead {
                // A random free slot, so that contenders rarely pick the same one.
                let slot = free[random_up_to(free.len() as u64 - 1) as usize];
                let id = rand::random::<u64>();
                let mut arrive_by_ms = now + self.hold_ms;
                if let Some(until) = until_ms {
                    arrive_by_ms = arrive_by_ms.min(until.saturating_add(WIRE_SLACK_MS));
                }
                let entry = Entry {
                    id,
                    at: arrive_by_ms,
                };
                match self.write(slot, entry, slots[slot].cond).await {
                    Ok(version) => {
                        self.made.fetch_add(1, Ordering::Relaxed);
                        return Ok(Some(Permit {
                            slot,
                            version,
                            id,
                            granted_at_ms: now,
                            arrive_by_ms,
                        }));
                    }
                    Err(StoreError::ConditionFailed) => {
                        // Another acquirer won the race: re-read after a short random pause
                        // so that contenders spread out.
                        tokio::time::sleep(Duration::from_millis(random_up_to(3))).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            self.hold_place(place, class, now, give_up_ms).await?;
            // Enough busy slots must free for one beyond the reserve and the waiters ahead.
            let mut busy: Vec<i64> = slots
                .iter()
                .filter(|s| s.busy(now, self.window_ms))
                .filter_map(|s| s.at)
                .collect();
            busy.sort_unstable();
            let must_free = (self.reserve + ahead + 1).saturating_sub(free.len());
            let frees_at = busy
                .get(must_free.saturating_sub(1))
                .copied()
                .unwrap_or(now)
                + self.window_ms;
            let mut wait = (frees_at - now).clamp(1, poll_ms);
            if let Some(at) = give_up_ms {
                wait = wait.min((at - now).max(1));
            }
            let jitter = random_up_to((wait / 10).max(1) as u64);
            tokio::time::sleep(Duration::from_millis(wait as u64 + jitter)).await;
        }
    }

    /// Takes a place in line (or renews the one held when its lease is half gone), holding
    /// until the waiter gives up or the lease ends.
    async fn hold_place(
        &self,
        place: &mut Option<Place>,
        class: char,
        now: i64,
        give_up_ms: Option<i64>,
    ) -> Result<(), PvxError> {
        let until = give_up_ms.map_or(now + TICKET_LEASE_MS, |at| at.min(now + TICKET_LEASE_MS));
        let sk = match place {
            Some(held) if held.until - now > TICKET_LEASE_MS / 2 || held.until >= until => {
                return Ok(());
            }
            // The same key: a renewed ticket keeps its place.
            Some(held) => held.sk.clone(),
            None => format!(
                "{TICKET_PREFIX}{class}-{now:013}-{:016x}",
                rand::random::<u64>()
            ),
        };
        let data = serde_json::to_string(&Ticket { until })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The store expires items by the second; the code reads `until` to the millisecond.
        let expires = Some(until / 1000 + 1);
        self.store
            .put(&self.pk, &sk, &data, Condition::Always, expires)
            .await?;
        *place = Some(Place { sk, until });
        Ok(())
    }

    /// Gives up a place in line. Failures are logged: the ticket then lapses on its own.
    async fn leave(&self, place: &Place) {
        if let Err(e) = self.store.delete(&self.pk, &place.sk).await {
            tracing::warn!(error = %e, "could not leave the Peoplevox budget line; the ticket lapses");
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

    /// Moves the permit's slot back to `moment(now)` when that is earlier than its claim: one
    /// write, conditional on the version the grant wrote.
    async fn shorten(&self, permit: Permit, moment: impl Fn(i64) -> i64) {
        let at = moment(now_epoch_ms());
        if at >= permit.arrive_by_ms {
            return;
        }
        let entry = Entry { id: permit.id, at };
        match self
            .write(permit.slot, entry, Condition::Version(permit.version))
            .await
        {
            // Someone took the slot over: it was free, so this request's claim had ended.
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not release a Peoplevox budget slot");
            }
        }
    }

    /// How much of the budget is taken now, read as a grant reads it (one query), for an
    /// operator's overview.
    pub async fn in_use(&self) -> Result<BudgetUse, PvxError> {
        let (slots, waiters) = self.read().await?;
        let now = now_epoch_ms();
        Ok(BudgetUse {
            busy: slots.iter().filter(|s| s.busy(now, self.window_ms)).count(),
            limit: self.limit,
            waiting: waiters.iter().filter(|(_, t)| t.until > now).count(),
        })
    }

    /// Every slot, in order, and the waiters' tickets, in line order; one query.
    async fn read(&self) -> Result<(Vec<Slot>, Vec<(String, Ticket)>), PvxError> {
        let mut slots: Vec<Slot> = (0..self.limit)
            .map(|_| Slot {
                at: None,
                cond: Condition::NotExists,
            })
            .collect();
        let mut waiters = Vec::new();
        // A few more than the slots: items of a larger earlier limit sort among them; the
        // tickets sort after every slot.
        let items = self
            .store
            .query(&self.pk, self.limit * 2 + 8 + TICKETS_READ)
            .await?;
        for (sk, item) in items {
            if sk.starts_with(TICKET_PREFIX) {
                match serde_json::from_str::<Ticket>(&item.data) {
                    Ok(ticket) => waiters.push((sk, ticket)),
                    Err(e) => {
                        tracing::warn!(error = %e, sk, "unreadable Peoplevox budget ticket, ignored")
                    }
                }
                continue;
            }
            let Some(slot) = slot_of(&sk).and_then(|k| slots.get_mut(k)) else {
                continue;
            };
            slot.cond = Condition::Version(item.version);
            slot.at = match serde_json::from_str::<Entry>(&item.data) {
                Ok(entry) => Some(entry.at),
                Err(e) => {
                    // Short-lived bookkeeping: take the slot over rather than block.
                    tracing::warn!(error = %e, sk, "unreadable Peoplevox budget slot, reusing it");
                    None
                }
            };
        }
        Ok((slots, waiters))
    }

    /// Writes one slot and returns its new version.
    async fn write(&self, slot: usize, entry: Entry, cond: Condition) -> Result<u64, StoreError> {
        let data = serde_json::to_string(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .put(&self.pk, &slot_key(slot), &data, cond, None)
            .await
    }
}

/// Sort key prefix of the waiters' tickets (after every `slot-` key).
const TICKET_PREFIX: &str = "wait-";

fn slot_key(slot: usize) -> String {
    format!("slot-{slot:03}")
}

fn slot_of(sk: &str) -> Option<usize> {
    sk.strip_prefix("slot-")?.parse().ok()
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// A random whole number from 0 to `max`, both included: a jitter in milliseconds, or the
/// index of a free slot.
fn random_up_to(max: u64) -> u64 {
    rand::random_range(0..=max)
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
                let permit = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
                // The time the request "arrives": after the grant, before the release.
                let arrived = now_epoch_ms();
                tokio::time::sleep(Duration::from_millis(random_up_to(20))).await;
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

    /// The moments the slots hold, earliest first.
    async fn logged(store: &Arc<dyn StateStore>) -> Vec<i64> {
        let items = store.query("pvx-budget#acme", 100).await.unwrap();
        let mut ats: Vec<i64> = items
            .iter()
            .filter(|(sk, _)| slot_of(sk).is_some())
            .map(|(_, item)| serde_json::from_str::<Entry>(&item.data).unwrap().at)
            .collect();
        ats.sort_unstable();
        ats
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
        let permit = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
        let granted = permit.granted_at_ms;
        // Until its outcome is known, the slot claims the timeout, the wire slack and the
        // grant slack: a request whose process died frees it only then.
        assert_eq!(logged(&store).await, vec![granted + 100 + 1_000 + 10_000]);
        let blocked = tokio::time::timeout(
            Duration::from_millis(200),
            budget.acquire(None, Duration::ZERO),
        )
        .await;
        assert!(blocked.is_err(), "the held slot was given out again");
        // Given up after its timeout: it may still land until sent + timeout + wire slack.
        let sent = granted + 5;
        budget
            .abandon(permit, sent, Duration::from_millis(100))
            .await;
        assert_eq!(logged(&store).await, vec![sent + 100 + 1_000]);
        // An answered request frees its slot one window after the answer.
        let next =
            tokio::time::timeout(Duration::from_secs(3), budget.acquire(None, Duration::ZERO))
                .await
                .expect("the abandoned slot freed one window after it could last arrive")
                .unwrap()
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
            held.push(
                background
                    .acquire(None, Duration::ZERO)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        // The background reader stops at 3 of 5; the live flow still gets the last 2.
        let blocked = tokio::time::timeout(
            Duration::from_millis(100),
            background.acquire(None, Duration::ZERO),
        )
        .await;
        assert!(blocked.is_err(), "the reserve was taken");
        for _ in 0..2 {
            held.push(live.acquire(None, Duration::ZERO).await.unwrap().unwrap());
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
        let permit = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
        let left = permit.time_left();
        // 5 s timeout + 10 s grant slack, less the (quick) grant itself.
        assert!(left > Duration::from_millis(14_500), "{left:?}");
        assert!(left <= Duration::from_millis(15_000), "{left:?}");
        // A grant that took longer than the whole hold leaves nothing to send with.
        let stale = Permit {
            slot: 0,
            version: 1,
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
                let permit = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
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
    async fn a_release_after_the_slot_was_taken_again_changes_nothing() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = budget_with(store.clone(), 1, 50, 100);
        let first = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
        // The same permit, as a process that froze before releasing still holds it.
        let late = Permit {
            slot: first.slot,
            version: first.version,
            id: first.id,
            granted_at_ms: first.granted_at_ms,
            arrive_by_ms: first.arrive_by_ms,
        };
        budget.release(first).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        let second = budget.acquire(None, Duration::ZERO).await.unwrap().unwrap();
        let claim = second.arrive_by_ms;
        assert_eq!(logged(&store).await, vec![claim]);
        budget.release(late).await;
        assert_eq!(
            logged(&store).await,
            vec![claim],
            "a stale release shortened the slot's new request"
        );
        assert!(
            tokio::time::timeout(
                Duration::from_millis(200),
                budget.acquire(None, Duration::ZERO)
            )
            .await
            .is_err(),
            "the slot was given out while its request may still arrive"
        );
    }

    #[tokio::test]
    async fn each_slot_is_its_own_item() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = budget(store.clone(), 3, 60_000);
        let permits = [
            budget.acquire(None, Duration::ZERO).await.unwrap().unwrap(),
            budget.acquire(None, Duration::ZERO).await.unwrap().unwrap(),
            budget.acquire(None, Duration::ZERO).await.unwrap().unwrap(),
        ];
        let mut slots: Vec<usize> = permits.iter().map(|p| p.slot).collect();
        slots.sort_unstable();
        assert_eq!(slots, vec![0, 1, 2]);
        let keys: Vec<String> = store
            .query("pvx-budget#acme", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(sk, _)| sk)
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(keys.iter().all(|k| slot_of(k).is_some()), "{keys:?}");
    }

    async fn take(budget: &RequestBudget) -> Permit {
        budget.acquire(None, Duration::ZERO).await.unwrap().unwrap()
    }

    /// Tickets in line, lapsed or not.
    async fn tickets(store: &Arc<dyn StateStore>) -> usize {
        let items = store.query("pvx-budget#acme", 100).await.unwrap();
        items
            .iter()
            .filter(|(sk, _)| sk.starts_with(TICKET_PREFIX))
            .count()
    }

    #[tokio::test]
    async fn a_wait_gives_up_at_the_deadline_and_leaves_the_line() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = budget(store.clone(), 1, 60_000);
        let _held = take(&budget).await;
        let started = std::time::Instant::now();
        let until = now_epoch_ms() + 400;
        let waited = tokio::time::timeout(
            Duration::from_secs(3),
            budget.acquire(Some(until), Duration::from_millis(100)),
        )
        .await
        .expect("the wait ended at its deadline");
        assert!(waited.unwrap().is_none(), "a slot was granted");
        // It gave up when a grant would have left the request less than it needs.
        assert!(
            started.elapsed() < Duration::from_millis(390),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(tickets(&store).await, 0, "the waiter left a ticket behind");
    }

    #[tokio::test]
    async fn a_grant_under_a_deadline_frees_its_slot_by_then_though_its_holder_died() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        // A 60 s request timeout: without a deadline an unanswered grant claims 71 s.
        let budget = budget_with(store.clone(), 1, 100, 60_000);
        let until = now_epoch_ms() + 300;
        let permit = budget
            .acquire(Some(until), Duration::from_millis(50))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(logged(&store).await, vec![until + WIRE_SLACK_MS]);
        assert!(permit.time_left() <= Duration::from_millis(300));
        // The holder dies without a word: the permit is never handed back.
        let _ = permit;
        let next = tokio::time::timeout(Duration::from_secs(3), take(&budget))
            .await
            .expect("the slot freed one window after the dead holder's request could arrive");
        assert!(next.granted_at_ms >= until + WIRE_SLACK_MS + 100);
    }

    /// Takes a slot, notes `tag` in `served`, and releases the slot at once.
    fn waiter(
        budget: Arc<RequestBudget>,
        served: Arc<std::sync::Mutex<Vec<String>>>,
        tag: String,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let permit = take(&budget).await;
            served.lock().unwrap().push(tag);
            budget.release(permit).await;
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_are_served_in_the_order_they_came() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let budget = Arc::new(budget(store.clone(), 1, 100));
        let first = take(&budget).await;
        budget.release(first).await;
        let served = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for i in 0..5 {
            waiters.push(waiter(budget.clone(), served.clone(), i.to_string()));
            // Each waiter lines up before the next comes, while the slot is still busy.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*served.lock().unwrap(), ["0", "1", "2", "3", "4"]);
        assert_eq!(tickets(&store).await, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_live_flow_is_served_before_a_waiting_reconciliation() {
        let store: Arc<dyn StateStore> = MemoryStore::new();
        let live = Arc::new(budget(store.clone(), 2, 100));
        // No reserve: only the order of the line keeps it behind the live flows.
        let background = Arc::new(budget(store.clone(), 2, 100).with_reserve(0));
        let held = [take(&live).await, take(&live).await];
        for permit in held {
            live.release(permit).await;
        }
        let served = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        // The reconciliation lines up first.
        for (budget, tag) in [
            (&background, "reconcile"),
            (&background, "reconcile"),
            (&live, "live"),
            (&live, "live"),
        ] {
            waiters.push(waiter(budget.clone(), served.clone(), tag.into()));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(
            *served.lock().unwrap(),
            ["live", "live", "reconcile", "reconcile"]
        );
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
