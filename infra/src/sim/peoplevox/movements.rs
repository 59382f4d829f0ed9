//! The test handle's side of stock and callbacks: warehouse movements (each fires the
//! callbacks Peoplevox would), the oversell measure, and the callback counters and log.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::PvxSim;
use super::callback_faults::CallbackFaults;
use super::delivery::SimCallback;
use super::state::{Data, SimStock};

impl PvxSim {
    /// Goods received at a site: `on_hand += qty` (a non-positive quantity does nothing).
    pub fn goods_in(&self, site: &str, item: &str, qty: i64) {
        self.moving(|d| d.goods_in(site, item, qty));
    }

    /// A stock adjustment (`on_hand += delta`), reduced so that `available` never goes below
    /// 0. Returns the delta applied.
    pub fn adjust(&self, site: &str, item: &str, delta: i64, reason: &str) -> i64 {
        self.moving(|d| d.adjust(site, item, delta, reason))
    }

    /// Picks every allocated line of a sales order: `on_hand` and `allocated` drop by what
    /// each line holds, `available` does not move. Returns the units picked.
    pub fn pick_order(&self, number: &str) -> i64 {
        self.moving(|d| d.pick_order(number))
    }

    /// Units the order's lines hold allocated right now.
    pub fn allocated_for(&self, number: &str) -> i64 {
        self.data().allocated_for(number)
    }

    /// Units ordered that the warehouse could not allocate, by (site, item): the oversells.
    pub fn shortfalls(&self) -> BTreeMap<(String, String), i64> {
        self.data().shortfalls.clone()
    }

    /// Sum of [`PvxSim::shortfalls`].
    pub fn shortfall_total(&self) -> i64 {
        self.data().shortfalls.values().sum()
    }

    /// Every stock position as (site, item, stock), by site then item.
    pub fn stock_positions(&self) -> Vec<(String, String, SimStock)> {
        self.data()
            .stock
            .iter()
            .map(|((site, item), stock)| (site.clone(), item.clone(), *stock))
            .collect()
    }

    /// Callback delivery faults (drops, duplicates, reordering).
    pub fn callback_faults(&self) -> &CallbackFaults {
        &self.shared.callbacks.faults
    }

    /// Callbacks the receiver answered with 2xx.
    pub fn callbacks_sent(&self) -> u64 {
        self.shared.callbacks.sent.load(Ordering::SeqCst)
    }

    /// Callbacks that got a non-2xx answer or a transport error (never retried).
    pub fn callbacks_failed(&self) -> u64 {
        self.shared.callbacks.failed.load(Ordering::SeqCst)
    }

    /// Callbacks lost on purpose.
    pub fn callbacks_dropped(&self) -> u64 {
        self.shared.callbacks.dropped.load(Ordering::SeqCst)
    }

    /// Extra deliveries scheduled as duplicates.
    pub fn callbacks_duplicated(&self) -> u64 {
        self.shared.callbacks.duplicated.load(Ordering::SeqCst)
    }

    /// Deliveries scheduled and not finished yet.
    pub fn pending_callbacks(&self) -> u64 {
        self.shared.callbacks.pending.load(Ordering::SeqCst)
    }

    /// Callbacks skipped because their subscription's filter is not one the simulator
    /// understands (counted per skipped callback, so a test notices a filter it ignored).
    pub fn unparsed_filters(&self) -> u64 {
        self.shared
            .callbacks
            .unparsed_filters
            .load(Ordering::SeqCst)
    }

    /// Waits until every scheduled callback has been delivered (or failed); `false` when
    /// `timeout` passed first.
    pub async fn wait_callbacks_idle(&self, timeout: Duration) -> bool {
        self.shared.callbacks.wait_idle(timeout).await
    }

    /// The last 100 000 callbacks, in the order their fate became known.
    pub fn callback_log(&self) -> Vec<SimCallback> {
        self.shared.callbacks.log()
    }

    /// Runs a movement and queues its callbacks before the data mutex is released.
    pub(super) fn moving<T>(&self, movement: impl FnOnce(&mut Data) -> T) -> T {
        let mut data = self.data();
        let result = movement(&mut data);
        self.shared.fire_events(&mut data);
        result
    }
}
