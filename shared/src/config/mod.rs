//! Typed configuration: one TOML file for endpoints and mapping rules, secrets from the
//! environment (locally) or Secrets Manager (in AWS). Validated once at start; every error
//! names the field.

mod error;
mod file;
mod live;
mod orders;
mod reconcile;
mod secrets;
mod shipments;
mod status;
mod stock;
mod subscriptions;

pub use error::ConfigError;
pub use file::{
    CommercetoolsConfig, Config, OrderRules, PeoplevoxConfig, RoutingRule, TemplateNames,
    UnitOfMeasure, WebhookConfig,
};
pub use live::{ConfigFeed, FixedConfig, Versioned};
pub use orders::{
    CustomLineItems, DERIVED_HEX_DIGITS, ITEM_CODE_MAX, MissingNumber, OrderNumbering, OtherOrders,
    SplitDestinations, TooLongNumber,
};
pub use reconcile::ReconcileRules;
pub use secrets::{
    ApiSecrets, ENV_CT_CLIENT_SECRET, ENV_PVX_CALLBACK_TOKEN, ENV_PVX_PASSWORD, ENV_WEBHOOK_TOKEN,
    Secrets, WebhookSecrets,
};
pub use shipments::{CarrierMapping, PackageTemplate, ShipmentRules, WeightUnit};
pub use status::{StatusMapping, StatusRules, default_statuses};
pub use stock::{StockRules, StockSite};
pub use subscriptions::{SubscriptionRules, check_public_url};

/// The smallest valid configuration file, for unit tests to extend.
#[cfg(test)]
pub(crate) const MINIMAL_TOML: &str = r#"
[commercetools]
auth_url = "https://auth.example"
api_url = "https://api.example"
project_key = "shop"
client_id = "cid"
order_export_channel = "pvx-export"

[peoplevox]
endpoint = "https://wms.peoplevox.net/c1/resources/integrationservicev4.asmx"
client_id = "c1"
username = "integration"
"#;
