//! Reading despatches from Peoplevox: one "Despatch summary" call and one "Despatch packages"
//! call per 100 despatches of a batch (OR'ed search clause), so that despatch reads fit the
//! request budget however many callbacks came in.

use std::collections::BTreeMap;

use crate::config::ShipmentRules;
use crate::domain::despatch::parse_report_date;
use crate::domain::{Despatch, Package};
use crate::peoplevox::search::{report_equals_any_chunks, report_matching};
use crate::peoplevox::{CsvTable, PvxClient, PvxError};

/// Rows per report page: a despatch rarely has more than a few dozen lines.
const PAGE: u32 = 5000;

async fn rows(
    pvx: &PvxClient,
    report: &str,
    numbers: &[String],
) -> Result<Vec<CsvTable>, PvxError> {
    let clauses = report_equals_any_chunks("Despatch number", numbers);
    report_matching(pvx, report, clauses, PAGE).await
}

fn text(table: &CsvTable, row: &[String], column: &str) -> String {
    table.value(row, column).unwrap_or("").trim().to_string()
}

/// The despatches with these numbers that Peoplevox reports; a number it does not report is
/// missing from the map (not despatched yet, or unknown).
pub(super) async fn read(
    pvx: &PvxClient,
    rules: &ShipmentRules,
    numbers: &[String],
) -> Result<BTreeMap<String, Despatch>, PvxError> {
    let mut found: BTreeMap<String, Despatch> = BTreeMap::new();
    for table in rows(pvx, &rules.summary_report, numbers).await? {
        for row in &table.rows {
            let number = text(&table, row, "Despatch number");
            if number.is_empty() {
                continue;
            }
            let despatch = found.entry(number.clone()).or_insert_with(|| Despatch {
                number: number.clone(),
                order_number: text(&table, row, "Salesorder number"),
                carrier: text(&table, row, "Carrier"),
                service: text(&table, row, "Service"),
                despatched_at: parse_report_date(&text(&table, row, "Despatch date")),
                lines: Vec::new(),
                packages: Vec::new(),
            });
            let item = text(&table, row, "Item code");
            let units = text(&table, row, "No of items");
            let units: i64 = units.split('.').next().unwrap_or("").parse().map_err(|_| {
                PvxError::Decode {
                    operation: "GetReportData",
                    reason: format!(
                        "{}: `No of items` of {item} in despatch {number} is `{units}`, not a whole number",
                        rules.summary_report
                    ),
                }
            })?;
            match despatch.lines.iter_mut().find(|(i, _)| *i == item) {
                Some((_, total)) => *total += units,
                None => despatch.lines.push((item, units)),
            }
        }
    }
    let known: Vec<String> = found.keys().cloned().collect();
    if known.is_empty() {
        return Ok(found);
    }
    for table in rows(pvx, &rules.packages_report, &known).await? {
        for row in &table.rows {
            let number = text(&table, row, "Despatch number");
            let Some(despatch) = found.get_mut(&number) else {
                continue;
            };
            let tracking = Some(text(&table, row, "Tracking number")).filter(|t| !t.is_empty());
            let weight_g = text(&table, row, "Weight")
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite() && *w >= 0.0)
                .map(|kg| (kg * 1000.0).round() as i64);
            despatch.packages.push(Package {
                number: text(&table, row, "Package number"),
                tracking,
                weight_g,
            });
        }
    }
    for despatch in found.values_mut() {
        despatch.packages.sort_by(|a, b| a.number.cmp(&b.number));
        despatch.packages.dedup_by(|a, b| a.number == b.number);
    }
    Ok(found)
}
