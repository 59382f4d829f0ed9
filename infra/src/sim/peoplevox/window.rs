//! The request budget Peoplevox is said to enforce (15 requests / 15 s per tenant), as a
//! sliding window over request arrivals.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Arrival times of the requests admitted within the last window.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    arrivals: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    /// At most `limit` requests in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            arrivals: Mutex::new(VecDeque::new()),
        }
    }

    /// Records an arrival now; `false` (and nothing recorded) when it would exceed the limit.
    pub fn admit(&self) -> bool {
        let now = Instant::now();
        let mut arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        while arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            arrivals.pop_front();
        }
        if arrivals.len() >= self.limit {
            return false;
        }
        arrivals.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_within_a_window() {
        let window = SlidingWindow::new(2, Duration::from_secs(60));
        assert!(window.admit());
        assert!(window.admit());
        assert!(!window.admit());
        let short = SlidingWindow::new(1, Duration::from_millis(1));
        assert!(short.admit());
        std::thread::sleep(Duration::from_millis(2));
        assert!(short.admit());
    }
}
