//! Typed configuration: one TOML file for endpoints and mapping rules, secrets from the
//! environment (locally) or Secrets Manager (in AWS). Validated once at start; every error
//! names the field.

mod error;
mod file;
mod secrets;
mod shipments;
mod status;
mod stock;

pub use error::ConfigError;
pub use file::{
    CommercetoolsConfig, Config, OrderRules, PeoplevoxConfig, RoutingRule, TemplateNames,
    UnitOfMeasure, WebhookConfig,
};
pub use secrets::Secrets;
pub use shipments::{CarrierMapping, ShipmentRules};
pub use status::{StatusMapping, StatusRules, default_statuses};
pub use stock::{StockRules, StockSite};
