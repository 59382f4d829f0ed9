//! The faults of the soak, switched on together while the live flows run: server errors and
//! timeouts from both APIs, Peoplevox sessions expiring under the clients, a concurrent
//! writer bumping commercetools versions (409s), callbacks lost, duplicated up to 3 times and
//! reordered, and workers killed after their side effects (see [`crate::local::worker`]).

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
    /// Peoplevox sessions expire this often.
    pub session_expiry_ms: u64,
    /// A concurrent writer bumps the version of the next commercetools update this often.
    pub concurrent_write_ms: u64,
    /// Share of worker batches killed after their side effects, before acknowledging.
    pub worker_kills: f64,
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
            session_expiry_ms: 1_000,
            concurrent_write_ms: 20,
            worker_kills: 0.05,
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
    let expiry = Duration::from_millis(rates.session_expiry_ms.max(1));
    let write = Duration::from_millis(rates.concurrent_write_ms.max(1));
    let mut expired = 0;
    let mut since_expiry = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(write).await;
        bed.ct.bump_version_before_next_update(1);
        since_expiry += write;
        if since_expiry >= expiry {
            bed.pvx.expire_sessions();
            expired += 1;
            since_expiry = Duration::ZERO;
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
