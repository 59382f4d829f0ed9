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
    /// Report holding one row per item per despatch, with its tracking number(s).
    #[serde(default = "default_summary_report")]
    pub summary_report: String,
    /// Refused with a pointer to `[shipments.packages]`: "Despatch packages" is a data
    /// template, not a report (finerylondon/peep_conn `lib/peep_conn/constants.rb`).
    #[serde(default)]
    pub packages_report: Option<String>,
    /// The data template of despatch packages, where the tenant has one.
    #[serde(default)]
    pub packages: PackageTemplate,
}

/// `[shipments.packages]`: the "Despatch packages" data template (GetData). It is listed in
/// finerylondon/peep_conn `constants.rb` TABLE_NAMES, but nobody publishes its field names:
/// the defaults are the `.pvx` despatch file's (`DespatchNumber`; `Packages/DespatchPackage`
/// with `PackageName`, `TrackingNumber`, `Weight`: rjudin/opendespatch
/// `OpenDespatch.Entities/PvxDespatch.cs`), UNCONFIRMED; `ctpvx check-config` reads the
/// template's fields. A tenant without the template gets one parcel per tracking number of
/// "Despatch summary".
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackageTemplate {
    /// The template's name; empty: do not read packages (parcels come from the summary).
    #[serde(default = "default_packages_template")]
    pub template: String,
    /// The field holding the despatch number.
    #[serde(default = "default_despatch_number_field")]
    pub despatch_number_field: String,
    /// The field naming the package within its despatch.
    #[serde(default = "default_package_number_field")]
    pub package_number_field: String,
    /// The field holding the package's tracking number; empty: none.
    #[serde(default = "default_tracking_number_field")]
    pub tracking_number_field: String,
    /// The field holding the package's weight; empty: none.
    #[serde(default = "default_weight_field")]
    pub weight_field: String,
    /// The unit of the weight field (UNCONFIRMED).
    #[serde(default)]
    pub weight_unit: WeightUnit,
}

/// A weight unit.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WeightUnit {
    /// Kilograms.
    #[default]
    Kg,
    /// Grams.
    G,
}

impl WeightUnit {
    /// Grams in one unit.
    pub fn grams(self) -> f64 {
        match self {
            Self::Kg => 1000.0,
            Self::G => 1.0,
        }
    }
}

impl Default for PackageTemplate {
    fn default() -> Self {
        Self {
            template: default_packages_template(),
            despatch_number_field: default_despatch_number_field(),
            package_number_field: default_package_number_field(),
            tracking_number_field: default_tracking_number_field(),
            weight_field: default_weight_field(),
            weight_unit: WeightUnit::default(),
        }
    }
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
            packages_report: None,
            packages: PackageTemplate::default(),
        }
    }
}

fn default_delivery_type() -> Option<String> {
    Some("ctpvx-delivery".into())
}
fn default_summary_report() -> String {
    "Despatch summary".into()
}
fn default_packages_template() -> String {
    "Despatch packages".into()
}
fn default_despatch_number_field() -> String {
    "DespatchNumber".into()
}
fn default_package_number_field() -> String {
    "PackageName".into()
}
fn default_tracking_number_field() -> String {
    "TrackingNumber".into()
}
fn default_weight_field() -> String {
    "Weight".into()
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
        if self.packages_report.is_some() {
            return Err(ConfigError::invalid(
                "shipments.packages_report",
                "\"Despatch packages\" is a data template, not a report: remove this key and name the template under [shipments.packages] (template, and its field names)",
            ));
        }
        if self.summary_report.trim().is_empty() {
            return Err(ConfigError::invalid(
                "shipments.summary_report",
                "must not be empty",
            ));
        }
        let p = &self.packages;
        if !p.template.trim().is_empty() {
            for (field, value) in [
                (
                    "shipments.packages.despatch_number_field",
                    &p.despatch_number_field,
                ),
                (
                    "shipments.packages.package_number_field",
                    &p.package_number_field,
                ),
            ] {
                if value.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        field,
                        "must not be empty while shipments.packages.template is set",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::MINIMAL_TOML as MINIMAL;

    use super::*;

    #[test]
    fn packages_default_to_the_pvx_file_names() {
        let c = Config::from_toml(MINIMAL).unwrap();
        let p = &c.shipments.packages;
        assert_eq!(p.template, "Despatch packages");
        assert_eq!(
            (
                p.despatch_number_field.as_str(),
                p.package_number_field.as_str(),
                p.tracking_number_field.as_str(),
                p.weight_field.as_str()
            ),
            ("DespatchNumber", "PackageName", "TrackingNumber", "Weight")
        );
        assert_eq!(p.weight_unit, WeightUnit::Kg);
        let c = Config::from_toml(&format!(
            "{MINIMAL}\n[shipments.packages]\ntemplate = \"Parcels\"\npackage_number_field = \"No\"\nweight_unit = \"g\"\n"
        ))
        .unwrap();
        assert_eq!(c.shipments.packages.package_number_field, "No");
        assert_eq!(c.shipments.packages.weight_unit.grams(), 1.0);
    }

    #[test]
    fn a_packages_report_is_refused_with_the_way_out() {
        let e = Config::from_toml(&format!(
            "{MINIMAL}\n[shipments]\npackages_report = \"Despatch packages\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("shipments.packages_report"), "{e}");
        assert!(e.contains("[shipments.packages]"), "{e}");
        let e = Config::from_toml(&format!(
            "{MINIMAL}\n[shipments.packages]\ndespatch_number_field = \" \"\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("shipments.packages.despatch_number_field"),
            "{e}"
        );
        // Without a template the field names do not matter.
        assert!(
            Config::from_toml(&format!(
                "{MINIMAL}\n[shipments.packages]\ntemplate = \"\"\ndespatch_number_field = \"\"\n"
            ))
            .is_ok()
        );
    }
}
