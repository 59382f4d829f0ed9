//! Delivery faults of event callbacks, switchable at run time. Peoplevox documents nothing
//! about retries, ordering or duplicates (UNCONFIRMED), so the connector must cope with
//! all of them; these switches let tests make the simulator misbehave that way.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Rates are kept in parts per million.
const PPM: u32 = 1_000_000;

fn ppm(rate: f64) -> u32 {
    (rate.clamp(0.0, 1.0) * f64::from(PPM)).round() as u32
}

/// Callback delivery switches; each takes effect for callbacks fired after it is set.
/// Defaults: nothing dropped or duplicated, deliveries in order.
#[derive(Debug)]
pub struct CallbackFaults {
    drop_ppm: AtomicU32,
    duplicate_ppm: AtomicU32,
    third_ppm: AtomicU32,
    reorder_window_us: AtomicU64,
    rng: Mutex<fastrand::Rng>,
}

impl Default for CallbackFaults {
    fn default() -> Self {
        Self {
            drop_ppm: AtomicU32::new(0),
            duplicate_ppm: AtomicU32::new(0),
            third_ppm: AtomicU32::new(0),
            reorder_window_us: AtomicU64::new(0),
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }
}

impl CallbackFaults {
    /// Share of callbacks (0.0–1.0) silently lost.
    pub fn set_drop_rate(&self, rate: f64) {
        self.drop_ppm.store(ppm(rate), Ordering::Relaxed);
    }

    /// Share of callbacks (0.0–1.0) delivered a second time, after the first delivery.
    pub fn set_duplicate_rate(&self, rate: f64) {
        self.duplicate_ppm.store(ppm(rate), Ordering::Relaxed);
    }

    /// Share (0.0–1.0) of the duplicated callbacks delivered a third time.
    pub fn set_third_delivery_rate(&self, rate: f64) {
        self.third_ppm.store(ppm(rate), Ordering::Relaxed);
    }

    /// Each delivery first waits a random `0..window`, so later callbacks (for the same
    /// item too) can overtake earlier ones; zero delivers one at a time, in order.
    pub fn set_reorder_window(&self, window: Duration) {
        self.reorder_window_us
            .store(window.as_micros() as u64, Ordering::Relaxed);
    }

    /// Makes the drop, duplicate and delay rolls repeatable.
    pub fn set_seed(&self, seed: u64) {
        *self.rng() = fastrand::Rng::with_seed(seed);
    }

    /// Back to the defaults (the seed is kept).
    pub fn clear(&self) {
        self.set_drop_rate(0.0);
        self.set_duplicate_rate(0.0);
        self.set_third_delivery_rate(0.0);
        self.set_reorder_window(Duration::ZERO);
    }

    /// Whether the next callback is lost.
    pub(crate) fn roll_drop(&self) -> bool {
        self.roll(&self.drop_ppm)
    }

    /// Whether the next callback is delivered twice.
    pub(crate) fn roll_duplicate(&self) -> bool {
        self.roll(&self.duplicate_ppm)
    }

    /// Deliveries after the first of the next callback: 0, 1 or 2.
    pub(crate) fn roll_extra_deliveries(&self) -> u8 {
        if !self.roll_duplicate() {
            return 0;
        }
        1 + u8::from(self.roll(&self.third_ppm))
    }

    /// The reorder window, zero when deliveries keep their order.
    pub(crate) fn reorder_window(&self) -> Duration {
        Duration::from_micros(self.reorder_window_us.load(Ordering::Relaxed))
    }

    /// A random wait in `0..window`.
    pub(crate) fn roll_delay(&self, window: Duration) -> Duration {
        let us = window.as_micros() as u64;
        if us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.rng().u64(0..us))
    }

    fn roll(&self, rate: &AtomicU32) -> bool {
        let rate = rate.load(Ordering::Relaxed);
        rate > 0 && self.rng().u32(0..PPM) < rate
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, fastrand::Rng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_of_one_and_zero_are_certain() {
        let faults = CallbackFaults::default();
        assert!(!(0..1000).any(|_| faults.roll_drop() || faults.roll_duplicate()));
        faults.set_drop_rate(1.0);
        faults.set_duplicate_rate(1.0);
        assert!((0..1000).all(|_| faults.roll_drop() && faults.roll_duplicate()));
        let window = Duration::from_millis(3);
        faults.set_reorder_window(window);
        assert_eq!(faults.reorder_window(), window);
        assert!((0..1000).all(|_| faults.roll_delay(window) < window));
        faults.clear();
        assert_eq!(faults.reorder_window(), Duration::ZERO);
    }
}
