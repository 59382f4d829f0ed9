//! A door SaveData requests wait at while a test holds it closed: the moment between an export's
//! SaveData leaving and its answer, in which a cancellation can race the export.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// Open unless a test closed it.
#[derive(Debug)]
pub(crate) struct SaveGate {
    open: watch::Sender<bool>,
    waiting: AtomicU64,
}

impl Default for SaveGate {
    fn default() -> Self {
        Self {
            open: watch::Sender::new(true),
            waiting: AtomicU64::new(0),
        }
    }
}

impl SaveGate {
    /// Returns once the gate is open.
    pub(crate) async fn pass(&self) {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // The sender lives as long as the gate, so this ends when the gate opens.
        let _ = open.wait_for(|open| *open).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// Opens or closes the gate.
    pub(crate) fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Requests waiting at the gate now.
    pub(crate) fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::SeqCst)
    }
}
