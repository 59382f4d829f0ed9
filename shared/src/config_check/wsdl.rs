//! The tenant's live WSDL (`<endpoint>?WSDL`): which operations and subscribe elements it has,
//! and so what `ctpvx subscribe` will do there (see `subscriptions::desired`).

use crate::config::Config;
use crate::peoplevox::wsdl::{
    ENCODE_PARAMETER_DATA, Origin, SUBSCRIBE_EVENT, SUBSCRIBE_EVENT_WITH_SITES_FILTERS,
    SUBSCRIBE_POST_EVENT, ServiceDescription,
};

use super::report::Check;

const WSDL: &str = "Peoplevox WSDL";
const PLAN: &str = "Peoplevox subscriptions plan";

/// Two lines: what the WSDL offers, and what subscribing will do with it.
pub fn check(wsdl: &ServiceDescription, config: &Config) -> Vec<Check> {
    vec![offers(wsdl), plan(wsdl, config)]
}

fn offers(wsdl: &ServiceDescription) -> Check {
    let requests: Vec<String> = [
        SUBSCRIBE_EVENT,
        SUBSCRIBE_POST_EVENT,
        SUBSCRIBE_EVENT_WITH_SITES_FILTERS,
    ]
    .into_iter()
    .filter(|op| wsdl.has(op))
    .map(|op| {
        let elements = wsdl.elements(op).map(|e| e.join(", ")).unwrap_or_default();
        format!("{op}({elements})")
    })
    .collect();
    let operations: Vec<&str> = wsdl.operations().collect();
    let detail = format!(
        "{} operations ({}); subscribe requests: {}",
        operations.len(),
        operations.join(", "),
        requests.join("; ")
    );
    match &wsdl.origin {
        Origin::Live => Check::ok(WSDL, detail),
        Origin::Assumed(why) => Check::warn(
            WSDL,
            format!("not read ({why}); assumed the 2017 WSDL: {detail}"),
            "check that peoplevox.endpoint answers `GET …/integrationservicev4.asmx?WSDL`",
        ),
    }
}

fn plan(wsdl: &ServiceDescription, config: &Config) -> Check {
    let rules = &config.subscriptions;
    let sites = config.stock.sites.len();
    let plain = if rules.post {
        SUBSCRIBE_POST_EVENT
    } else {
        SUBSCRIBE_EVENT
    };
    let mut parts = Vec::new();
    let sites_filtered = !rules.post && wsdl.sites_filter_operation().is_some();
    if sites_filtered {
        parts.push(format!(
            "AvailabilityChanges at each of {sites} site(s) with {SUBSCRIBE_EVENT_WITH_SITES_FILTERS} (sitesFilter Site.Reference = \"<site>\")"
        ));
    } else {
        parts.push(format!(
            "AvailabilityChanges once, without a site, with {plain} (no sites-filter operation{}): each callback is a hint re-read at all {sites} site(s)",
            if rules.post { " for POST callbacks" } else { "" }
        ));
    }
    let encoded = |op: &str| {
        if wsdl.declares(op, ENCODE_PARAMETER_DATA) {
            format!(
                "{ENCODE_PARAMETER_DATA}={} (values read as {})",
                rules.encode_parameter_data,
                if rules.encode_parameter_data {
                    "percent-encoded"
                } else {
                    "raw"
                }
            )
        } else {
            format!("no {ENCODE_PARAMETER_DATA} (values read as raw)")
        }
    };
    parts.push(format!("{plain}: {}", encoded(plain)));
    if sites_filtered {
        parts.push(format!(
            "{SUBSCRIBE_EVENT_WITH_SITES_FILTERS}: {}",
            encoded(SUBSCRIBE_EVENT_WITH_SITES_FILTERS)
        ));
    }
    let detail = parts.join("; ");
    if sites_filtered && config.stock.confirm_after_s == 0 {
        return Check::warn(
            PLAN,
            format!(
                "{detail}; stock.confirm_after_s = 0: a site-bound figure is applied without the confirming re-read"
            ),
            "set stock.confirm_after_s above 0, so that no figure rests on the sites filter alone",
        );
    }
    Check::ok(PLAN, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_check::Status;

    fn config(extra: &str) -> Config {
        Config::from_toml(&format!(
            "{}\n[stock.sites.A]\nchannel = \"a\"\n{extra}",
            crate::config::MINIMAL_TOML
        ))
        .unwrap()
    }

    #[test]
    fn check_config_says_what_subscribe_will_do_on_each_kind_of_tenant() {
        let live = check(&ServiceDescription::with_sites_filters(), &config(""));
        assert_eq!(live[0].status, Status::Ok);
        assert!(
            live[0].detail.contains(
                "SubscribeEventWithSitesFilters(eventType, sitesFilter, callbackUrl, encodeParameterData)"
            ),
            "{}",
            live[0].detail
        );
        assert!(
            live[1]
                .detail
                .contains("at each of 1 site(s) with SubscribeEventWithSitesFilters")
        );
        assert!(live[1].detail.contains("encodeParameterData=true"));

        let old = check(&ServiceDescription::assumed_2017("HTTP 404"), &config(""));
        assert_eq!(old[0].status, Status::Warn);
        assert!(old[0].detail.contains("HTTP 404"));
        assert!(
            old[1].detail.contains("once, without a site"),
            "{}",
            old[1].detail
        );
        assert!(old[1].detail.contains("no encodeParameterData"));

        let unconfirmed = check(
            &ServiceDescription::with_sites_filters(),
            &config("[stock]\nconfirm_after_s = 0\n"),
        );
        assert_eq!(unconfirmed[1].status, Status::Warn);
    }
}
