//! The subscriptions a configuration asks for, derived without I/O: one AvailabilityChanges
//! per `[stock.sites]` site, IncrementalChanges at `subscriptions.incremental_sites`, the three
//! despatch events, SalesOrderStatusChanges and Returns, as switched on in `[subscriptions]`.
//! Each has a stable name (the key of its record) and a callback URL the webhook accepts.

use crate::config::{Config, SubscriptionRules, check_public_url};
use crate::peoplevox::search::quote;

use super::callback::Callback;

/// Peoplevox event types (the `SubscriptionEventTypes` enumeration of the WSDL).
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

/// One kind of callback: the event type, the event segment of the callback path (what
/// `webhook::peoplevox` routes on) and the placeholder parameters Peoplevox fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    /// Peoplevox event type.
    pub event_type: &'static str,
    /// Callback path segment, e.g. `availability`.
    pub event: &'static str,
    /// `name={Placeholder}` pairs, `&`-joined. The names are the ones the webhook reads
    /// (`shared/src/webhook/peoplevox.rs`); the placeholders are README's ("Configure").
    pub placeholders: &'static str,
}

/// AvailabilityChanges: the absolute available figure of an item at the site.
pub const AVAILABILITY: EventKind = EventKind {
    event_type: AVAILABILITY_CHANGES,
    event: "availability",
    placeholders: "item={ItemCode}&available={Available}",
};
/// IncrementalChanges: a movement, a hint re-read from the inventory report.
pub const INCREMENTAL: EventKind = EventKind {
    event_type: INCREMENTAL_CHANGES,
    event: "incremental",
    placeholders: "item={ItemType.ItemCode}&changed={QuantityChanged}&ts={UpdateTimestamp}&reason={Reason}",
};
/// TrackingNumberReceived (per despatch).
pub const TRACKING: EventKind = EventKind {
    event_type: TRACKING_NUMBER_RECEIVED,
    event: "tracking",
    placeholders: "despatch={DespatchNumber}&order={Picks.SalesOrder.SalesOrderNumber}&tracking={TrackingNumber}",
};
/// DespatchPackageTrackingNumberReceived (placeholders UNCONFIRMED).
pub const PACKAGE_TRACKING: EventKind = EventKind {
    event_type: DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED,
    event: "package-tracking",
    placeholders: "despatch={DespatchNumber}&package={PackageNumber}&tracking={TrackingNumber}",
};
/// DespatchPackageDespatched (placeholders UNCONFIRMED).
pub const PACKAGE_DESPATCHED: EventKind = EventKind {
    event_type: DESPATCH_PACKAGE_DESPATCHED,
    event: "package-despatched",
    placeholders: "despatch={DespatchNumber}&package={PackageNumber}",
};
/// SalesOrderStatusChanges (`{OnHold}` UNCONFIRMED; the status name is read under either
/// spelling of the entity).
pub const STATUS: EventKind = EventKind {
    event_type: SALES_ORDER_STATUS_CHANGES,
    event: "status",
    placeholders: "order={SalesOrderNumber}&status={SalesOrderStatus.Name}&modified={LastModificationTime}&onhold={OnHold}",
};
/// Returns (`{ReturnCode}` UNCONFIRMED: the flow reads the return report either way).
pub const RETURN: EventKind = EventKind {
    event_type: RETURNS,
    event: "returns",
    placeholders: "order={SalesOrderNumber}&return={ReturnCode}",
};

/// One subscription ctpvx wants Peoplevox to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSubscription {
    /// Stable name, the key of its record: `availability#UK-DC`, `tracking`, `status`.
    pub name: String,
    /// What it is.
    pub kind: EventKind,
    /// The site a stock subscription is filtered to.
    pub site: Option<String>,
    /// The filter clause (`site == "UK-DC"`; empty: every site).
    pub filter: String,
    /// Where Peoplevox calls back (the token is added when subscribing).
    pub callback: Callback,
}

/// The subscriptions of this configuration, calling back to `public_url` (the command line's,
/// else `subscriptions.public_url`). `Err` names what is missing or wrong.
pub fn desired(
    config: &Config,
    public_url: Option<&str>,
) -> Result<Vec<DesiredSubscription>, String> {
    let base = public_url
        .or(config.subscriptions.public_url.as_deref())
        .ok_or("no public URL: set subscriptions.public_url or pass --public-url")?;
    check_public_url(base).map_err(|problem| format!("public URL `{base}` {problem}"))?;
    let sites: Vec<String> = config.stock.sites.keys().cloned().collect();
    Ok(desired_from(&config.subscriptions, &sites, base))
}

