//! The configuration file: endpoints, Peoplevox template names and field names, and the order
//! mapping rules (routing, shipping methods, units of measure, custom fields).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::orders::{CustomLineItems, OrderNumbering, OtherOrders, SplitDestinations};
use super::reconcile::ReconcileRules;
use super::shipments::ShipmentRules;
use super::status::StatusRules;
use super::stock::StockRules;
use super::subscriptions::SubscriptionRules;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// commercetools connection.
    pub commercetools: CommercetoolsConfig,
    /// Peoplevox connection, templates and request budget.
    pub peoplevox: PeoplevoxConfig,
    /// How orders map to Peoplevox sales orders.
    #[serde(default)]
    pub orders: OrderRules,
    /// How Peoplevox stock becomes commercetools inventory.
    #[serde(default)]
    pub stock: StockRules,
    /// How Peoplevox despatches become commercetools deliveries.
    #[serde(default)]
    pub shipments: ShipmentRules,
    /// Peoplevox statuses → fulfilment stages and commercetools states.
    #[serde(default)]
    pub status: StatusRules,
    /// The HTTP ingress.
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// The nightly reconciliation.
    #[serde(default)]
    pub reconcile: ReconcileRules,
    /// The Peoplevox events `ctpvx subscribe` registers, and where they call back.
    #[serde(default)]
    pub subscriptions: SubscriptionRules,
}

/// commercetools connection settings (the client secret is a secret, not here).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommercetoolsConfig {
    /// e.g. `https://auth.europe-west1.gcp.commercetools.com`.
    pub auth_url: String,
    /// e.g. `https://api.europe-west1.gcp.commercetools.com`.
    pub api_url: String,
    /// Project key.
    pub project_key: String,
    /// API client id.
    pub client_id: String,
    /// Scopes to request, space separated; default: the client's own.
    #[serde(default)]
    pub scopes: Option<String>,
    /// Key of the channel (role OrderExport) that marks an order as exported.
    pub order_export_channel: String,
    /// Timeout of one request, in ms.
    #[serde(default = "default_ct_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of a failed request.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
}

/// Peoplevox template names of this tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateNames {
    /// Header template.
    #[serde(default = "default_sales_orders")]
    pub sales_orders: String,
    /// Lines template.
    #[serde(default = "default_sales_order_items")]
    pub sales_order_items: String,
    /// Item types (SKU master).
    #[serde(default = "default_item_types")]
    pub item_types: String,
}

impl Default for TemplateNames {
    fn default() -> Self {
        Self {
            sales_orders: default_sales_orders(),
            sales_order_items: default_sales_order_items(),
            item_types: default_item_types(),
        }
    }
}

/// Peoplevox connection settings (the password is a secret, not here).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeoplevoxConfig {
    /// Full URL of `integrationservicev4.asmx`.
    pub endpoint: String,
    /// Tenant client id.
    pub client_id: String,
    /// Integration user.
    pub username: String,
    /// Timeout of one request, in ms (Peoplevox calls can be slow).
    #[serde(default = "default_pvx_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries of a failed read.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Session reuse, in s (Peoplevox idles sessions out after about 30 minutes).
    #[serde(default = "default_session_ttl_s")]
    pub session_ttl_s: u64,
    /// Request budget: at most this many requests ...
    #[serde(default = "default_budget_requests")]
    pub budget_requests: u32,
    /// ... per sliding window of this many ms, across the whole deployment.
    #[serde(default = "default_budget_window_ms")]
    pub budget_window_ms: u64,
    /// Template names.
    #[serde(default)]
    pub templates: TemplateNames,
    /// Renamed fields: standard field name → this tenant's field name, per template.
    #[serde(default)]
    pub field_names: BTreeMap<String, BTreeMap<String, String>>,
    /// IANA zone of the wall-clock times in the tenant's reports and search clauses (no
    /// public source says which zone a tenant uses: UNCONFIRMED, the warehouse's is assumed).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Pages of 1000 rows one read follows before it fails with an error that says so.
    #[serde(default = "default_max_pages_per_read")]
    pub max_pages_per_read: u32,
}

/// A routing rule: orders that match go to `site`. The first matching rule wins; a rule with
/// several selectors needs all of them to match.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// Store key of the order.
    #[serde(default)]
    pub store: Option<String>,
    /// Supply channel id of the order's line items.
    #[serde(default)]
    pub supply_channel: Option<String>,
    /// Shipping country (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub country: Option<String>,
    /// Peoplevox site reference.
    pub site: String,
}

