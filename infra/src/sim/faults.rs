//! Switchable faults shared by both simulators: errors, hangs and latency, set at run time.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// What a simulator should do with the request in hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Serve it normally.
    Serve,
    /// Answer with a server error (503 for commercetools, 500 for Peoplevox).
    ServerError,
    /// Hang for this long before answering, so that the client times out.
    Hang(Duration),
}

/// Fault switches; every setter takes effect on the next request.
#[derive(Debug)]
pub struct Faults {
    error_permille: AtomicU32,
    hang_permille: AtomicU32,
    fail_next: AtomicU32,
    latency_us: AtomicU64,
    hang_ms: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_permille: AtomicU32::new(0),
            hang_permille: AtomicU32::new(0),
            fail_next: AtomicU32::new(0),
            latency_us: AtomicU64::new(0),
            hang_ms: AtomicU64::new(30_000),
        }
    }
}

fn permille(rate: f64) -> u32 {
    (rate.clamp(0.0, 1.0) * 1000.0).round() as u32
}

impl Faults {
    /// Share of requests (0.0–1.0) answered with a server error.
    pub fn set_error_rate(&self, rate: f64) {
        self.error_permille.store(permille(rate), Ordering::Relaxed);
    }
    /// Share of requests (0.0–1.0) that hang (see [`Faults::set_hang`]).
    pub fn set_timeout_rate(&self, rate: f64) {
        self.hang_permille.store(permille(rate), Ordering::Relaxed);
    }
    /// How long a hanging request hangs (default 30 s).
    pub fn set_hang(&self, hang: Duration) {
        self.hang_ms
            .store(hang.as_millis() as u64, Ordering::Relaxed);
    }
    /// Latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_us
            .store(latency.as_micros() as u64, Ordering::Relaxed);
    }
    /// The next `n` requests fail with a server error, whatever the rates.
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::Relaxed);
    }
    /// Clears every fault.
    pub fn clear(&self) {
        self.set_error_rate(0.0);
        self.set_timeout_rate(0.0);
        self.set_latency(Duration::ZERO);
        self.fail_next(0);
    }

    /// Applies the latency, then decides the fate of one request.
    pub async fn before_request(&self) -> Injected {
        let latency = self.latency_us.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_micros(latency)).await;
        }
        let forced = self
            .fail_next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if forced {
            return Injected::ServerError;
        }
        let roll = fastrand::u32(0..1000);
        let errors = self.error_permille.load(Ordering::Relaxed);
        if roll < errors {
            return Injected::ServerError;
        }
        if roll < errors + self.hang_permille.load(Ordering::Relaxed) {
            return Injected::Hang(Duration::from_millis(self.hang_ms.load(Ordering::Relaxed)));
        }
        Injected::Serve
    }
}
