//! The Peoplevox reports the flows read, and the columns they take from each: `required`
//! ones a flow cannot do without, `read` ones it uses when present. The lists are the readers'
//! own ([`crate::peoplevox::Columns`] constants next to each reader), joined per report, so
//! they cannot drift apart.

use crate::config::Config;
use crate::flows::nightly_reconcile::DESPATCH_SWEEP_COLUMNS;
use crate::flows::order_status::returns::RETURN_COLUMNS;
use crate::flows::order_status::shorts;
use crate::flows::shipment_confirmed::SUMMARY_COLUMNS;
use crate::peoplevox::Columns;
use crate::peoplevox::availability::{INVENTORY_COLUMNS, ITEM_INVENTORY_SUMMARY};

/// One report and its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportColumns {
    /// The tenant's report name.
    pub report: String,
    /// Where the name comes from, for the message.
    pub source: &'static str,
    /// Columns a flow cannot do without.
    pub required: Vec<&'static str>,
    /// Columns a flow reads when present.
    pub read: Vec<&'static str>,
    /// The column the readers search by (`[key].Equals(…)`).
    pub key: &'static str,
}

impl ReportColumns {
    /// The columns of every reader of one report: required by one is required.
    fn joined(
        report: String,
        source: &'static str,
        key: &'static str,
        readers: &[Columns],
    ) -> Self {
        let mut required: Vec<&'static str> = Vec::new();
        for name in readers.iter().flat_map(|c| c.required.iter().copied()) {
            if !required.contains(&name) {
                required.push(name);
            }
        }
        let mut read: Vec<&'static str> = Vec::new();
        for name in readers.iter().flat_map(|c| c.read.iter().copied()) {
            if !required.contains(&name) && !read.contains(&name) {
                read.push(name);
            }
        }
        Self {
            report,
            source,
            required,
            read,
            key,
        }
    }

    /// `[A],[B]` of the required columns, for a request.
    pub fn request(&self) -> String {
        self.required
            .iter()
            .map(|c| format!("[{c}]"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// "Item inventory summary": availability per item and site (stock sync).
pub fn inventory() -> ReportColumns {
    ReportColumns::joined(
        ITEM_INVENTORY_SUMMARY.to_string(),
        "stock sync",
        "Item code",
        &[INVENTORY_COLUMNS],
    )
}

/// The despatch and return reports of this configuration.
pub fn despatch_and_returns(config: &Config) -> Vec<ReportColumns> {
    vec![
        ReportColumns::joined(
            config.shipments.summary_report.clone(),
            "shipments.summary_report",
            "Despatch number",
            &[
                SUMMARY_COLUMNS,
                shorts::SUMMARY_COLUMNS,
                DESPATCH_SWEEP_COLUMNS,
            ],
        ),
        ReportColumns::joined(
            config.status.returns.report.clone(),
            "status.returns.report",
            "Return code",
            &[RETURN_COLUMNS],
        ),
    ]
}

/// A header as compared: trimmed, any case (the readers find columns so).
fn folded(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The required and the read columns `headers` lacks.
pub fn lacking(spec: &ReportColumns, headers: &[String]) -> (Vec<&'static str>, Vec<&'static str>) {
    let absent = |names: &[&'static str]| -> Vec<&'static str> {
        names
            .iter()
            .filter(|n| !headers.iter().any(|h| folded(h) == folded(n)))
            .copied()
            .collect()
    };
    (absent(&spec.required), absent(&spec.read))
}

/// The columns of `headers` that no reader asked for.
pub fn extra(spec: &ReportColumns, headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .filter(|h| {
            !spec
                .required
                .iter()
                .chain(&spec.read)
                .any(|n| folded(n) == folded(h))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_joins_its_readers_columns() {
        let config = Config::from_toml(crate::config::MINIMAL_TOML).unwrap();
        let specs = despatch_and_returns(&config);
        let summary = &specs[0];
        assert_eq!(
            summary.required,
            [
                "Despatch number",
                "Salesorder number",
                "Item code",
                "No of items",
                "Despatch date"
            ]
        );
        assert_eq!(summary.read, ["Carrier", "Service", "Tracking number"]);
        assert_eq!(specs[1].report, "Return summary");
    }

    #[test]
    fn lacking_and_extra_columns_are_found_by_name() {
        let headers: Vec<String> = [
            " despatch number",
            "Salesorder number",
            "Item code",
            "Carrier",
            "Email",
        ]
        .map(String::from)
        .to_vec();
        let spec = ReportColumns::joined(
            "Despatch summary".into(),
            "shipments.summary_report",
            "Despatch number",
            &[SUMMARY_COLUMNS],
        );
        assert_eq!(
            lacking(&spec, &headers),
            (
                vec!["No of items"],
                vec!["Service", "Despatch date", "Tracking number"]
            )
        );
        assert_eq!(extra(&spec, &headers), ["Email"]);
    }
}
