//! Orders placed at a chosen moment of a client's requests, as a storefront checkout would
//! place them ([`placement`]): the deterministic way for a test to put an order between two
//! reads of a flow, or between its read and its write, which timing alone hits only by luck.

use std::sync::Mutex;

use ctpvx_shared::commercetools::types::Order;
use serde_json::Value;

use super::new_order::NewOrder;
use super::placement::{self, OutOfStock};
use super::state::{SimState, Store};

/// When a staged order is placed, relative to the request that sets it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Before the request is handled: its answer already shows the order's effects.
    BeforeHandling,
    /// After the request was handled, before its answer leaves: the answer does not show the
    /// order, and the client's next request is the first to see it.
    BeforeAnswer,
}

struct Staged {
    routes: Vec<String>,
    moment: Moment,
    order: Value,
}

/// Staged orders waiting for their request, and what became of those placed.
#[derive(Default)]
pub(crate) struct StagedOrders {
    waiting: Mutex<Vec<Staged>>,
    outcomes: Mutex<Vec<Result<String, String>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StagedOrders {
    pub(crate) fn stage(&self, routes: &[&str], moment: Moment, order: Value) {
        lock(&self.waiting).push(Staged {
            routes: routes.iter().map(|r| (*r).to_string()).collect(),
            moment,
            order,
        });
    }

    /// Every placement so far: the order's id, or why it was not placed.
    pub(crate) fn outcomes(&self) -> Vec<Result<String, String>> {
        lock(&self.outcomes).clone()
    }

    /// Places the orders staged for this moment of a request on `route`, each once.
    pub(crate) fn fire(&self, state: &SimState, route: &str, moment: Moment) {
        let due: Vec<Staged> = {
            let mut waiting = lock(&self.waiting);
            let (due, rest) = std::mem::take(&mut *waiting)
                .into_iter()
                .partition(|s| s.moment == moment && s.routes.iter().any(|r| r == route));
            *waiting = rest;
            due
        };
        for staged in due {
            let outcome = match place(&mut state.store(), staged.order) {
                Ok(Ok(order)) => Ok(order.id),
                Ok(Err(out_of_stock)) => Err(out_of_stock.to_string()),
                Err(e) => Err(format!("{e:#}")),
            };
            lock(&self.outcomes).push(outcome);
        }
    }
}

/// Creates an order as a checkout does: its `inventoryMode` applied to stock, then stored; all
/// or nothing under the one lock held.
pub(crate) fn place(store: &mut Store, order: Value) -> anyhow::Result<Result<Order, OutOfStock>> {
    let new = NewOrder::prepare(order)?;
    new.check(store)?;
    let deductions = match placement::plan(store, new.json())? {
        Ok(deductions) => deductions,
        Err(out_of_stock) => return Ok(Err(out_of_stock)),
    };
    placement::apply(store, &deductions);
    new.insert(store).map(Ok)
}
