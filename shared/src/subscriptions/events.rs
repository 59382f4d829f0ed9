//! The callback events ctpvx subscribes to and the parameters of their callback URLs: each
//! parameter's name (what the webhook reads), whether the flow needs it (the event's key) or
//! can live without it, and the `{Placeholder}` Peoplevox fills it from by default.
//!
//! Only placeholders a public client registers are defaults (finerylondon/peep_conn
//! `lib/peep_conn/subscription.rb`, every version; IncrementalChanges in its first commit
//! 40dacc2). A tenant whose names differ (`{SalesOrderStatus.Name}`, an `{OnHold}`) sets them
//! under `[subscriptions.parameters.<event>]`. The events whose placeholders no public source
//! shows (Returns, DespatchPackage*) carry guesses, marked UNCONFIRMED, and are not subscribed
//! unless switched on (see `crate::config::SubscriptionRules`).

/// Peoplevox event types (the `SubscriptionEventTypes` enumeration of the WSDL; the
/// DespatchPackage* ones from melvin-hamilton-digital `Client.php`).
pub const AVAILABILITY_CHANGES: &str = "AvailabilityChanges";
/// See [`AVAILABILITY_CHANGES`].
pub const INCREMENTAL_CHANGES: &str = "IncrementalChanges";
/// See [`AVAILABILITY_CHANGES`].
pub const TRACKING_NUMBER_RECEIVED: &str = "TrackingNumberReceived";
/// See [`AVAILABILITY_CHANGES`].
pub const DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED: &str = "DespatchPackageTrackingNumberReceived";
/// See [`AVAILABILITY_CHANGES`].
pub const DESPATCH_PACKAGE_DESPATCHED: &str = "DespatchPackageDespatched";
/// See [`AVAILABILITY_CHANGES`].
pub const SALES_ORDER_STATUS_CHANGES: &str = "SalesOrderStatusChanges";
/// See [`AVAILABILITY_CHANGES`].
pub const RETURNS: &str = "Returns";

/// Which queue an event's callbacks feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The stock queue.
    Stock,
    /// The shipments queue.
    Shipment,
    /// The status queue.
    Status,
}

/// One parameter of a callback URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// The query (or body) name, as the webhook reads it.
    pub name: &'static str,
    /// The event's key: a callback without it (or, for events with several, without any of
    /// them) is refused. Every other parameter may be missing or left unfilled.
    pub key: bool,
    /// The placeholder registered by default; `None`: not registered unless configured.
    pub default: Option<&'static str>,
}

/// One event ctpvx can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// Callback path segment, e.g. `availability`.
    pub event: &'static str,
    /// Peoplevox event type.
    pub event_type: &'static str,
    /// The queue its callbacks go to.
    pub family: Family,
    /// Its parameters, in the order of the callback URL.
    pub params: &'static [Param],
    /// No public source shows its placeholders: the defaults are guesses (UNCONFIRMED).
    pub guessed: bool,
}

const fn key(name: &'static str, placeholder: &'static str) -> Param {
    Param {
        name,
        key: true,
        default: Some(placeholder),
    }
}

const fn optional(name: &'static str, placeholder: Option<&'static str>) -> Param {
    Param {
        name,
        key: false,
        default: placeholder,
    }
}

/// AvailabilityChanges: the absolute available figure of an item (peep_conn: `{ItemCode}`,
/// `{Available}`).
pub const AVAILABILITY: EventSpec = EventSpec {
    event: "availability",
    event_type: AVAILABILITY_CHANGES,
    family: Family::Stock,
    params: &[
        key("item", "{ItemCode}"),
        optional("available", Some("{Available}")),
    ],
    guessed: false,
};

/// IncrementalChanges: a movement, a hint re-read from the inventory report (peep_conn
/// 40dacc2).
pub const INCREMENTAL: EventSpec = EventSpec {
    event: "incremental",
    event_type: INCREMENTAL_CHANGES,
    family: Family::Stock,
    params: &[
        key("item", "{ItemType.ItemCode}"),
        optional("changed", Some("{QuantityChanged}")),
        optional("ts", Some("{UpdateTimestamp}")),
        optional("reason", Some("{Reason}")),
    ],
    guessed: false,
};

/// TrackingNumberReceived, per despatch (peep_conn). `{Picks.SalesOrder.Email}` exists too
/// but is personal data and never registered.
pub const TRACKING: EventSpec = EventSpec {
    event: "tracking",
    event_type: TRACKING_NUMBER_RECEIVED,
    family: Family::Shipment,
    params: &[
        key("despatch", "{DespatchNumber}"),
        optional("order", Some("{Picks.SalesOrder.SalesOrderNumber}")),
        optional("tracking", Some("{TrackingNumber}")),
        optional("carrier", Some("{Carrier.Number}")),
        optional("service_code", Some("{ServiceType.Code}")),
        optional("service", Some("{ServiceType.Name}")),
    ],
    guessed: false,
};

