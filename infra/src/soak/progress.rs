//! A line on stderr every few seconds while the soak runs: which phase it is in, how far the
//! orders got and what is still queued. A default-size soak runs for many minutes; without this
//! an operator cannot tell a slow phase from a stuck one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::local::drain::Drains;
use crate::local::stack::{ORDERS_QUEUE, SHIPMENTS_QUEUE, STATUS_QUEUE, STOCK_QUEUE};
use crate::testbed::Testbed;

/// Where the soak is; shared between the run and the reporter.
pub struct Progress {
    phase: Mutex<&'static str>,
    done: AtomicBool,
    started: Instant,
    enabled: bool,
}

impl Progress {
    /// A reporter that prints only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            phase: Mutex::new("start"),
            done: AtomicBool::new(false),
            started: Instant::now(),
            enabled,
        }
    }

    /// The soak finished `phase`, which took `seconds`.
    pub fn passed(&self, phase: &'static str, seconds: f64) {
        if let Ok(mut current) = self.phase.lock() {
            *current = phase;
        }
        if self.enabled {
            eprintln!(
                "soak {:>7.1}s  finished {phase} in {seconds:.1}s",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// The soak has finished; the reporter returns.
    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// Prints a status line every `every` until [`Progress::finish`].
    pub async fn report(&self, bed: &Testbed, stack: &dyn Drains, every: Duration) {
        if !self.enabled {
            return;
        }
        let mut next = Instant::now() + every;
        while !self.done.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if Instant::now() < next {
                continue;
            }
            next = Instant::now() + every;
            let phase = self.phase.lock().map(|p| *p).unwrap_or("?");
            let mut queues = String::new();
            for (label, queue) in [
                ("orders", ORDERS_QUEUE),
                ("stock", STOCK_QUEUE),
                ("shipments", SHIPMENTS_QUEUE),
                ("status", STATUS_QUEUE),
            ] {
                let depth = stack.depth(queue).await;
                queues.push_str(&format!(" {label} {}/{}", depth.visible, depth.in_flight));
            }
            eprintln!(
                "soak {:>7.1}s  after {phase}: ct orders {}, pvx orders {}, callbacks pending {}, requests ct {} pvx {}; queued (visible/in flight){queues}",
                self.started.elapsed().as_secs_f64(),
                bed.ct.orders().len(),
                bed.pvx.sales_orders().len(),
                bed.pvx.pending_callbacks(),
                bed.ct.request_count(),
                bed.pvx.request_count(),
            );
        }
    }
}
