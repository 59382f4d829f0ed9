//! A Peoplevox despatch as the shipment flow needs it. Pure, no I/O. (Report times are read
//! in the tenant's zone: `peoplevox::report_time`.)

use time::OffsetDateTime;

/// One despatch: what left the warehouse for one sales order, in which packages.
#[derive(Debug, Clone, PartialEq)]
pub struct Despatch {
    /// `Despatch number`.
    pub number: String,
    /// `Salesorder number`.
    pub order_number: String,
    /// `Carrier`, as Peoplevox names it.
    pub carrier: String,
    /// `Service`.
    pub service: String,
    /// `Despatch date` (a wall-clock time in the tenant's zone), when known.
    pub despatched_at: Option<OffsetDateTime>,
    /// Item code and units, one entry per item.
    pub lines: Vec<(String, i64)>,
    /// The packages, by package number.
    pub packages: Vec<Package>,
}

/// One package of a despatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// The package's name within the despatch: the packages template's, or the ordinal of
    /// a tracking number of the summary when the tenant has no template.
    pub number: String,
    /// Its tracking number, once the carrier gave one.
    pub tracking: Option<String>,
    /// `Weight` in grams, when known.
    pub weight_g: Option<i64>,
}

/// A commercetools key (`[a-zA-Z0-9_-]{2,256}`) derived from Peoplevox text, deterministic, so
/// that a repeated despatch finds the delivery it made before.
pub fn key_from(prefix: &str, parts: &[&str]) -> String {
    let mut key = prefix.to_string();
    for part in parts {
        key.push('-');
        key.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        }));
    }
    key.truncate(256);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_valid() {
        assert_eq!(key_from("pvx", &["DSP 1/2", "3"]), "pvx-DSP_1_2-3");
        assert_eq!(key_from("pvx", &["x".repeat(300).as_str()]).len(), 256);
    }
}
