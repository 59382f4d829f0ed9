//! The despatch reports as rows: "Despatch summary" (one row per item per despatch; Zynk's
//! columns, which are the ones the connector reads) and "Despatch packages" (one row per
//! package; UNCONFIRMED column names: the real report's are not public). Filtering,
//! column selection, ordering and paging are the query module's.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::macros::format_description;

use super::despatch::SimDespatch;
use super::state::Data;

/// Columns of "Despatch summary", in the order the simulator returns them.
pub const DESPATCH_SUMMARY_COLUMNS: &[&str] = &[
    "Salesorder number",
    "Despatch number",
    "Carrier",
    "Service",
    "Service type code",
    "Despatch date",
    "Tracking number",
    "Item code",
    "No of items",
    "Site reference",
];

/// Columns of "Despatch packages" (UNCONFIRMED names).
pub const DESPATCH_PACKAGE_COLUMNS: &[&str] = &[
    "Despatch number",
    "Salesorder number",
    "Package number",
    "Tracking number",
    "Weight",
    "Carrier",
    "Despatch date",
];

type Record = BTreeMap<String, String>;

/// A date as Peoplevox reports render it: single-quoted, day first, to the second
/// (`'26/11/2026 10:52:21'`; Zynk and esb both strip the quotes). UTC, because the tenant's
/// own time zone is UNCONFIRMED.
pub fn report_date(at: OffsetDateTime) -> String {
    let text = at
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[day]/[month]/[year] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("'{text}'")
}

/// "Despatch summary" rows, by despatch number then the despatch's line order. Its
/// `Tracking number` is the despatch's (see [`SimDespatch::tracking_number`]), empty when
/// no package has one yet.
pub fn summary_records(data: &Data) -> Vec<Record> {
    data.despatches
        .values()
        .flat_map(|d| {
            d.lines.iter().map(move |line| {
                record([
                    ("Salesorder number", d.order_number.clone()),
                    ("Despatch number", d.number.clone()),
                    ("Carrier", d.carrier.clone()),
                    ("Service", d.service.clone()),
                    ("Service type code", d.service_type_code.clone()),
                    ("Despatch date", report_date(d.despatch_date)),
                    ("Tracking number", tracking(d)),
                    ("Item code", line.item_code.clone()),
                    ("No of items", line.units.to_string()),
                    ("Site reference", d.site.clone()),
                ])
            })
        })
        .collect()
}

/// "Despatch packages" rows, by despatch number then package number. `Weight` is in kg,
/// as a plain decimal (UNCONFIRMED unit and format), empty when unknown.
pub fn package_records(data: &Data) -> Vec<Record> {
    data.despatches
        .values()
        .flat_map(|d| {
            d.packages.iter().map(move |p| {
                record([
                    ("Despatch number", d.number.clone()),
                    ("Salesorder number", d.order_number.clone()),
                    ("Package number", p.number.to_string()),
                    ("Tracking number", p.tracking.clone().unwrap_or_default()),
                    (
                        "Weight",
                        p.weight_kg.map(|w| w.to_string()).unwrap_or_default(),
                    ),
                    ("Carrier", d.carrier.clone()),
                    ("Despatch date", report_date(d.despatch_date)),
                ])
            })
        })
        .collect()
}

fn tracking(despatch: &SimDespatch) -> String {
    despatch.tracking_number().unwrap_or_default().to_string()
}

fn record<const N: usize>(pairs: [(&str, String); N]) -> Record {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_are_quoted_day_first_in_utc() {
        assert_eq!(
            report_date(datetime!(2026-11-26 11:52:21.9 +01:00)),
            "'26/11/2026 10:52:21'"
        );
        assert_eq!(
            report_date(datetime!(2026-01-02 3:04:05 UTC)),
            "'02/01/2026 03:04:05'"
        );
    }

    #[test]
    fn every_record_has_every_column() {
        use crate::sim::peoplevox::despatch::{SimDespatchLine, SimPackage};
        let mut data = Data::default();
        let line = |item: &str| SimDespatchLine {
            item_code: item.into(),
            units: 2,
        };
        data.despatches.insert(
            "DSP-000001".into(),
            SimDespatch {
                number: "DSP-000001".into(),
                order_number: "SO-1".into(),
                site: "S".into(),
                carrier: "Royal Mail".into(),
                service: "Tracked 48".into(),
                service_type_code: "TRACKED-48".into(),
                despatch_date: datetime!(2026-11-26 10:52:21 UTC),
                lines: vec![line("A"), line("B")],
                packages: vec![SimPackage {
                    number: 1,
                    tracking: None,
                    weight_kg: Some(1.25),
                }],
            },
        );
        let summary = summary_records(&data);
        assert_eq!(summary.len(), 2);
        for (records, columns) in [
            (&summary, DESPATCH_SUMMARY_COLUMNS),
            (&package_records(&data), DESPATCH_PACKAGE_COLUMNS),
        ] {
            for r in records.iter() {
                let keys: Vec<&str> = r.keys().map(String::as_str).collect();
                let mut want = columns.to_vec();
                want.sort_unstable();
                assert_eq!(keys, want);
            }
        }
        assert_eq!(summary[1]["Item code"], "B");
        assert_eq!(summary[1]["Tracking number"], "");
        assert_eq!(package_records(&data)[0]["Weight"], "1.25");
    }
}
