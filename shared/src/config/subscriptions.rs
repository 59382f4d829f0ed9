//! The `[subscriptions]` section: which Peoplevox events `ctpvx subscribe` registers, where
//! Peoplevox calls back, and which `{Placeholder}` fills each callback parameter.
//! AvailabilityChanges is subscribed at every `[stock.sites]` site (or once, without a site,
//! where the tenant has no sites-filter operation); the rest is chosen here. The callback token
//! is a secret and never appears in this file.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use super::stock::StockRules;
use crate::subscriptions::events::{self, EventSpec};

/// What `ctpvx subscribe` registers in Peoplevox.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRules {
    /// Base URL of the webhook API that Peoplevox calls (the API Gateway stage URL, e.g.
    /// `https://abc123.execute-api.eu-west-1.amazonaws.com`), without the `/webhooks/…` path.
    /// Optional here: `ctpvx subscribe --public-url` gives or overrides it.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Sites (each one of `[stock.sites]`) that also get IncrementalChanges. Movements are
    /// hints that cost a Peoplevox report read per batch, so none by default.
    #[serde(default)]
    pub incremental_sites: Vec<String>,
    /// TrackingNumberReceived (the shipment flow).
    #[serde(default = "yes")]
    pub shipments: bool,
    /// DespatchPackageTrackingNumberReceived and DespatchPackageDespatched. Off by default:
    /// their placeholders are guesses (UNCONFIRMED), so on a tenant where a guess is wrong
    /// every callback would lack its key and be refused, and TrackingNumberReceived already
    /// makes the flow read the whole despatch, packages included.
    #[serde(default)]
    pub package_events: bool,
    /// SalesOrderStatusChanges (the status flow).
    #[serde(default = "yes")]
    pub status: bool,
    /// Returns (the status flow records them as `returnInfo`). Off by default: its
    /// placeholders are guesses (UNCONFIRMED), and the nightly reconciliation reads the
    /// return report for every despatched order anyway; switch it on once a tenant's
    /// callbacks are seen to carry the order number or return code.
    #[serde(default)]
    pub returns: bool,
    /// The placeholder of each callback parameter, by event (`availability`, `incremental`,
    /// `tracking`, `package-tracking`, `package-despatched`, `status`, `returns`) and
    /// parameter name; merged over the defaults of `subscriptions::events`. An empty value
    /// leaves an optional parameter out. E.g. `[subscriptions.parameters.status]`
    /// `status = "{SalesOrderStatus.Name}"`, `onhold = "{OnHold}"`.
    #[serde(default)]
    pub parameters: BTreeMap<String, BTreeMap<String, String>>,
    /// The `encodeParameterData` value sent where the tenant's WSDL declares it. `true`
    /// (default): Peoplevox percent-encodes each value, so `&`, `+`, `#`, `%` survive (what
    /// `true` does is UNCONFIRMED; the webhook flags values that do not look encoded).
    /// `false`: values arrive raw, read by their parameter boundaries.
    #[serde(default = "yes")]
    pub encode_parameter_data: bool,
    /// Subscribe with SubscribePostEvent (placeholders in a POST body) instead of
    /// SubscribeEvent (placeholders in the URL of a GET). The body format Peoplevox uses is
    /// UNCONFIRMED, so GET, which every public example uses, is the default.
    #[serde(default)]
    pub post: bool,
}

impl Default for SubscriptionRules {
    fn default() -> Self {
        Self {
            public_url: None,
            incremental_sites: Vec::new(),
            shipments: true,
            package_events: false,
            status: true,
            returns: false,
            parameters: BTreeMap::new(),
            encode_parameter_data: true,
            post: false,
        }
    }
}

fn yes() -> bool {
    true
}

impl SubscriptionRules {
    /// The `(parameter, placeholder)` pairs an event's callbacks carry: the defaults, with
    /// `parameters.<event>` over them, in the event's parameter order.
    pub fn template(&self, spec: &EventSpec) -> Vec<(&'static str, String)> {
        let configured = self.parameters.get(spec.event);
        spec.params
            .iter()
            .filter_map(|p| {
                let placeholder = match configured.and_then(|c| c.get(p.name)) {
                    Some(set) => set.trim().to_string(),
                    None => p.default?.to_string(),
                };
                (!placeholder.is_empty()).then_some((p.name, placeholder))
            })
            .collect()
    }

