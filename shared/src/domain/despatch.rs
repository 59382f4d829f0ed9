//! A Peoplevox despatch as the shipment flow needs it, and the date format of Peoplevox
//! reports. Pure, no I/O.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

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
    /// `Despatch date`, when known.
    pub despatched_at: Option<OffsetDateTime>,
    /// Item code and units, one entry per item.
    pub lines: Vec<(String, i64)>,
    /// The packages, by package number.
    pub packages: Vec<Package>,
}

/// One package of a despatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// `Package number` (or name) within the despatch.
    pub number: String,
    /// `Tracking number`, once the carrier gave one.
    pub tracking: Option<String>,
    /// `Weight` in grams, when known.
    pub weight_g: Option<i64>,
}

/// Parses a report date: single-quoted and day-first, `'26/11/2026 10:52:21'` or
/// `'26/11/2026 10:52'`, taken as UTC (the tenant's zone is not in the report: UNCONFIRMED).
pub fn parse_report_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim().trim_matches('\'').trim();
    let with_seconds = format_description!("[day]/[month]/[year] [hour]:[minute]:[second]");
    let without = format_description!("[day]/[month]/[year] [hour]:[minute]");
    PrimitiveDateTime::parse(text, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(text, without))
        .ok()
        .map(PrimitiveDateTime::assume_utc)
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
    fn report_dates_are_quoted_and_day_first() {
        let t = parse_report_date("'03/07/2017 10:52:21'").unwrap();
        assert_eq!((t.day(), u8::from(t.month()), t.year()), (3, 7, 2017));
        assert_eq!((t.hour(), t.minute(), t.second()), (10, 52, 21));
        let t = parse_report_date("'01/07/2017 23:46'").unwrap();
        assert_eq!((t.hour(), t.minute()), (23, 46));
        assert!(parse_report_date("2017-07-01").is_none());
        assert!(parse_report_date("'31/02/2017 10:00'").is_none());
    }

    #[test]
    fn keys_are_deterministic_and_valid() {
        assert_eq!(key_from("pvx", &["DSP 1/2", "3"]), "pvx-DSP_1_2-3");
        assert_eq!(key_from("pvx", &["x".repeat(300).as_str()]).len(), 256);
    }
}
