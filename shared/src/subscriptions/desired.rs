//! The subscriptions a configuration asks for, derived without I/O from the configuration and
//! the tenant's service description ([`ServiceDescription`], its live WSDL):
//!
//! - AvailabilityChanges (and IncrementalChanges at `subscriptions.incremental_sites`): where
//!   the tenant has `SubscribeEventWithSitesFilters` (peep_conn 0b05be4), one per site with
//!   `sitesFilter` = `Site.Reference = "<site>"` and a static `site=` in the callback URL;
//!   where it has not, one without a site, whose callbacks the stock flow treats as site-less
//!   hints and re-reads at every configured site. The plain `filter` is never relied on:
//!   peep_conn abandoned `site == "X"` within the hour (1377f6f → 0b05be4).
//! - TrackingNumberReceived, SalesOrderStatusChanges; the guessed DespatchPackage* and Returns
//!   only when switched on.
//!
//! Each has a stable name (the key of its record) and a callback URL the webhook accepts.
//! `encodeParameterData` is sent where the WSDL declares it, and the callback URL says how
//! its values are encoded.

use crate::config::{Config, SubscriptionRules, check_public_url};
use crate::peoplevox::Operation;
use crate::peoplevox::search::quote;
use crate::peoplevox::wsdl::{ENCODE_PARAMETER_DATA, ServiceDescription};

use super::callback::Callback;
use super::events::{
    AVAILABILITY, EventSpec, INCREMENTAL, PACKAGE_DESPATCHED, PACKAGE_TRACKING, RETURN, STATUS,
    TRACKING,
};

/// One subscription ctpvx wants Peoplevox to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSubscription {
    /// Stable name, the key of its record: `availability#UK-DC`, `availability`, `status`.
    pub name: String,
    /// What it is.
    pub spec: &'static EventSpec,
    /// The site a site-bound subscription is for.
    pub site: Option<String>,
    /// How it is subscribed.
    pub operation: Operation,
    /// The `sitesFilter` of a site-bound subscription; empty otherwise (no `filter` is sent).
    pub filter: String,
    /// `encodeParameterData`, where the tenant's WSDL declares it on `operation`.
    pub encode_parameter_data: Option<bool>,
    /// Where Peoplevox calls back (the token is added when subscribing).
    pub callback: Callback,
}

/// The sites filter of one site (peep_conn: `Site.Reference = "PrimarySite"`), the value
/// quoted with `\` and `"` escaped so that a site reference cannot change the clause.
pub fn sites_filter(site: &str) -> String {
    format!("Site.Reference = {}", quote(site))
}

/// The subscriptions of this configuration on a tenant described by `wsdl`, calling back to
/// `public_url` (the command line's, else `subscriptions.public_url`). `Err` names what is
/// missing or wrong.
pub fn desired(
    config: &Config,
    public_url: Option<&str>,
    wsdl: &ServiceDescription,
) -> Result<Vec<DesiredSubscription>, String> {
    let base = public_url
        .or(config.subscriptions.public_url.as_deref())
        .ok_or("no public URL: set subscriptions.public_url or pass --public-url")?;
    check_public_url(base).map_err(|problem| format!("public URL `{base}` {problem}"))?;
    let sites: Vec<String> = config.stock.sites.keys().cloned().collect();
    Ok(desired_from(&config.subscriptions, &sites, base, wsdl))
}

