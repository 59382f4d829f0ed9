//! The `[shipments]` section: how Peoplevox despatches become commercetools deliveries.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;

/// How despatches become deliveries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRules {
    /// Peoplevox carrier name → commercetools tracking data. A carrier not listed is passed
    /// through as it is (carrier and provider both the Peoplevox name).
    #[serde(default)]
    pub carriers: BTreeMap<String, CarrierMapping>,
    /// Key of the delivery custom type holding the despatch facts (`ctpvx setup` creates it);
    /// `None` writes no custom fields.
    #[serde(default = "default_delivery_type")]
    pub delivery_type: Option<String>,
    /// Report holding one row per item per despatch.
    #[serde(default = "default_summary_report")]
    pub summary_report: String,
    /// Report holding one row per package (tracking numbers, weights).
    #[serde(default = "default_packages_report")]
    pub packages_report: String,
}

/// A Peoplevox carrier as commercetools tracking data.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CarrierMapping {
    /// `trackingData.carrier`.
    pub carrier: String,
    /// `trackingData.provider`; default: the carrier.
    #[serde(default)]
    pub provider: Option<String>,
}

impl Default for ShipmentRules {
    fn default() -> Self {
        Self {
            carriers: BTreeMap::new(),
            delivery_type: default_delivery_type(),
            summary_report: default_summary_report(),
            packages_report: default_packages_report(),
        }
    }
}

fn default_delivery_type() -> Option<String> {
    Some("ctpvx-delivery".into())
}
fn default_summary_report() -> String {
    "Despatch summary".into()
}
fn default_packages_report() -> String {
    "Despatch packages".into()
}

impl ShipmentRules {
    /// The commercetools carrier and provider of a Peoplevox carrier name.
    pub fn carrier(&self, pvx_carrier: &str) -> (String, String) {
        match self.carriers.get(pvx_carrier) {
            Some(m) => (
                m.carrier.clone(),
                m.provider.clone().unwrap_or_else(|| m.carrier.clone()),
            ),
            None => (pvx_carrier.to_string(), pvx_carrier.to_string()),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (name, m) in &self.carriers {
            if m.carrier.trim().is_empty() {
                return Err(ConfigError::invalid(
                    format!("shipments.carriers.\"{name}\".carrier"),
                    "must not be empty",
                ));
            }
        }
        for (field, value) in [
            ("shipments.summary_report", &self.summary_report),
            ("shipments.packages_report", &self.packages_report),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(field, "must not be empty"));
            }
        }
        Ok(())
    }
}
