//! Lambda's limits on a local worker, as AWS enforces them on a queue-fed function: an
//! invocation still running at its function's Timeout is killed (its future dropped wherever it
//! is: mid-request, mid-settle), nothing of its batch is acknowledged beyond what it did
//! already, its messages come back when their visibility timeout runs out, and the next
//! invocation on that worker is a cold start that builds the flow again. The soak turns this on
//! and makes it happen: a share of the calls with which a worker settles its batch stall for
//! the whole Timeout first (a slow queue), so that some invocations are killed mid-settle.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use ctpvx_shared::config::Config;
use ctpvx_shared::invocation::{SETTLE_RESERVE, WORK_MARGIN};
use ctpvx_shared::queues::{ORDERS_QUEUE, STOCK_QUEUE};
use ctpvx_shared::store::{Outgoing, Queue, QueueDepth, QueueMessage, StoreError};

use super::worker::Chance;

/// The limits, and what they did.
#[derive(Debug)]
pub struct LambdaLimits {
    /// Function timeouts are template.yaml's divided by this (the soak compresses time: its
    /// budget window and client timeouts are shorter than production's too).
    pub time_scale: u32,
    /// The share of settling calls that stall past the function's whole Timeout first.
    pub stalls: Chance,
    kills: AtomicU64,
    init_failures: AtomicU64,
    overruns: AtomicU64,
}

impl LambdaLimits {
    /// Timeouts divided by `time_scale` (at least 1); no stalls until [`Chance::set_rate`].
    pub fn new(time_scale: u32, seed: u64) -> Self {
        Self {
            time_scale: time_scale.max(1),
            stalls: Chance::new(0.0, seed ^ 0x5a11),
            kills: AtomicU64::new(0),
            init_failures: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
        }
    }

    /// The Timeout of the function reading `queue`, scaled.
    pub fn timeout(&self, queue: &str) -> Duration {
        ctpvx_shared::queues::function_timeout(queue) / self.time_scale
    }

    /// Checks that each scaled Timeout still fits one full attempt of every request on its
    /// function's worst path with `config`'s client timeouts and budget window, as
    /// template.yaml's fit production's (tests/template.rs): a budget window and a Peoplevox
    /// request per Peoplevox call (a read and SaveData for the export, one read for the
    /// others), the commercetools requests (three for the export, two for the others), then
    /// the flow's work margin and the settle reserve. A Timeout shorter than that cuts
    /// healthy batches at their deadline, which production never does.
    pub fn check_fits(&self, config: &Config) -> Result<(), String> {
        let window = config.peoplevox.budget_window();
        let pvx = Duration::from_millis(config.peoplevox.timeout_ms);
        let ct = Duration::from_millis(config.commercetools.timeout_ms);
        for (queue, requests) in [
            (ORDERS_QUEUE, 2 * (window + pvx) + 3 * ct),
            (STOCK_QUEUE, window + pvx + 2 * ct),
        ] {
            let timeout = self.timeout(queue);
            let kept = SETTLE_RESERVE.min(timeout / 4) + WORK_MARGIN.min(timeout / 8);
            if timeout < requests + kept {
                return Err(format!(
                    "the {queue} function's Timeout scaled by 1/{} is {} ms, shorter than its worst request path ({} ms) with these client timeouts and budget window: scale time less, or turn function timeouts off",
                    self.time_scale,
                    timeout.as_millis(),
                    (requests + kept).as_millis()
                ));
            }
        }
        Ok(())
    }

    /// Invocations killed at their timeout so far.
    pub fn kills(&self) -> u64 {
        self.kills.load(Ordering::Relaxed)
    }

    /// Invocations whose flow could not be built (cold starts that failed) so far.
    pub fn init_failures(&self) -> u64 {
        self.init_failures.load(Ordering::Relaxed)
    }

    /// Invocations whose flow was still working at its own deadline (the Lambda's less the
    /// settle reserve) and was stopped there: a flow that does not cut its work at the
    /// deadline shows here, not as a kill.
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Ordering::Relaxed)
    }

    pub(super) fn overran(&self) {
        self.overruns.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn killed(&self) {
        self.kills.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn init_failed(&self) {
        self.init_failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// The queue as one invocation's settling sees it: a share of its calls stall for `stall`
/// before they are made.
pub(super) struct StallingQueue<'a> {
    pub inner: &'a dyn Queue,
    pub limits: &'a LambdaLimits,
    pub stall: Duration,
}

impl StallingQueue<'_> {
    async fn maybe_stall(&self) {
        if self.limits.stalls.roll() {
            tokio::time::sleep(self.stall).await;
        }
    }
}

#[async_trait]
impl Queue for StallingQueue<'_> {
    async fn send_delayed(
        &self,
        queue: &str,
        body: &str,
        attributes: &BTreeMap<String, String>,
        delay: Duration,
    ) -> Result<String, StoreError> {
        self.maybe_stall().await;
        self.inner
            .send_delayed(queue, body, attributes, delay)
            .await
    }

    async fn send_many(
        &self,
        queue: &str,
        messages: &[Outgoing<'_>],
    ) -> Vec<Result<String, StoreError>> {
        self.maybe_stall().await;
        self.inner.send_many(queue, messages).await
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        self.inner.receive(queue, max, visibility).await
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<(), StoreError> {
        self.maybe_stall().await;
        self.inner.delete(queue, receipt).await
    }

    async fn delete_many(&self, queue: &str, receipts: &[String]) -> Vec<(usize, StoreError)> {
        self.maybe_stall().await;
        self.inner.delete_many(queue, receipts).await
    }

    async fn release_after(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.maybe_stall().await;
        self.inner.release_after(queue, receipt, delay).await
    }

    async fn release_many_after(
        &self,
        queue: &str,
        releases: &[(String, Duration)],
    ) -> Vec<(usize, StoreError)> {
        self.maybe_stall().await;
        self.inner.release_many_after(queue, releases).await
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        self.inner.depth(queue).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The soak's settings: client timeouts of 500 ms, the 15 s budget window compressed.
    fn soak_config(compress: u64) -> Config {
        let mut config =
            Config::from_toml(include_str!("../../config/ctpvx.example.toml")).unwrap();
        config.commercetools.timeout_ms = 500;
        config.peoplevox.timeout_ms = 500;
        config.peoplevox.budget_window_ms = 15_000 / compress;
        config
    }

    #[test]
    fn scaled_timeouts_must_still_fit_the_worst_request_path() {
        // template.yaml's Timeouts / 30: 6.7 s and 4 s, for paths of 6.0 s and 3.5 s.
        assert_eq!(
            LambdaLimits::new(30, 1).check_fits(&soak_config(30)),
            Ok(())
        );
        // / 60: 3.3 s for the export, against 3.0 s of requests and 1.25 s kept.
        let e = LambdaLimits::new(60, 1)
            .check_fits(&soak_config(60))
            .unwrap_err();
        assert!(
            e.contains("orders function's Timeout scaled by 1/60 is 3333 ms"),
            "{e}"
        );
        // Production's own settings fit template.yaml's Timeouts unscaled.
        let production =
            Config::from_toml(include_str!("../../config/ctpvx.example.toml")).unwrap();
        assert_eq!(LambdaLimits::new(1, 1).check_fits(&production), Ok(()));
    }
}
