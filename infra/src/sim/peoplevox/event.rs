//! Events as Peoplevox announces them to subscribers: which event type they belong to,
//! which site they happened at, and the values their `{Placeholder}`s stand for. Stock
//! events live here; despatch, order-status and return events have their own modules and
//! join them in [`SimEvent`], so that every callback leaves in the order things happened.

use time::OffsetDateTime;
use time::macros::format_description;

use super::despatch_event::DespatchEvent;
use super::order_status::StatusEvent;
use super::return_event::ReturnEvent;

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
        /// When the movement happened (the sim's clock), see [`timestamp`].
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

/// Any event the simulator announces, in one queue so that the order survives routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimEvent {
    /// A stock movement.
    Stock(StockEvent),
    /// A despatch, a package, or a tracking number.
    Despatch(DespatchEvent),
    /// A sales order status change.
    Status(StatusEvent),
    /// A return booked in.
    Return(ReturnEvent),
}

impl SimEvent {
    /// The subscription event type this event is delivered to.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Stock(e) => e.event_type(),
            Self::Despatch(e) => e.event_type(),
            Self::Status(_) => super::order_status::SALES_ORDER_STATUS_CHANGES,
            Self::Return(_) => super::return_event::RETURNS,
        }
    }

    /// The site the event happened at (what subscription filters test).
    pub fn site(&self) -> &str {
        match self {
            Self::Stock(e) => e.site(),
            Self::Despatch(e) => e.site(),
            Self::Status(e) => &e.site,
            Self::Return(e) => &e.site,
        }
    }

    /// Placeholder names and their values.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Stock(e) => e.placeholders(),
            Self::Despatch(e) => e.placeholders(),
            Self::Status(e) => e.placeholders(),
            Self::Return(e) => e.placeholders(),
        }
    }
}

impl From<StockEvent> for SimEvent {
    fn from(e: StockEvent) -> Self {
        Self::Stock(e)
    }
}

impl From<DespatchEvent> for SimEvent {
    fn from(e: DespatchEvent) -> Self {
        Self::Despatch(e)
    }
}

impl From<StatusEvent> for SimEvent {
    fn from(e: StatusEvent) -> Self {
        Self::Status(e)
    }
}

impl From<ReturnEvent> for SimEvent {
    fn from(e: ReturnEvent) -> Self {
        Self::Return(e)
    }
}

/// A callback timestamp (`{UpdateTimestamp}`, `{LastModificationTime}`): UTC, ISO 8601 with
/// milliseconds and `Z`. The format real Peoplevox uses here is UNCONFIRMED (no public
/// source shows a value), so a consumer should parse it leniently.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
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
        let at = time::macros::datetime!(2026-11-26 10:52:21.5 +01:00);
        assert_eq!(timestamp(at), "2026-11-26T09:52:21.500Z");
        let ts = timestamp(OffsetDateTime::now_utc());
        assert_eq!(ts.len(), "2025-01-31T00:00:00.000Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