/// A commercetools SKU sold in packs: it ships as `factor` units of `item_code`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UnitOfMeasure {
    /// Peoplevox item code; default: the same SKU.
    #[serde(default)]
    pub item_code: Option<String>,
    /// Peoplevox units per commercetools unit.
    pub factor: u32,
}

/// How orders map to Peoplevox sales orders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRules {
    /// Site when no routing rule matches; `None` holds such orders.
    #[serde(default = "default_site")]
    pub default_site: Option<String>,
    /// Routing rules, first match wins.
    #[serde(default)]
    pub routing: Vec<RoutingRule>,
    /// Shipping method key or name → Peoplevox service type.
    #[serde(default)]
    pub shipping_methods: BTreeMap<String, String>,
    /// Service type when the shipping method has no mapping; `None` holds such orders.
    #[serde(default)]
    pub default_service_type: Option<String>,
    /// Pack SKUs: commercetools SKU → Peoplevox item and factor.
    #[serde(default)]
    pub units_of_measure: BTreeMap<String, UnitOfMeasure>,
    /// Order custom field name → Peoplevox "Sales orders" field that receives it.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// ChannelName when the order has no store.
    #[serde(default = "default_channel_name")]
    pub default_channel_name: String,
    /// Whether Peoplevox may despatch the order in parts.
    #[serde(default)]
    pub allow_partial_shipment: bool,
    /// How long a known Peoplevox item stays cached, in s.
    #[serde(default = "default_item_cache_s")]
    pub item_cache_ttl_s: u64,
    /// How long an unknown item is remembered as unknown, in s.
    #[serde(default = "default_missing_item_cache_s")]
    pub missing_item_cache_ttl_s: u64,
    /// Peoplevox sales orders per SaveData call (each part of a split order counts; an order's
    /// parts travel in one call). Peoplevox's own limit is unknown.
    #[serde(default = "default_max_orders_per_call")]
    pub max_orders_per_call: usize,
    /// Custom line items: left out (each named in the audit entry) or exported as lines.
    #[serde(default)]
    pub custom_line_items: CustomLineItems,
    /// Item code of exported custom line items whose slug `custom_line_item_codes` lacks.
    #[serde(default)]
    pub custom_line_item_code: Option<String>,
    /// Custom line item slug → the item code it is exported under.
    #[serde(default)]
    pub custom_line_item_codes: BTreeMap<String, String>,
    /// Whether OrderImported messages are exported like OrderCreated (else acknowledged,
    /// counted as ignored, and the order remembered as not to export).
    #[serde(default = "yes")]
    pub export_imported: bool,
    /// The Peoplevox number of an order whose `orderNumber` is missing or does not fit.
    #[serde(default)]
    pub numbering: OrderNumbering,
    /// "Sales orders" field that receives the delivery note (`additionalAddressInfo` of the
    /// shipping address), joined with any custom field mapped to the same field; sent only when
    /// the tenant's template has the field. Empty: the note is not sent (and audited).
    #[serde(default = "default_delivery_note_field")]
    pub delivery_note_field: String,
    /// Longest value of the delivery note field; a longer one is cut, with an audit note.
    /// None: never cut (Peoplevox documents no length for such a field).
    #[serde(default)]
    pub delivery_note_max_chars: Option<usize>,
    /// An order whose units go to several addresses (`shippingMode` Multiple, or line items'
    /// `itemShippingAddresses` targets): one Peoplevox order per address, or held.
    #[serde(default)]
    pub split_destinations: SplitDestinations,
    /// Callbacks for Peoplevox sales orders that are not ours (another sales channel on the
    /// tenant): skipped with an audit entry, or parked.
    #[serde(default)]
    pub other_orders: OtherOrders,
}

impl Default for OrderRules {
    fn default() -> Self {
        // Deserializing an empty table applies every field default in one place.
        toml::from_str("").unwrap_or_else(|_| unreachable!("empty order rules always parse"))
    }
}

/// The HTTP ingress.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Largest accepted body, in bytes (413 above). What is queued is a pointer to the order,
    /// whatever the body's size.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Read and ignored: every order is queued as a pointer now, whatever its size. Kept so
    /// that a configuration written for an earlier version still loads.
    #[serde(default, rename = "max_message_bytes")]
    pub retired_max_message_bytes: Option<serde::de::IgnoredAny>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: default_max_body(),
            retired_max_message_bytes: None,
        }
    }
}

