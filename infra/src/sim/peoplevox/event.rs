//! Stock events as Peoplevox announces them to subscribers: which event type they belong to,
//! which site they happened at, and the values their `{Placeholder}`s stand for.

use time::OffsetDateTime;
use time::macros::format_description;

/// `AvailabilityChanges`.
pub const AVAILABILITY_CHANGES: &str = "AvailabilityChanges";
/// `IncrementalChanges`.
pub const INCREMENTAL_CHANGES: &str = "IncrementalChanges";

/// One change of a stock position, recorded under the data mutex in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockEvent {
    /// `available` changed; carries the new absolute value (peep_conn reads it as such).
    Availability {
        /// Site reference.
        site: String,
        /// Item code.
        item: String,
        /// The new available quantity at that site.
        available: i64,
    },
    /// `on_hand` changed; carries the signed delta.
    Incremental {
        /// Site reference.
        site: String,
        /// Item code.
        item: String,
        /// The item type's name (its code when it has none).
        name: String,
        /// Signed change of `on_hand`.
        quantity_changed: i64,
        /// e.g. `Goods in`, `Pick`, or an adjustment's reason.
        reason: String,
        /// When the movement happened, see [`timestamp_now`].
        timestamp: String,
    },
}

impl StockEvent {
    /// The subscription event type this event is delivered to.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Availability { .. } => AVAILABILITY_CHANGES,
            Self::Incremental { .. } => INCREMENTAL_CHANGES,
        }
    }

    /// The site the movement happened at (what subscription filters test).
    pub fn site(&self) -> &str {
        match self {
            Self::Availability { site, .. } | Self::Incremental { site, .. } => site,
        }
    }

    /// Placeholder names (as peep_conn uses them) and their values.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Availability {
                item, available, ..
            } => vec![
                ("ItemCode", item.clone()),
                ("Available", available.to_string()),
            ],
            Self::Incremental {
                item,
                name,
                quantity_changed,
                reason,
                timestamp,
                ..
            } => vec![
                ("ItemType.ItemCode", item.clone()),
                ("ItemType.Name", name.clone()),
                ("QuantityChanged", quantity_changed.to_string()),
                ("UpdateTimestamp", timestamp.clone()),
                ("Reason", reason.clone()),
                ("UpdatedBy", "sim".to_string()),
            ],
        }
    }
}

/// The current time for `{UpdateTimestamp}`: UTC, ISO 8601 with milliseconds and `Z`.
/// The format real Peoplevox uses here is UNCONFIRMED (no public source shows a value), so a
/// consumer should parse it leniently.
pub fn timestamp_now() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_milliseconds_and_z() {
        let ts = timestamp_now();
        assert_eq!(ts.len(), "2025-01-31T00:00:00.000Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
