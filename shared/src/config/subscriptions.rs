//! The `[subscriptions]` section: which Peoplevox events `ctpvx subscribe` registers, and where
//! Peoplevox calls back. AvailabilityChanges is subscribed at every `[stock.sites]` site; the
//! rest is chosen here. The callback token is a secret and never appears in this file.

use serde::Deserialize;

use super::ConfigError;
use super::stock::StockRules;

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
    /// TrackingNumberReceived, DespatchPackageTrackingNumberReceived and
    /// DespatchPackageDespatched (the shipment flow).
    #[serde(default = "yes")]
    pub shipments: bool,
    /// SalesOrderStatusChanges (the status flow).
    #[serde(default = "yes")]
    pub status: bool,
    /// Returns (the status flow records them as `returnInfo`).
    #[serde(default = "yes")]
    pub returns: bool,
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
            status: true,
            returns: true,
            post: false,
        }
    }
}

fn yes() -> bool {
    true
}

impl SubscriptionRules {
    /// Checks what the types cannot; `stock` names the sites that may be subscribed.
    pub(super) fn validate(&self, stock: &StockRules) -> Result<(), ConfigError> {
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