    /// Checks `parameters`: known events and names, placeholders that look like one, keys
    /// never left out.
    fn validate_parameters(&self) -> Result<(), ConfigError> {
        for (event, params) in &self.parameters {
            let Some(spec) = events::spec(event) else {
                return Err(ConfigError::invalid(
                    format!("subscriptions.parameters.{event}"),
                    format!(
                        "no such event; the events are {}",
                        events::EVENTS.map(|s| s.event).join(", ")
                    ),
                ));
            };
            for (name, placeholder) in params {
                let field = format!("subscriptions.parameters.{event}.{name}");
                let Some(param) = spec.param(name) else {
                    let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                    return Err(ConfigError::invalid(
                        field,
                        format!(
                            "no such parameter of `{event}`; its parameters are {}",
                            names.join(", ")
                        ),
                    ));
                };
                let placeholder = placeholder.trim();
                if placeholder.is_empty() {
                    if param.key && spec.keys().len() == 1 {
                        return Err(ConfigError::invalid(
                            field,
                            "is the event's key and cannot be left out",
                        ));
                    }
                    continue;
                }
                if !events::is_placeholder(placeholder) {
                    return Err(ConfigError::invalid(
                        field,
                        format!(
                            "`{placeholder}` is not a placeholder: write it as Peoplevox does, e.g. `{{SalesOrderStatus.Name}}`"
                        ),
                    ));
                }
            }
        }
        for spec in events::EVENTS {
            if spec.keys().len() > 1
                && self
                    .template(&spec)
                    .iter()
                    .all(|(n, _)| !spec.keys().contains(n))
            {
                return Err(ConfigError::invalid(
                    format!("subscriptions.parameters.{}", spec.event),
                    format!("leaves out every key ({})", spec.keys().join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Checks what the types cannot; `stock` names the sites that may be subscribed.
    pub(super) fn validate(&self, stock: &StockRules) -> Result<(), ConfigError> {
        self.validate_parameters()?;
        if let Some(url) = &self.public_url {
            check_public_url(url)
                .map_err(|problem| ConfigError::invalid("subscriptions.public_url", problem))?;
        }
        for (i, site) in self.incremental_sites.iter().enumerate() {
            let field = format!("subscriptions.incremental_sites[{i}]");
            if !stock.sites.contains_key(site) {
                return Err(ConfigError::invalid(
                    field,
                    format!("site `{site}` is not one of [stock.sites]"),
                ));
            }
            if self.incremental_sites[..i].contains(site) {
                return Err(ConfigError::invalid(
                    field,
                    format!("site `{site}` is listed twice"),
                ));
            }
        }
        // A site reference travels in a Peoplevox filter clause and a callback URL.
        for site in stock.sites.keys() {
            if site.chars().any(char::is_control) {
                return Err(ConfigError::invalid(
                    format!("stock.sites.\"{}\"", site.escape_debug()),
                    "a site reference must not contain control characters",
                ));
            }
        }
        Ok(())
    }
}

/// Why `url` cannot be the base of the callback URLs, if it cannot: it must be https (http
/// only for a loopback host, for local runs), without a query or fragment.
pub fn check_public_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must be an https URL (http only for a loopback host)".into()),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or a fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::events::{RETURN, STATUS, TRACKING};

    fn rules(toml_text: &str) -> Result<SubscriptionRules, ConfigError> {
        let rules: SubscriptionRules =
            toml::from_str(toml_text).map_err(|e| ConfigError::invalid("toml", e.to_string()))?;
        rules.validate(&StockRules::default())?;
        Ok(rules)
    }

    #[test]
    fn status_callbacks_register_only_evidence_backed_placeholders_by_default() {
        let r = SubscriptionRules::default();
        assert_eq!(
            r.template(&STATUS),
            [
                ("order", "{SalesOrderNumber}".to_string()),
                ("status", "{SalesOrderStatu.Name}".to_string()),
                ("modified", "{LastModificationTime}".to_string()),
            ]
        );
        let tracking: Vec<&str> = r.template(&TRACKING).iter().map(|(n, _)| *n).collect();
        assert_eq!(
            tracking,
            [
                "despatch",
                "order",
                "tracking",
                "carrier",
                "service_code",
                "service"
            ]
        );
        assert!(!r.returns && !r.package_events && r.encode_parameter_data);
    }

    #[test]
    fn a_tenant_configures_its_own_placeholders() {
        let r = rules(
            "[parameters.status]\nstatus = \"{SalesOrderStatus.Name}\"\nonhold = \"{OnHold}\"\nmodified = \"\"\n",
        )
        .unwrap();
        assert_eq!(
            r.template(&STATUS),
            [
                ("order", "{SalesOrderNumber}".to_string()),
                ("status", "{SalesOrderStatus.Name}".to_string()),
                ("onhold", "{OnHold}".to_string()),
            ]
        );
        let r = rules("[parameters.returns]\norder = \"\"\n").unwrap();
        assert_eq!(
            r.template(&RETURN),
            [("return", "{ReturnCode}".to_string())]
        );
    }

    #[test]
    fn bad_parameters_are_refused_naming_the_key() {
        for (text, field) in [
            (
                "[parameters.nope]\na = \"{A}\"\n",
                "subscriptions.parameters.nope",
            ),
            (
                "[parameters.status]\nfoo = \"{A}\"\n",
                "subscriptions.parameters.status.foo",
            ),
            (
                "[parameters.status]\norder = \"\"\n",
                "subscriptions.parameters.status.order",
            ),
            (
                "[parameters.status]\nstatus = \"Status\"\n",
                "subscriptions.parameters.status.status",
            ),
            (
                "[parameters.status]\nstatus = \"{A}&x={B}\"\n",
                "subscriptions.parameters.status.status",
            ),
            (
                "[parameters.returns]\norder = \"\"\nreturn = \"\"\n",
                "subscriptions.parameters.returns",
            ),
        ] {
            let e = rules(text).unwrap_err().to_string();
            assert!(e.contains(field), "{text}: {e}");
        }
    }

    #[test]
    fn public_urls() {
        for good in [
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            "https://hooks.example.com/prod/",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
        ] {
            assert_eq!(check_public_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://hooks.example.com",
            "ftp://x",
            "https://x.example?a=1",
            "https://x.example#f",
            "https://user:pw@x.example",
            "hooks.example.com",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }
}