fn default_ct_timeout_ms() -> u64 {
    10_000
}
fn default_pvx_timeout_ms() -> u64 {
    60_000
}
fn default_retries() -> u32 {
    4
}
fn default_session_ttl_s() -> u64 {
    20 * 60
}
fn default_budget_requests() -> u32 {
    15
}
fn default_budget_window_ms() -> u64 {
    15_000
}
fn default_time_zone() -> String {
    crate::peoplevox::report_time::DEFAULT_ZONE.into()
}
fn default_max_pages_per_read() -> u32 {
    100
}
fn default_sales_orders() -> String {
    "Sales orders".into()
}
fn default_sales_order_items() -> String {
    "Sales order items".into()
}
fn default_item_types() -> String {
    "Item types".into()
}
fn default_site() -> Option<String> {
    Some("PrimarySite".into())
}
fn default_channel_name() -> String {
    "commercetools".into()
}
fn default_item_cache_s() -> u64 {
    6 * 3600
}
fn default_missing_item_cache_s() -> u64 {
    60
}
fn default_max_orders_per_call() -> usize {
    500
}
fn yes() -> bool {
    true
}
fn default_delivery_note_field() -> String {
    "Notes".into()
}
fn default_max_body() -> usize {
    1024 * 1024
}

impl Config {
    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Checks what the types cannot: URLs, positive numbers, complete rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, url) in [
            ("commercetools.auth_url", &self.commercetools.auth_url),
            ("commercetools.api_url", &self.commercetools.api_url),
            ("peoplevox.endpoint", &self.peoplevox.endpoint),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::invalid(field, "must be an http(s) URL"));
            }
        }
        for (field, value) in [
            ("commercetools.project_key", &self.commercetools.project_key),
            ("commercetools.client_id", &self.commercetools.client_id),
            (
                "commercetools.order_export_channel",
                &self.commercetools.order_export_channel,
            ),
            ("peoplevox.client_id", &self.peoplevox.client_id),
            ("peoplevox.username", &self.peoplevox.username),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(field, "must not be empty"));
            }
        }
        let p = &self.peoplevox;
        if p.budget_requests == 0 {
            return Err(ConfigError::invalid(
                "peoplevox.budget_requests",
                "must be at least 1",
            ));
        }
        if p.budget_window_ms == 0 {
            return Err(ConfigError::invalid(
                "peoplevox.budget_window_ms",
                "must be at least 1",
            ));
        }
        if let Err(e) = p.report_zone() {
            return Err(ConfigError::invalid("peoplevox.time_zone", e));
        }
        if p.max_pages_per_read == 0 {
            return Err(ConfigError::invalid(
                "peoplevox.max_pages_per_read",
                "must be at least 1",
            ));
        }
        for (template, renames) in &p.field_names {
            if renames.values().any(|v| v.trim().is_empty()) {
                return Err(ConfigError::invalid(
                    format!("peoplevox.field_names.\"{template}\""),
                    "a field name must not be empty",
                ));
            }
        }
        let o = &self.orders;
        for (i, rule) in o.routing.iter().enumerate() {
            if rule.store.is_none() && rule.supply_channel.is_none() && rule.country.is_none() {
                return Err(ConfigError::invalid(
                    format!("orders.routing[{i}]"),
                    "needs at least one of store, supply_channel, country",
                ));
            }
            if rule.site.trim().is_empty() {
                return Err(ConfigError::invalid(
                    format!("orders.routing[{i}].site"),
                    "must not be empty",
                ));
            }
        }
        for (sku, uom) in &o.units_of_measure {
            if uom.factor == 0 {
                return Err(ConfigError::invalid(
                    format!("orders.units_of_measure.\"{sku}\".factor"),
                    "must be at least 1",
                ));
            }
        }
        if o.max_orders_per_call == 0 {
            return Err(ConfigError::invalid(
                "orders.max_orders_per_call",
                "must be at least 1",
            ));
        }
        super::orders::validate(o)?;
        self.stock.validate()?;
        self.shipments.validate()?;
        self.status.validate()?;
        self.subscriptions.validate(&self.stock)?;
        self.reconcile.validate(self.peoplevox.budget_requests)?;
        if self.webhook.retired_max_message_bytes.is_some() {
            tracing::warn!(
                "webhook.max_message_bytes is no longer used (every order is queued as a pointer): remove it from the configuration"
            );
        }
        Ok(())
    }
}

impl PeoplevoxConfig {
    /// The request budget window.
    pub fn budget_window(&self) -> Duration {
        Duration::from_millis(self.budget_window_ms)
    }

    /// The zone of `time_zone`, or why the name is not one.
    pub fn report_zone(&self) -> Result<crate::peoplevox::ReportZone, String> {
        crate::peoplevox::ReportZone::named(&self.time_zone)
    }

