//! The invocation's deadline, as the API clients and the flows read it.
//!
//! A Lambda is killed at its deadline, whatever it is doing: a request still waiting for an
//! answer, or a wait for the Peoplevox budget, then takes the whole batch with it, and SQS
//! hands the batch out again only after the visibility timeout, without the flow's backoff
//! or reasons. So the invocation ([`crate::invocation`]) runs the flow inside a [`scope`]
//! that holds its deadline, and both clients cut every wait and every request to what is
//! left: an attempt that cannot finish in time is not started, and the caller gets a
//! deadline error that the flows treat as transient (the record is retried, with backoff).
//!
//! A tokio task-local carries the deadline, so that no call has to pass it on; work spawned
//! onto another task (`tokio::spawn`) would lose it, and the flows spawn none. Outside any
//! scope (the operator's commands) there is no deadline.

use std::future::Future;
use std::time::Duration;

use crate::store::now_epoch_ms;

tokio::task_local! {
    static SCOPE: Deadline;
}

/// The least time a request is started with: a shorter one would mostly be cut before its
/// answer (a request whose own timeout is shorter is started with that).
pub const LEAST_ATTEMPT: Duration = Duration::from_secs(1);

/// The reason of a record that a flow did not start because its time ran out.
pub const UNSTARTED: &str =
    "the invocation's time ran out before this record was started; it is retried later";

/// When the flow's work must be over, and how much of that time its requests leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// Epoch ms by which the flow must have returned.
    pub end_ms: i64,
    /// Kept between the end of the last request and `end_ms`, for what the flow does after
    /// its requests (ledger, links, audit).
    pub margin: Duration,
}

impl Deadline {
    /// The last moment, epoch ms, at which a request may still be in flight.
    pub fn requests_end_ms(&self) -> i64 {
        self.end_ms.saturating_sub(ms(self.margin))
    }
}

/// Runs `work` under `deadline`; inside another scope, the earlier of the two ends holds.
pub async fn scope<F: Future>(deadline: Deadline, work: F) -> F::Output {
    let deadline = match current() {
        Some(outer) if outer.requests_end_ms() < deadline.requests_end_ms() => outer,
        _ => deadline,
    };
    SCOPE.scope(deadline, work).await
}

/// The deadline of the scope this task runs in; `None` outside any.
pub fn current() -> Option<Deadline> {
    SCOPE.try_with(|d| *d).ok()
}

/// The timeout of a request started now: `configured`, cut to the time its requests have
/// left; `None` when that is less than it needs ([`LEAST_ATTEMPT`], or `configured` when
/// shorter): the request must not be started.
pub fn attempt_timeout(configured: Duration) -> Option<Duration> {
    let Some(deadline) = current() else {
        return Some(configured);
    };
    let left = left_until(deadline.requests_end_ms());
    (left >= least(configured)).then(|| left.min(configured))
}

/// Whether a request started after a pause of `delay` would still get the time it needs.
pub fn leaves_time_after(delay: Duration, configured: Duration) -> bool {
    match current() {
        None => true,
        Some(deadline) => left_until(deadline.requests_end_ms()) >= delay + least(configured),
    }
}

/// Whether the flow should start no new work: not even a short request fits any more.
pub fn expired() -> bool {
    attempt_timeout(LEAST_ATTEMPT).is_none()
}

/// The least time a request whose timeout is `configured` is started with.
pub fn least(configured: Duration) -> Duration {
    configured.min(LEAST_ATTEMPT)
}

fn left_until(end_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(end_ms - now_epoch_ms()).unwrap_or(0))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending_in(ms_from_now: i64, margin_ms: u64) -> Deadline {
        Deadline {
            end_ms: now_epoch_ms() + ms_from_now,
            margin: Duration::from_millis(margin_ms),
        }
    }

    #[tokio::test]
    async fn outside_a_scope_nothing_is_cut() {
        assert_eq!(current(), None);
        let configured = Duration::from_secs(60);
        assert_eq!(attempt_timeout(configured), Some(configured));
        assert!(leaves_time_after(Duration::from_secs(3600), configured));
        assert!(!expired());
    }

    #[tokio::test]
    async fn a_request_gets_what_is_left_less_the_margin_or_is_not_started() {
        scope(ending_in(5_000, 1_000), async {
            let cut = attempt_timeout(Duration::from_secs(60)).unwrap();
            assert!(cut <= Duration::from_millis(4_000), "{cut:?}");
            assert!(cut > Duration::from_millis(3_500), "{cut:?}");
            // A shorter configured timeout is kept.
            assert_eq!(
                attempt_timeout(Duration::from_millis(300)),
                Some(Duration::from_millis(300))
            );
            assert!(leaves_time_after(
                Duration::from_secs(2),
                Duration::from_secs(60)
            ));
            assert!(!leaves_time_after(
                Duration::from_millis(3_500),
                Duration::from_secs(60)
            ));
        })
        .await;
        scope(ending_in(1_500, 1_000), async {
            // 500 ms left for requests: less than a request needs.
            assert_eq!(attempt_timeout(Duration::from_secs(60)), None);
            assert!(expired());
            // A request that needs less still fits.
            assert!(attempt_timeout(Duration::from_millis(200)).is_some());
        })
        .await;
    }

    #[tokio::test]
    async fn an_inner_scope_cannot_outlast_its_outer_one() {
        scope(ending_in(2_000, 0), async {
            scope(ending_in(60_000, 0), async {
                let cut = attempt_timeout(Duration::from_secs(60)).unwrap();
                assert!(cut <= Duration::from_secs(2), "{cut:?}");
            })
            .await;
            scope(ending_in(1_500, 0), async {
                let cut = attempt_timeout(Duration::from_secs(60)).unwrap();
                assert!(cut <= Duration::from_millis(1_500), "{cut:?}");
            })
            .await;
        })
        .await;
    }
}
