//! The Peoplevox reports the flows read, and the columns they read from each: `required` ones
//! a flow cannot do without, `read` ones it uses when present. The names mirror the readers
//! (`peoplevox/availability.rs`, `flows/shipment_confirmed/despatches.rs`,
//! `flows/order_status/shorts.rs` and `returns.rs`); change both together.

use crate::config::Config;
use crate::peoplevox::availability::ITEM_INVENTORY_SUMMARY;

/// One report and its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportColumns {
    /// The tenant's report name.
    pub report: String,
    /// Where the name comes from, for the message.
    pub source: &'static str,
    /// Columns a flow cannot do without.
    pub required: &'static [&'static str],
    /// Columns a flow reads when present (empty otherwise).
    pub read: &'static [&'static str],
}

/// "Item inventory summary": availability per item and site (stock sync).
pub fn inventory() -> ReportColumns {
    ReportColumns {
        report: ITEM_INVENTORY_SUMMARY.to_string(),
        source: "stock sync",
        required: &["Item code", "Available", "Site reference"],
        read: &[],
    }
}

/// The despatch, package and return reports of this configuration.
pub fn despatch_and_returns(config: &Config) -> Vec<ReportColumns> {
    vec![
        ReportColumns {
            report: config.shipments.summary_report.clone(),
            source: "shipments.summary_report",
            required: &[
                "Despatch number",
                "Salesorder number",
                "Item code",
                "No of items",
            ],
            read: &["Carrier", "Service", "Despatch date"],
        },
        ReportColumns {
            report: config.shipments.packages_report.clone(),
            source: "shipments.packages_report",
            required: &["Despatch number", "Package number"],
            read: &["Tracking number", "Weight"],
        },
        ReportColumns {
            report: config.status.returns.report.clone(),
            source: "status.returns.report",
            required: &["Return code", "Sales order number", "Item code", "Quantity"],
            read: &["Return date", "Return reason", "Return condition"],
        },
    ]
}

/// The required and the read columns `headers` lacks.
pub fn lacking(spec: &ReportColumns, headers: &[String]) -> (Vec<&'static str>, Vec<&'static str>) {
    let absent = |names: &'static [&'static str]| -> Vec<&'static str> {
        names
            .iter()
            .filter(|n| !headers.iter().any(|h| h == *n))
            .copied()
            .collect()
    };
    (absent(spec.required), absent(spec.read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lacking_columns_are_split_by_need() {
        let headers: Vec<String> = [
            "Despatch number",
            "Salesorder number",
            "Item code",
            "Carrier",
        ]
        .map(String::from)
        .to_vec();
        let spec = ReportColumns {
            report: "Despatch summary".into(),
            source: "shipments.summary_report",
            required: &[
                "Despatch number",
                "Salesorder number",
                "Item code",
                "No of items",
            ],
            read: &["Carrier", "Service"],
        };
        assert_eq!(
            lacking(&spec, &headers),
            (vec!["No of items"], vec!["Service"])
        );
    }
}