    /// The tenant's name for a standard field of a template.
    pub fn field_name<'a>(&'a self, template: &str, standard: &'a str) -> &'a str {
        self.field_names
            .get(template)
            .and_then(|renames| renames.get(standard))
            .map(String::as_str)
            .unwrap_or(standard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::MINIMAL_TOML as MINIMAL;

    #[test]
    fn minimal_file_gets_defaults() {
        let c = Config::from_toml(MINIMAL).unwrap();
        assert_eq!(c.peoplevox.budget_requests, 15);
        assert_eq!(c.peoplevox.budget_window_ms, 15_000);
        assert_eq!(c.orders.default_site.as_deref(), Some("PrimarySite"));
        assert_eq!(c.peoplevox.templates.sales_orders, "Sales orders");
        assert_eq!(c.webhook.max_body_bytes, 1024 * 1024);
        assert_eq!(c.peoplevox.time_zone, "Europe/London");
        assert_eq!(c.peoplevox.max_pages_per_read, 100);
    }

    /// A configuration written for the version that queued small orders whole still loads;
    /// other unknown webhook keys are still refused.
    #[test]
    fn the_retired_max_message_bytes_is_read_and_ignored() {
        let with = |line: &str| format!("{MINIMAL}\n[webhook]\n{line}\n");
        let c = Config::from_toml(&with("max_message_bytes = 262144")).unwrap();
        assert!(c.webhook.retired_max_message_bytes.is_some());
        assert_eq!(c.webhook.max_body_bytes, 1024 * 1024);
        assert!(Config::from_toml(&with("max_messages = 1")).is_err());
    }

    #[test]
    fn the_time_zone_and_page_bound_are_checked() {
        let with = |line: &str| MINIMAL.replace("[peoplevox]\n", &format!("[peoplevox]\n{line}\n"));
        let c = Config::from_toml(&with("time_zone = \"Australia/Sydney\"")).unwrap();
        assert_eq!(
            c.peoplevox.report_zone().unwrap().name(),
            "Australia/Sydney"
        );
        let e = Config::from_toml(&with("time_zone = \"London\"")).unwrap_err();
        assert!(e.to_string().contains("peoplevox.time_zone"), "{e}");
        let e = Config::from_toml(&with("max_pages_per_read = 0")).unwrap_err();
        assert!(
            e.to_string().contains("peoplevox.max_pages_per_read"),
            "{e}"
        );
    }

    #[test]
    fn stock_sites_are_checked() {
        let c = Config::from_toml(&format!(
            "{MINIMAL}\n[stock]\nsafety_buffer = 2\n[stock.sites.A]\nchannel = \"ch-a\"\n[stock.sites.B]\nchannel = \"ch-b\"\nsafety_buffer = 5\n"
        ))
        .unwrap();
        assert_eq!((c.stock.buffer("A"), c.stock.buffer("B")), (2, 5));
        let e = Config::from_toml(&format!(
            "{MINIMAL}\n[stock.sites.A]\nchannel = \"ch\"\n[stock.sites.B]\nchannel = \"ch\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("stock.sites.\"B\".channel"), "{e}");
        let e =
            Config::from_toml(&format!("{MINIMAL}\n[stock]\nconfirm_after_s = 901\n")).unwrap_err();
        assert!(e.to_string().contains("stock.confirm_after_s"), "{e}");
    }

    #[test]
    fn unknown_field_is_named() {
        let e = Config::from_toml(&format!("{MINIMAL}\n[orders]\ndefault_sitee = \"x\"\n"))
            .unwrap_err();
        assert!(e.to_string().contains("default_sitee"), "{e}");
    }

    #[test]
    fn invalid_values_are_named() {
        let e = Config::from_toml(&format!(
            "{MINIMAL}\n[orders.units_of_measure.\"SIX\"]\nfactor = 0\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("orders.units_of_measure.\"SIX\".factor"),
            "{e}"
        );
        let e = Config::from_toml(&format!("{MINIMAL}\n[[orders.routing]]\nsite = \"A\"\n"))
            .unwrap_err();
        assert!(e.to_string().contains("orders.routing[0]"), "{e}");
        let e = Config::from_toml(&MINIMAL.replace("https://api.example", "ftp://x")).unwrap_err();
        assert!(e.to_string().contains("commercetools.api_url"), "{e}");
    }

    #[test]
    fn field_renames_apply_per_template() {
        let c = Config::from_toml(&format!(
            "{MINIMAL}\n[peoplevox.field_names.\"Sales orders\"]\nEmail = \"CustomerEmail\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.peoplevox.field_name("Sales orders", "Email"),
            "CustomerEmail"
        );
        assert_eq!(c.peoplevox.field_name("Sales orders", "Site"), "Site");
    }
}
