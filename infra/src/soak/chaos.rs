//! The faults of the soak, switched on together while the live flows run: server errors and
//! timeouts from both APIs, Peoplevox sessions expiring under the clients, a concurrent
//! writer bumping commercetools versions (409s), callbacks lost, duplicated up to 3 times and
//! reordered, workers killed after their side effects (see [`crate::local::worker`]), and
//! queue calls that stall until Lambda kills the invocation at its timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::testbed::Testbed;

/// Fault rates.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FaultRates {
    /// Share of API requests answered 5xx (both simulators).
    pub server_errors: f64,
    /// Share of API requests that hang past the client's timeout (both simulators).
    pub timeouts: f64,
    /// How long a hung request hangs.
    pub hang_ms: u64,
    /// Share of Peoplevox callbacks lost.
    pub callbacks_lost: f64,
    /// Share of callbacks delivered at least twice.
    pub callbacks_repeated: f64,
    /// Share of the repeated ones delivered a third time.
    pub third_delivery: f64,
    /// Callbacks overtake each other within this window.
    pub reorder_window_ms: u64,
    /// Peoplevox sessions expire after this many Peoplevox requests (any client's). Counted
    /// in requests, not time: a clock rate would measure the store, not the client. On moto
    /// a budget grant takes a second or more, so sessions expiring every second never lived
    /// from a re-authentication to the request it was for; on the embedded store the default
    /// soak saw one expiry per 34 requests under the old one-second rate (615 in 20,619).
    pub session_expiry_requests: u64,
    /// A concurrent writer bumps the version of the next commercetools update this often.
    pub concurrent_write_ms: u64,
    /// Share of worker batches killed after their side effects, before acknowledging.
    pub worker_kills: f64,
    /// Share of the queue calls with which a worker settles its batch that stall for a whole
    /// function timeout first: with function timeouts on, Lambda kills that invocation
    /// mid-settle (see [`crate::local::lambda_limits`]).
    pub settle_stalls: f64,
}

impl Default for FaultRates {
    fn default() -> Self {
        Self {
            server_errors: 0.10,
            timeouts: 0.05,
            hang_ms: 750,
            callbacks_lost: 0.02,
            callbacks_repeated: 0.5,
            third_delivery: 0.5,
            reorder_window_ms: 200,
            session_expiry_requests: 30,
            concurrent_write_ms: 20,
            worker_kills: 0.05,
            settle_stalls: 0.005,
        }
    }
}

/// Switches the simulators' faults on (the churn of sessions and versions is [`churn`]).
pub fn switch_on(bed: &Testbed, rates: &FaultRates, seed: u64) {
    for faults in [bed.ct.faults(), bed.pvx.faults()] {
        faults.set_error_rate(rates.server_errors);
        faults.set_timeout_rate(rates.timeouts);
        faults.set_hang(Duration::from_millis(rates.hang_ms));
    }
    let callbacks = bed.pvx.callback_faults();
    callbacks.set_seed(seed);
    callbacks.set_drop_rate(rates.callbacks_lost);
    callbacks.set_duplicate_rate(rates.callbacks_repeated);
    callbacks.set_third_delivery_rate(rates.third_delivery);
    callbacks.set_reorder_window(Duration::from_millis(rates.reorder_window_ms));
}

/// Until `stop`: expires Peoplevox's sessions and has a concurrent writer change the next
/// commercetools resource updated, each at its rate. Returns how often sessions expired.
pub async fn churn(bed: &Testbed, rates: &FaultRates, stop: &AtomicBool) -> u64 {
    let every = rates.session_expiry_requests.max(1);
    let write = Duration::from_millis(rates.concurrent_write_ms.max(1));
    let mut expired = 0;
    let mut counted = bed.pvx.request_count();
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(write).await;
        bed.ct.bump_version_before_next_update(1);
        let requests = bed.pvx.request_count();
        if requests >= counted + every {
            bed.pvx.expire_sessions();
            expired += 1;
            counted = requests;
        }
    }
    expired
}

/// Switches every fault off.
pub fn switch_off(bed: &Testbed) {
    bed.ct.faults().clear();
    bed.pvx.faults().clear();
    bed.pvx.callback_faults().clear();
    bed.ct.bump_version_before_next_update(0);
}