/// The subscriptions for these rules and stock sites, calling back to `base` (already checked
/// with [`check_public_url`]). Order: availability per site, incremental per site, despatch
/// events, status, returns.
pub fn desired_from(
    rules: &SubscriptionRules,
    sites: &[String],
    base: &str,
) -> Vec<DesiredSubscription> {
    let site_bound = |kind: EventKind, site: &String| DesiredSubscription {
        name: format!("{}#{site}", kind.event),
        kind,
        site: Some(site.clone()),
        filter: format!("site == {}", quote(site)),
        callback: Callback::new(base, kind, Some(site), rules.post),
    };
    let everywhere = |kind: EventKind| DesiredSubscription {
        name: kind.event.to_string(),
        kind,
        site: None,
        filter: String::new(),
        callback: Callback::new(base, kind, None, rules.post),
    };
    let mut all: Vec<DesiredSubscription> =
        sites.iter().map(|s| site_bound(AVAILABILITY, s)).collect();
    all.extend(
        sites
            .iter()
            .filter(|s| rules.incremental_sites.contains(s))
            .map(|s| site_bound(INCREMENTAL, s)),
    );
    if rules.shipments {
        all.extend([TRACKING, PACKAGE_TRACKING, PACKAGE_DESPATCHED].map(everywhere));
    }
    if rules.status {
        all.push(everywhere(STATUS));
    }
    if rules.returns {
        all.push(everywhere(RETURN));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SHIPMENT_EVENTS, STATUS_EVENTS};
    use crate::webhook::peoplevox::STOCK_EVENTS;

    const BASE: &str = "https://hooks.example.com/prod";

    fn sites() -> Vec<String> {
        vec!["EU-DC".into(), "UK DC".into()]
    }

    #[test]
    fn every_switch_on_gives_the_full_set_in_order() {
        let rules = SubscriptionRules {
            incremental_sites: vec!["UK DC".into()],
            ..SubscriptionRules::default()
        };
        let all = desired_from(&rules, &sites(), BASE);
        let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "availability#EU-DC",
                "availability#UK DC",
                "incremental#UK DC",
                "tracking",
                "package-tracking",
                "package-despatched",
                "status",
                "returns",
            ]
        );
        assert_eq!(all[1].filter, r#"site == "UK DC""#);
        assert_eq!(all[1].site.as_deref(), Some("UK DC"));
        assert_eq!(all[3].filter, "");
        assert_eq!(
            all[1].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/availability?site=UK+DC&item={ItemCode}&available={Available}"
        );
        assert_eq!(
            all[2].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/incremental?site=UK+DC&item={ItemType.ItemCode}&changed={QuantityChanged}&ts={UpdateTimestamp}&reason={Reason}"
        );
        assert_eq!(
            all[6].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/status?order={SalesOrderNumber}&status={SalesOrderStatus.Name}&modified={LastModificationTime}&onhold={OnHold}"
        );
    }

    #[test]
    fn switches_leave_out_their_events() {
        let rules = SubscriptionRules {
            shipments: false,
            status: false,
            returns: false,
            ..SubscriptionRules::default()
        };
        let names: Vec<String> = desired_from(&rules, &sites(), BASE)
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["availability#EU-DC", "availability#UK DC"]);
        let none = desired_from(&rules, &[], BASE);
        assert!(none.is_empty());
    }

    #[test]
    fn a_quote_in_a_site_cannot_break_the_filter() {
        let all = desired_from(
            &SubscriptionRules::default(),
            &[r#"A" OR site == "B"#.to_string()],
            BASE,
        );
        assert_eq!(all[0].filter, r#"site == "A\" OR site == \"B""#);
    }

    #[test]
    fn the_public_url_comes_from_the_command_line_or_the_file() {
        let toml = |extra: &str| {
            format!(
                r#"{}
[stock.sites.A]
channel = "ch-a"
{extra}"#,
                crate::config::MINIMAL_TOML
            )
        };
        let config = Config::from_toml(&toml("")).unwrap();
        let e = desired(&config, None).unwrap_err();
        assert!(e.contains("subscriptions.public_url"), "{e}");
        let e = desired(&config, Some("http://hooks.example.com")).unwrap_err();
        assert!(e.contains("https"), "{e}");
        let config = Config::from_toml(&toml(
            "[subscriptions]\npublic_url = \"https://file.example\"\n",
        ))
        .unwrap();
        let from_file = desired(&config, None).unwrap();
        assert!(
            from_file[0]
                .callback
                .redacted()
                .starts_with("https://file.example/")
        );
        let overridden = desired(&config, Some("https://cli.example/")).unwrap();
        assert!(
            overridden[0]
                .callback
                .redacted()
                .starts_with("https://cli.example/webhooks/")
        );
        let e =
            Config::from_toml(&toml("[subscriptions]\nincremental_sites = [\"B\"]\n")).unwrap_err();
        assert!(
            e.to_string().contains("subscriptions.incremental_sites[0]"),
            "{e}"
        );
        let e = Config::from_toml(&toml(
            "[subscriptions]\npublic_url = \"http://x.example\"\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("subscriptions.public_url"), "{e}");
        let e = Config::from_toml(&toml("[subscriptions]\nevents = []\n")).unwrap_err();
        assert!(e.to_string().contains("events"), "{e}");
    }

    #[test]
    fn kinds_match_the_routes_the_webhook_serves() {
        let kinds = [
            AVAILABILITY,
            INCREMENTAL,
            TRACKING,
            PACKAGE_TRACKING,
            PACKAGE_DESPATCHED,
            STATUS,
            RETURN,
        ];
        for (event, event_type) in SHIPMENT_EVENTS.iter().chain(&STATUS_EVENTS) {
            assert!(
                kinds
                    .iter()
                    .any(|k| k.event == *event && k.event_type == *event_type),
                "{event} {event_type}"
            );
        }
        for event in STOCK_EVENTS {
            assert!(kinds.iter().any(|k| k.event == event), "{event}");
        }
    }
}