/// The subscriptions for these rules and stock sites on a tenant described by `wsdl`, calling
/// back to `base` (already checked with [`check_public_url`]). Order: availability, incremental,
/// despatch events, status, returns.
pub fn desired_from(
    rules: &SubscriptionRules,
    sites: &[String],
    base: &str,
    wsdl: &ServiceDescription,
) -> Vec<DesiredSubscription> {
    let plain = if rules.post {
        Operation::SubscribePostEvent
    } else {
        Operation::SubscribeEvent
    };
    // A POST subscription has no sites-filter operation in any evidence: it goes site-less.
    let sites_op = (!rules.post && wsdl.sites_filter_operation().is_some())
        .then_some(Operation::SubscribeEventWithSitesFilters);
    let make = |spec: &'static EventSpec, site: Option<&String>, operation: Operation| {
        let encode = wsdl
            .declares(operation.name(), ENCODE_PARAMETER_DATA)
            .then_some(rules.encode_parameter_data);
        let template = rules.template(spec);
        DesiredSubscription {
            name: match site {
                Some(site) => format!("{}#{site}", spec.event),
                None => spec.event.to_string(),
            },
            spec,
            site: site.cloned(),
            operation,
            filter: site.map(|s| sites_filter(s)).unwrap_or_default(),
            encode_parameter_data: encode,
            callback: Callback::new(
                base,
                spec.event,
                site.map(String::as_str),
                &template,
                encode == Some(true),
                rules.post,
            ),
        }
    };
    let site_bound = |spec: &'static EventSpec, at: Vec<&String>| -> Vec<DesiredSubscription> {
        match sites_op {
            Some(op) => at.into_iter().map(|s| make(spec, Some(s), op)).collect(),
            None if at.is_empty() => Vec::new(),
            None => vec![make(spec, None, plain)],
        }
    };
    let mut all = site_bound(&AVAILABILITY, sites.iter().collect());
    all.extend(site_bound(
        &INCREMENTAL,
        sites
            .iter()
            .filter(|s| rules.incremental_sites.contains(s))
            .collect(),
    ));
    if rules.shipments {
        all.push(make(&TRACKING, None, plain));
    }
    if rules.package_events {
        all.push(make(&PACKAGE_TRACKING, None, plain));
        all.push(make(&PACKAGE_DESPATCHED, None, plain));
    }
    if rules.status {
        all.push(make(&STATUS, None, plain));
    }
    if rules.returns {
        all.push(make(&RETURN, None, plain));
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

    fn live() -> ServiceDescription {
        ServiceDescription::with_sites_filters()
    }

    fn old() -> ServiceDescription {
        ServiceDescription::assumed_2017("test")
    }

    fn everything() -> SubscriptionRules {
        SubscriptionRules {
            incremental_sites: vec!["UK DC".into()],
            package_events: true,
            returns: true,
            ..SubscriptionRules::default()
        }
    }

    #[test]
    fn every_switch_on_gives_the_full_set_in_order() {
        let all = desired_from(&everything(), &sites(), BASE, &live());
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
        assert_eq!(all[1].filter, r#"Site.Reference = "UK DC""#);
        assert_eq!(all[1].site.as_deref(), Some("UK DC"));
        assert_eq!(all[3].filter, "");
        assert_eq!(
            all[1].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/availability?site=UK%20DC&item={ItemCode}&available={Available}&enc=1"
        );
        assert_eq!(
            all[2].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/incremental?site=UK%20DC&item={ItemType.ItemCode}&changed={QuantityChanged}&ts={UpdateTimestamp}&reason={Reason}&enc=1"
        );
        assert_eq!(
            all[3].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/tracking?despatch={DespatchNumber}&order={Picks.SalesOrder.SalesOrderNumber}&tracking={TrackingNumber}&carrier={Carrier.Number}&service_code={ServiceType.Code}&service={ServiceType.Name}&enc=1"
        );
        assert_eq!(
            all[6].callback.redacted(),
            "https://hooks.example.com/prod/webhooks/peoplevox/<token>/status?order={SalesOrderNumber}&status={SalesOrderStatu.Name}&modified={LastModificationTime}&enc=1"
        );
        assert!(all.iter().all(|d| d.encode_parameter_data == Some(true)));
    }

    #[test]
    fn subscribe_uses_sites_filters_when_the_wsdl_has_it_and_not_otherwise() {
        let with = desired_from(&everything(), &sites(), BASE, &live());
        let ops: Vec<(&str, Operation)> = with
            .iter()
            .map(|d| (d.name.as_str(), d.operation))
            .collect();
        assert_eq!(
            ops[0],
            (
                "availability#EU-DC",
                Operation::SubscribeEventWithSitesFilters
            )
        );
        assert_eq!(
            ops[2],
            (
                "incremental#UK DC",
                Operation::SubscribeEventWithSitesFilters
            )
        );
        assert_eq!(ops[3], ("tracking", Operation::SubscribeEvent));

        // Without the operation: one site-less subscription per stock event, no filter relied
        // on, no encodeParameterData sent (the 2017 WSDL does not declare it), values raw.
        let without = desired_from(&everything(), &sites(), BASE, &old());
        let names: Vec<&str> = without.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "availability",
                "incremental",
                "tracking",
                "package-tracking",
                "package-despatched",
                "status",
                "returns"
            ]
        );
        for d in &without {
            assert_eq!(d.operation, Operation::SubscribeEvent, "{}", d.name);
            assert_eq!((d.filter.as_str(), d.site.as_deref()), ("", None));
            assert_eq!(d.encode_parameter_data, None);
            assert!(d.callback.redacted().ends_with("&enc=0"), "{}", d.name);
        }
        // No incremental site: no incremental subscription in either case.
        let rules = SubscriptionRules::default();
        for wsdl in [live(), old()] {
            let names: Vec<String> = desired_from(&rules, &sites(), BASE, &wsdl)
                .into_iter()
                .map(|d| d.name)
                .collect();
            assert!(
                !names.iter().any(|n| n.starts_with("incremental")),
                "{names:?}"
            );
        }
        // POST callbacks have no sites-filter operation: site-less.
        let post = SubscriptionRules {
            post: true,
            ..SubscriptionRules::default()
        };
        let all = desired_from(&post, &sites(), BASE, &live());
        assert_eq!(all[0].name, "availability");
        assert_eq!(all[0].operation, Operation::SubscribePostEvent);
    }

    #[test]
    fn encode_parameter_data_false_is_sent_and_recorded_as_raw() {
        let rules = SubscriptionRules {
            encode_parameter_data: false,
            ..SubscriptionRules::default()
        };
        let all = desired_from(&rules, &sites(), BASE, &live());
        assert!(all.iter().all(|d| d.encode_parameter_data == Some(false)));
        assert!(
            all.iter()
                .all(|d| d.callback.redacted().ends_with("&enc=0"))
        );
    }

    #[test]
    fn guessed_events_are_off_by_default() {
        let names: Vec<String> =
            desired_from(&SubscriptionRules::default(), &sites(), BASE, &live())
                .into_iter()
                .map(|d| d.name)
                .collect();
        assert_eq!(
            names,
            [
                "availability#EU-DC",
                "availability#UK DC",
                "tracking",
                "status"
            ]
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
        let names: Vec<String> = desired_from(&rules, &sites(), BASE, &live())
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["availability#EU-DC", "availability#UK DC"]);
        assert!(desired_from(&rules, &[], BASE, &live()).is_empty());
        assert!(desired_from(&rules, &[], BASE, &old()).is_empty());
    }

    #[test]
    fn a_quote_in_a_site_cannot_break_the_filter() {
        let all = desired_from(
            &SubscriptionRules::default(),
            &[r#"A" OR Site.Reference = "B\"#.to_string()],
            BASE,
            &live(),
        );
        assert_eq!(
            all[0].filter,
            r#"Site.Reference = "A\" OR Site.Reference = \"B\\""#
        );
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
        let e = desired(&config, None, &live()).unwrap_err();
        assert!(e.contains("subscriptions.public_url"), "{e}");
        let e = desired(&config, Some("http://hooks.example.com"), &live()).unwrap_err();
        assert!(e.contains("https"), "{e}");
        let config = Config::from_toml(&toml(
            "[subscriptions]\npublic_url = \"https://file.example\"\n",
        ))
        .unwrap();
        let from_file = desired(&config, None, &live()).unwrap();
        assert!(
            from_file[0]
                .callback
                .redacted()
                .starts_with("https://file.example/")
        );
        let overridden = desired(&config, Some("https://cli.example/"), &live()).unwrap();
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
        use super::super::events::EVENTS;
        for (event, event_type) in SHIPMENT_EVENTS.iter().chain(&STATUS_EVENTS) {
            assert!(
                EVENTS
                    .iter()
                    .any(|k| k.event == *event && k.event_type == *event_type),
                "{event} {event_type}"
            );
        }
        for event in STOCK_EVENTS {
            assert!(EVENTS.iter().any(|k| k.event == event), "{event}");
        }
        assert_eq!(
            EVENTS.len(),
            SHIPMENT_EVENTS.len() + STATUS_EVENTS.len() + STOCK_EVENTS.len()
        );
    }
}
