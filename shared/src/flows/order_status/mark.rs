//! What the status flow remembers of an order in the state store, beside the order itself:
//!
//! - the newest hold flag applied and when Peoplevox set it. Callbacks overtake each other
//!   and a failed one is retried later on a standard queue, so a "held" can arrive after the
//!   "released" that followed it; without this the order would stay held for good;
//! - the last status applied, for an order whose custom Type (the merchant's own) cannot hold
//!   `pvxStatus`: without it, forward-only would have nothing to compare with.
//!
//! One item per order (`order-status`, order id), read for a batch in one `get_many`, written
//! only when it changes, with the item's version as the guard. It expires after
//! [`KEEP_DAYS`]: an order's warehouse life is over long before.

use serde::{Deserialize, Serialize};

use crate::store::{Condition, StateStore, StoreError, now_epoch_s};

const PK: &str = "order-status";

/// Days a mark is kept after its last write.
const KEEP_DAYS: i64 = 120;

/// Writes tried against concurrent writers before giving up.
const ATTEMPTS: u32 = 3;

/// When Peoplevox set a hold flag: its modified time when the event carried one that reads as
/// a time, and when it reached us (or, for a flag read from Peoplevox, when it was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldMark {
    /// Held (true) or released.
    pub on_hold: bool,
    /// Peoplevox's modified time, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ms: Option<i64>,
    /// When it reached us, epoch ms.
    pub received_ms: i64,
}

impl HoldMark {
    /// Whether this flag was set after `other`: by Peoplevox's modified time when both have
    /// one (arrival order is not the warehouse's), else by arrival. Modified times and arrival
    /// times are never compared with each other: a tenant's clock and zone are UNCONFIRMED.
    pub fn newer_than(&self, other: &HoldMark) -> bool {
        match (self.modified_ms, other.modified_ms) {
            (Some(a), Some(b)) if a != b => a > b,
            _ => self.received_ms >= other.received_ms,
        }
    }
}

/// What is remembered of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMark {
    /// The last Peoplevox status applied, kept only when the order could not show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The newest hold flag applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldMark>,
}

impl StatusMark {
    /// Takes in what an update applied; `false` when that changes nothing remembered.
    pub fn absorb(&mut self, status: Option<&str>, hold: Option<HoldMark>) -> bool {
        let mut changed = false;
        if let Some(status) = status
            && self.status.as_deref() != Some(status)
        {
            self.status = Some(status.to_string());
            changed = true;
        }
        if let Some(hold) = hold
            && self.hold.is_none_or(|h| h != hold && hold.newer_than(&h))
        {
            self.hold = Some(hold);
            changed = true;
        }
        changed
    }
}

/// The marks of these orders, in the order asked (`Default` where there is none). An item that
/// does not read as a mark counts as none: the mark is a guard, never a reason to stop.
pub async fn load_many(
    state: &dyn StateStore,
    order_ids: &[&str],
) -> Result<Vec<StatusMark>, StoreError> {
    let keys: Vec<(String, String)> = order_ids
        .iter()
        .map(|id| (PK.to_string(), (*id).to_string()))
        .collect();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        for item in state.get_many(chunk).await? {
            out.push(
                item.and_then(|i| serde_json::from_str(&i.data).ok())
                    .unwrap_or_default(),
            );
        }
    }
    Ok(out)
}

/// Records what an update applied to the order's mark (re-read and merged on a concurrent
/// write, so the newest hold wins whoever writes last).
pub async fn record(
    state: &dyn StateStore,
    order_id: &str,
    status: Option<&str>,
    hold: Option<HoldMark>,
) -> Result<(), StoreError> {
    let expires = Some(now_epoch_s() + KEEP_DAYS * 86_400);
    for _ in 0..ATTEMPTS {
        let item = state.get(PK, order_id).await?;
        let (mut mark, cond) = match &item {
            Some(i) => (
                serde_json::from_str::<StatusMark>(&i.data).unwrap_or_default(),
                Condition::Version(i.version),
            ),
            None => (StatusMark::default(), Condition::NotExists),
        };
        if !mark.absorb(status, hold) {
            return Ok(());
        }
        let data = serde_json::to_string(&mark)
            .map_err(|e| StoreError::Backend(format!("writing a status mark: {e}")))?;
        match state.put(PK, order_id, &data, cond, expires).await {
            Ok(_) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::ConditionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(on_hold: bool, modified_ms: Option<i64>, received_ms: i64) -> HoldMark {
        HoldMark {
            on_hold,
            modified_ms,
            received_ms,
        }
    }

    #[test]
    fn the_newest_hold_is_kept_by_modified_time_then_arrival() {
        let mut mark = StatusMark::default();
        assert!(mark.absorb(None, Some(hold(false, Some(10), 1))));
        // Modified earlier, arrived later: older.
        assert!(!mark.absorb(None, Some(hold(true, Some(5), 2))));
        assert!(!mark.hold.unwrap().on_hold);
        assert!(mark.absorb(None, Some(hold(true, Some(11), 3))));
        // Without modified times, arrival decides.
        let mut bare = StatusMark::default();
        assert!(bare.absorb(None, Some(hold(true, None, 5))));
        assert!(!bare.absorb(None, Some(hold(false, None, 4))));
        assert!(bare.absorb(Some("Packed"), None));
        assert!(!bare.absorb(Some("Packed"), Some(hold(true, None, 5))));
    }
}
