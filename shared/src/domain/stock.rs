//! Stock: the messages on the stock queue and the sellable-quantity rule. Pure, no I/O.

use serde::{Deserialize, Serialize};

/// One message on the stock queue. Every variant but [`StockMessage::Changed`] names one
/// Peoplevox site; times are epoch milliseconds on the receiver's clock (Peoplevox's
/// AvailabilityChanges carry no time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum StockMessage {
    /// AvailabilityChanges: Peoplevox's absolute available quantity of an item at a site.
    #[serde(rename_all = "camelCase")]
    Available {
        /// Event id given at receipt (for the audit trail).
        id: String,
        /// Peoplevox site reference.
        site: String,
        /// Peoplevox item code.
        item: String,
        /// `{Available}`.
        available: i64,
        /// When the webhook received it.
        received_at_ms: i64,
    },
    /// IncrementalChanges: a movement. Only a hint: the flow re-reads availability.
    #[serde(rename_all = "camelCase")]
    Moved {
        /// Event id given at receipt.
        id: String,
        /// Peoplevox site reference.
        site: String,
        /// `{ItemType.ItemCode}`.
        item: String,
        /// `{QuantityChanged}` (signed).
        quantity_changed: i64,
        /// `{UpdateTimestamp}` as sent (format UNCONFIRMED, kept for the audit trail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update_timestamp: Option<String>,
        /// `{Reason}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// When the webhook received it.
        received_at_ms: i64,
    },
    /// A callback that names an item but gives no figure to trust: no site (a subscription
    /// without a sites filter, whose callbacks may come from any site), no figure (left
    /// unfilled), or an item code that could not be read unambiguously. Only a hint: the flow
    /// re-reads the item at `site`, or at every configured site; where Peoplevox reports no
    /// such item, nothing changes.
    #[serde(rename_all = "camelCase")]
    Changed {
        /// Event id given at receipt.
        id: String,
        /// Peoplevox site reference, when the subscription was bound to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site: Option<String>,
        /// The item code as read.
        item: String,
        /// The callback event (`availability`, `incremental`).
        event: String,
        /// Why it is only a hint (for the audit trail).
        why: String,
        /// When the webhook received it.
        received_at_ms: i64,
    },
    /// Recompute these items at a site: the set of unallocated orders changed (after an
    /// export), or a confirming re-read is due.
    #[serde(rename_all = "camelCase")]
    Recheck {
        /// Message id given at creation.
        id: String,
        /// Peoplevox site reference.
        site: String,
        /// Peoplevox item codes.
        items: Vec<String>,
        /// Re-read availability from Peoplevox (otherwise the ledger's last figure is used).
        reread: bool,
        /// Who asked: `order-export`, `confirm`, `operator`.
        source: String,
        /// A figure obtained at or after this time satisfies the request.
        not_before_ms: i64,
    },
}

impl StockMessage {
    /// The site the message is about; `None` for a site-less hint (every site).
    pub fn site(&self) -> Option<&str> {
        match self {
            Self::Available { site, .. }
            | Self::Moved { site, .. }
            | Self::Recheck { site, .. } => Some(site),
            Self::Changed { site, .. } => site.as_deref(),
        }
    }

    /// The items the message is about.
    pub fn items(&self) -> Vec<&str> {
        match self {
            Self::Available { item, .. }
            | Self::Moved { item, .. }
            | Self::Changed { item, .. } => {
                vec![item]
            }
            Self::Recheck { items, .. } => items.iter().map(String::as_str).collect(),
        }
    }

    /// The message as JSON (serialising these types cannot fail).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What commercetools may sell: Peoplevox's available units, less the units of orders that
/// Peoplevox has not allocated yet and the safety buffer, in commercetools units (`factor`
/// Peoplevox units each, rounded down), never below 0.
pub fn sellable(available: i64, pending_units: i64, buffer: i64, factor: u32) -> i64 {
    let free = available
        .saturating_sub(pending_units)
        .saturating_sub(buffer);
    if free <= 0 {
        return 0;
    }
    free / i64::from(factor.max(1))
}

/// The write that takes commercetools from `current` to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockWrite {
    /// Already right: write nothing.
    Unchanged,
    /// `addQuantity`.
    Add(i64),
    /// `removeQuantity`.
    Remove(i64),
    /// No entry yet: create it with this quantity.
    Create(i64),
}

/// Plans the delta write; `current` is the entry's `quantityOnStock`, `None` when missing.
pub fn plan_write(current: Option<i64>, target: i64) -> StockWrite {
    match current {
        None => StockWrite::Create(target),
        Some(now) if now == target => StockWrite::Unchanged,
        Some(now) if now < target => StockWrite::Add(target - now),
        Some(now) => StockWrite::Remove(now - target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sellable_subtracts_pending_and_buffer_and_floors() {
        assert_eq!(sellable(10, 3, 2, 1), 5);
        assert_eq!(sellable(10, 9, 2, 1), 0);
        assert_eq!(sellable(-4, 0, 0, 1), 0);
        // Packs of 3: 8 free units make 2 packs.
        assert_eq!(sellable(10, 0, 2, 3), 2);
        assert_eq!(sellable(i64::MAX, i64::MIN, 0, 1), i64::MAX);
    }

    #[test]
    fn writes_are_deltas_from_what_is_there() {
        assert_eq!(plan_write(Some(5), 5), StockWrite::Unchanged);
        assert_eq!(plan_write(Some(5), 8), StockWrite::Add(3));
        assert_eq!(plan_write(Some(5), 1), StockWrite::Remove(4));
        assert_eq!(plan_write(Some(-2), 0), StockWrite::Add(2));
        assert_eq!(plan_write(None, 7), StockWrite::Create(7));
    }

    #[test]
    fn messages_round_trip_and_refuse_unknown_fields() {
        let m = StockMessage::Available {
            id: "e1".into(),
            site: "S".into(),
            item: "A".into(),
            available: 4,
            received_at_ms: 1,
        };
        let json = m.to_json();
        assert!(json.contains(r#""kind":"available""#), "{json}");
        assert_eq!(serde_json::from_str::<StockMessage>(&json).unwrap(), m);
        let bad = r#"{"kind":"available","id":"e","site":"S","item":"A","available":1,"receivedAtMs":1,"extra":1}"#;
        assert!(serde_json::from_str::<StockMessage>(bad).is_err());
    }
}
