//! Read, decide, write with the version read; on a conflict read again and decide again.
//!
//! Retrying with the `currentVersion` of a 409 is only safe for actions that do not depend on the
//! previous state. Ours often do (`addDelivery`, `updateSyncInfo` append), so the decision is
//! always made again from the order as it is now: what another writer already did is not redone.

use super::actions::OrderUpdateAction;
use super::client::CtClient;
use super::error::CtError;
use super::types::Order;

/// What to do with the order as it is now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send these actions with the version just read (an empty list counts as [`Decision::Done`]).
    Update(Vec<OrderUpdateAction>),
    /// Nothing to send: the order already is as wanted, or must not be touched.
    Done,
}

/// The end of [`CtClient::update_order_with`].
#[derive(Debug, Clone)]
pub struct UpdateOutcome {
    /// The order after the update, or as last read when nothing was sent.
    pub order: Order,
    /// True when a write of this call was answered as applied.
    pub applied: bool,
    /// The actions of every write of this call that was answered (all parts of a long one),
    /// and of a write whose answer was lost when nothing was left to send after it.
    pub written: Vec<OrderUpdateAction>,
    /// How many times the order was read and decided on.
    pub attempts: u32,
    /// A write of this call failed without telling whether it landed (a 500, a timeout), and
    /// the next decision found nothing left to send: that write is what landed, and its
    /// actions are in `written`. The caller counts it as applied, naming the lost answer.
    pub answer_lost: bool,
}

impl CtClient {
    /// Reads the order, asks `decide` what to send, and sends it with the version read. On a
    /// conflict, or a write whose outcome is unknown (timeout, 500), reads again and asks again,
    /// at most `max_attempts` times in all (at least once).
    ///
    /// The version guards the unknown-outcome case: if the lost write did land, the next write
    /// with the old version gets a 409 and the next decision sees the change.
    pub async fn update_order_with<F>(
        &self,
        id: &str,
        max_attempts: u32,
        decide: F,
    ) -> Result<UpdateOutcome, CtError>
    where
        F: FnMut(&Order) -> Decision,
    {
        self.update_order_from(id, None, max_attempts, decide).await
    }

    /// Like [`CtClient::update_order_with`], but the first decision is made on `read`, an order
    /// the caller has just read (a batch query), which saves a read per order when nobody else
    /// wrote in between; a conflict reads again as usual.
    ///
    /// commercetools takes at most [`MAX_ACTIONS_PER_UPDATE`] actions a request (API facts,
    /// "Update actions per request: 500"). A longer decision is sent in parts: the first 500,
    /// then a new decision on the order the write returned, which plans only what is left, and
    /// so on, as long as each decision is shorter than the one before. A part that fails leaves the earlier ones applied;
    /// the next decision sees them.
    pub async fn update_order_from<F>(
        &self,
        id: &str,
        read: Option<Order>,
        max_attempts: u32,
        mut decide: F,
    ) -> Result<UpdateOutcome, CtError>
    where
        F: FnMut(&Order) -> Decision,
    {
        let max_attempts = max_attempts.max(1);
        let mut attempt = 0;
        // Within one attempt, the length of the decision whose first part was just sent: the
        // next decision must be shorter, or it does not converge.
        let mut continuing: Option<usize> = None;
        // The actions of the last write whose answer was lost.
        let mut unanswered: Vec<OrderUpdateAction> = Vec::new();
        let mut written = Vec::new();
        let mut read = read;
        loop {
            let order = match read.take() {
                Some(order) => order,
                None => self.get_order(id).await?,
            };
            if continuing.is_none() {
                attempt += 1;
            }
            let mut actions = match decide(&order) {
                Decision::Update(actions) if !actions.is_empty() => actions,
                Decision::Update(_) | Decision::Done => {
                    let applied = !written.is_empty();
                    let answer_lost = !unanswered.is_empty();
                    written.append(&mut unanswered);
                    return Ok(UpdateOutcome {
                        order,
                        applied,
                        written,
                        attempts: attempt,
                        answer_lost,
                    });
                }
            };
            if continuing.is_some_and(|before| actions.len() >= before) {
                tracing::warn!(
                    order_id = id,
                    actions = actions.len(),
                    "a long update does not shrink after its first part: the rest waits for the next event"
                );
                return Ok(UpdateOutcome {
                    order,
                    applied: true,
                    written,
                    attempts: attempt,
                    answer_lost: false,
                });
            }
            let total = actions.len();
            actions.truncate(MAX_ACTIONS_PER_UPDATE);
            match self.update_order(id, order.version, &actions).await {
                Ok(updated) => {
                    unanswered.clear();
                    written.extend(actions);
                    if total > MAX_ACTIONS_PER_UPDATE {
                        continuing = Some(total);
                        read = Some(updated);
                        continue;
                    }
                    return Ok(UpdateOutcome {
                        order: updated,
                        applied: true,
                        written,
                        attempts: attempt,
                        answer_lost: false,
                    });
                }
                Err(err)
                    if attempt < max_attempts
                        && (matches!(err, CtError::ConcurrentModification { .. })
                            || err.outcome_unknown()) =>
                {
                    if err.outcome_unknown() {
                        unanswered = actions;
                    }
                    continuing = None;
                    tracing::info!(
                        order_id = id,
                        attempt,
                        error = %err,
                        "commercetools order changed or write unconfirmed; reading it again"
                    );
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// commercetools' limit of update actions in one request.
pub const MAX_ACTIONS_PER_UPDATE: usize = 500;