/// DespatchPackageTrackingNumberReceived (event type: melvin-hamilton-digital `Client.php`;
/// placeholders UNCONFIRMED).
pub const PACKAGE_TRACKING: EventSpec = EventSpec {
    event: "package-tracking",
    event_type: DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED,
    family: Family::Shipment,
    params: &[
        key("despatch", "{DespatchNumber}"),
        optional("order", None),
        optional("package", Some("{PackageNumber}")),
        optional("tracking", Some("{TrackingNumber}")),
    ],
    guessed: true,
};

/// DespatchPackageDespatched (placeholders UNCONFIRMED).
pub const PACKAGE_DESPATCHED: EventSpec = EventSpec {
    event: "package-despatched",
    event_type: DESPATCH_PACKAGE_DESPATCHED,
    family: Family::Shipment,
    params: &[
        key("despatch", "{DespatchNumber}"),
        optional("order", None),
        optional("package", Some("{PackageNumber}")),
    ],
    guessed: true,
};

/// SalesOrderStatusChanges (peep_conn: `{SalesOrderNumber}`, `{LastModificationTime}`,
/// `{SalesOrderStatu.Name}`, spelled so in every version). No public source shows a hold
/// placeholder: `onhold` is read when a tenant configures one, else the flow reads the flag.
pub const STATUS: EventSpec = EventSpec {
    event: "status",
    event_type: SALES_ORDER_STATUS_CHANGES,
    family: Family::Status,
    params: &[
        key("order", "{SalesOrderNumber}"),
        optional("status", Some("{SalesOrderStatu.Name}")),
        optional("modified", Some("{LastModificationTime}")),
        optional("onhold", None),
    ],
    guessed: false,
};

/// Returns (event type: the 2017 WSDL's enumeration; placeholders UNCONFIRMED). Either
/// parameter keys it: the flow reads the return report by order or by return code.
pub const RETURN: EventSpec = EventSpec {
    event: "returns",
    event_type: RETURNS,
    family: Family::Status,
    params: &[
        key("order", "{SalesOrderNumber}"),
        key("return", "{ReturnCode}"),
    ],
    guessed: true,
};

/// Every event, in the order `ctpvx subscribe` lists them.
pub const EVENTS: [EventSpec; 7] = [
    AVAILABILITY,
    INCREMENTAL,
    TRACKING,
    PACKAGE_TRACKING,
    PACKAGE_DESPATCHED,
    STATUS,
    RETURN,
];

/// The static parameter naming the site of a site-bound subscription.
pub const SITE_PARAM: &str = "site";
/// The static parameter saying how Peoplevox encodes the values: `1` (encodeParameterData
/// true: percent-encoded) or `0` (raw). It is the last of a GET URL, so that a callback cut
/// short (a raw `#` in a value ends the URL) is seen to be.
pub const ENCODING_PARAM: &str = "enc";

/// The event of a callback path segment.
pub fn spec(event: &str) -> Option<&'static EventSpec> {
    EVENTS.iter().find(|s| s.event == event)
}

impl EventSpec {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every name a callback of this event may carry: its parameters and the static ones.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.params.iter().map(|p| p.name).collect();
        names.extend([SITE_PARAM, ENCODING_PARAM]);
        names
    }

    /// The key parameters (one, or for Returns either of two).
    pub fn keys(&self) -> Vec<&'static str> {
        self.params
            .iter()
            .filter(|p| p.key)
            .map(|p| p.name)
            .collect()
    }
}

/// Whether `text` is a placeholder as Peoplevox writes them: `{Name}` or `{Path.To.Name}`,
/// letters, digits, `_` and `.` only. A value that is still one was not filled in.
pub fn is_placeholder(text: &str) -> bool {
    text.strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .is_some_and(|inner| {
            inner
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_key_and_evidence_defaults() {
        for spec in EVENTS {
            assert!(!spec.keys().is_empty(), "{}", spec.event);
            for p in spec.params.iter().filter(|p| p.key) {
                assert!(p.default.is_some(), "{} {}", spec.event, p.name);
            }
            for p in spec.params {
                if let Some(d) = p.default {
                    assert!(is_placeholder(d), "{d}");
                }
            }
        }
        // Never the e-mail (personal data), never the guessed status spelling by default.
        let all: Vec<&str> = EVENTS
            .iter()
            .flat_map(|s| s.params.iter().filter_map(|p| p.default))
            .collect();
        assert!(!all.iter().any(|p| p.contains("Email")));
        assert!(all.contains(&"{SalesOrderStatu.Name}"));
        assert!(!all.contains(&"{SalesOrderStatus.Name}") && !all.contains(&"{OnHold}"));
    }

    #[test]
    fn placeholders_are_recognised() {
        assert!(is_placeholder("{SalesOrderStatu.Name}"));
        assert!(is_placeholder("{OnHold}"));
        for not in ["{}", "{ A}", "A{B}", "{1A}", "{A&B}", "{A}}", "OnHold"] {
            assert!(!is_placeholder(not), "{not}");
        }
    }
}
