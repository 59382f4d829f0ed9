//! Reading despatches from Peoplevox, a batch at a time (one paged read per 100 despatches):
//! - "Despatch summary" (one row per item per despatch; Zynk `Peoplevox-Despatch-XML.md`) gives
//!   the lines, the carrier, the date and the tracking number: `Tracking number` is a column of
//!   the summary (GorgonFreeman/bedrock `collabs/collabsFulfillmentSweepRecent.js`,
//!   CorsetStory/PVXMageConnect `classes/pvx_orders.php`);
//! - the "Despatch packages" data template (GetData: finerylondon/peep_conn `constants.rb`
//!   TABLE_NAMES), where the tenant has it, gives the packages; its field names are not public
//!   and are configured (`[shipments.packages]`). A tenant without it is found out once per
//!   process and remembered ([`PackagesTemplate`]).
//!
//! The packages of a despatch are the template's, each tracking number of the summary that no
//! package carries going to an untracked package, then to a package of its own; without a
//! template that is one package per tracking number, or one untracked package while there is
//! none ([`merge`]). Which commercetools parcel each package is, is decided against the order
//! (`parcels.rs`), so that a package seen first through the summary and later through the
//! template stays one parcel.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{PackageTemplate, ShipmentRules};
use crate::domain::{Despatch, Package};
use crate::peoplevox::report::{Columns, KeyFilter, KeyedRead, ReportRows, read_keyed};
use crate::peoplevox::search::{chunks, equals_any};
use crate::peoplevox::{CsvTable, PvxClient, PvxError, ReportZone};

/// The "Despatch summary" columns the shipment flow reads.
pub const SUMMARY_COLUMNS: Columns = Columns {
    required: &[
        "Despatch number",
        "Salesorder number",
        "Item code",
        "No of items",
    ],
    read: &["Carrier", "Service", "Despatch date", "Tracking number"],
};

/// Whether the tenant lacks the packages template, learnt on the first read and kept for the
/// life of the process (a tenant does not grow one between two batches; a new process asks
/// again).
#[derive(Debug, Default)]
pub struct PackagesTemplate {
    absent: AtomicBool,
}

impl PackagesTemplate {
    /// Whether a read found the template missing.
    pub fn known_absent(&self) -> bool {
        self.absent.load(Ordering::Relaxed)
    }
}

/// The despatches with these numbers that Peoplevox reports; a number it does not report is
/// missing from the map (not despatched yet, or unknown).
pub(crate) async fn read(
    pvx: &PvxClient,
    rules: &ShipmentRules,
    template: &PackagesTemplate,
    numbers: &[String],
) -> Result<BTreeMap<String, Despatch>, PvxError> {
    let read = KeyedRead {
        report: &rules.summary_report,
        columns: SUMMARY_COLUMNS,
        filters: vec![KeyFilter {
            column: "Despatch number",
            values: numbers,
        }],
        also: None,
        order_by: "",
    };
    let summary = read_keyed(pvx, &read).await?;
    let (mut found, mut tracking) = from_summary(&summary, pvx.report_zone())?;
    if found.is_empty() {
        return Ok(found);
    }
    let known: Vec<String> = found.keys().cloned().collect();
    let mut packages = read_packages(pvx, &rules.packages, template, &known).await?;
    for (number, despatch) in found.iter_mut() {
        despatch.packages = merge(
            packages.remove(number).unwrap_or_default(),
            &tracking.remove(number).unwrap_or_default(),
        );
    }
    Ok(found)
}

/// Tracking numbers per despatch number.
type TrackingNumbers = BTreeMap<String, Vec<String>>;

/// The despatches of the summary's rows (lines added up per item) and each one's tracking
/// numbers, in order of appearance.
fn from_summary(
    summary: &ReportRows,
    zone: &ReportZone,
) -> Result<(BTreeMap<String, Despatch>, TrackingNumbers), PvxError> {
    let mut found: BTreeMap<String, Despatch> = BTreeMap::new();
    let mut tracking: TrackingNumbers = BTreeMap::new();
    for row in summary.rows() {
        let number = row.get("Despatch number");
        if number.is_empty() {
            continue;
        }
        let despatch = found.entry(number.to_string()).or_insert_with(|| Despatch {
            number: number.to_string(),
            order_number: row.get("Salesorder number").to_string(),
            carrier: row.get("Carrier").to_string(),
            service: row.get("Service").to_string(),
            despatched_at: zone.parse(row.get("Despatch date")),
            lines: Vec::new(),
            packages: Vec::new(),
        });
        let numbers = tracking.entry(number.to_string()).or_default();
        for t in tracking_numbers(row.get("Tracking number")) {
            if !numbers.contains(&t) {
                numbers.push(t);
            }
        }
        let item = row.get("Item code");
        let units_text = row.get("No of items");
        let units = whole(units_text).ok_or_else(|| PvxError::Decode {
            operation: "GetReportData",
            reason: format!(
                "{}: `No of items` of {item} in despatch {number} is `{units_text}`, not a whole number",
                summary.report()
            ),
        })?;
        match despatch.lines.iter_mut().find(|(i, _)| i == item) {
            Some((_, total)) => *total += units,
            None => despatch.lines.push((item.to_string(), units)),
        }
    }
    Ok((found, tracking))
}

/// The tracking numbers of a summary cell: a despatch of several packages may list several,
/// separated by commas, semicolons or line breaks (UNCONFIRMED how a tenant lists them; a
/// single number is the documented case). Spaces do not separate: carriers print numbers with
/// them (`AB 1234 5678 9GB`), which stay one number, as written.
pub fn tracking_numbers(cell: &str) -> Vec<String> {
    let mut numbers: Vec<String> = Vec::new();
    for t in cell
        .split([',', ';', '\n', '\r'])
        .map(|t| t.trim().trim_matches('\'').trim().to_string())
        .filter(|t| !t.is_empty())
    {
        if !numbers.contains(&t) {
            numbers.push(t);
        }
    }
    numbers
}

/// `3`, `3.00`: reports render counts with a zero fraction on some tenants. A negative count
/// is no despatched quantity: refused, never booked as a negative delivery.
fn whole(text: &str) -> Option<i64> {
    let units = match text.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int.parse().ok(),
        Some(_) => None,
        None => text.parse().ok(),
    };
    units.filter(|u: &i64| *u >= 0)
}

/// The packages of these despatches from the template, by despatch number; none when no
/// template is configured or the tenant has none.
async fn read_packages(
    pvx: &PvxClient,
    config: &PackageTemplate,
    template: &PackagesTemplate,
    numbers: &[String],
) -> Result<BTreeMap<String, Vec<Package>>, PvxError> {
    let mut found: BTreeMap<String, Vec<Package>> = BTreeMap::new();
    let name = config.template.trim();
    if name.is_empty() || template.known_absent() {
        return Ok(found);
    }
    for chunk in chunks(numbers) {
        let clause = equals_any(config.despatch_number_field.trim(), chunk);
        let table = match pvx.get_data_all(name, &clause).await {
            Ok(table) => table,
            Err(e) if names_a_missing_template(&e) => {
                template.absent.store(true, Ordering::Relaxed);
                tracing::warn!(
                    template = name,
                    error = %e,
                    "Peoplevox has no packages template: parcels come from the despatch summary's tracking numbers"
                );
                return Ok(BTreeMap::new());
            }
            Err(e) => {
                tracing::warn!(
                    template = name,
                    error = %e,
                    "reading the packages template failed (see [shipments.packages])"
                );
                return Err(e);
            }
        };
        let wanted: BTreeSet<&str> = chunk.iter().map(|n| n.trim()).collect();
        for (number, package) in packages_of(config, &table)? {
            if wanted.contains(number.as_str()) {
                found.entry(number).or_default().push(package);
            }
        }
    }
    Ok(found)
}

/// Whether Peoplevox refused a read because the template does not exist (the simulator says
/// "Template '…' does not exist"; the live wording is UNCONFIRMED, so the usual phrasings are
/// accepted).
pub fn names_a_missing_template(e: &PvxError) -> bool {
    let PvxError::Api { detail, .. } = e else {
        return false;
    };
    let detail = detail.to_lowercase();
    detail.contains("template")
        && [
            "not exist",
            "doesn't exist",
            "not found",
            "unknown template",
            "invalid template",
            "no template",
            "not valid",
        ]
        .iter()
        .any(|phrase| detail.contains(phrase))
}

/// `(despatch number, package)` of each record of the template; its fields found by name
/// (trimmed, any case). A record without a package name is numbered by its place among its
/// despatch's records.
fn packages_of(
    config: &PackageTemplate,
    table: &CsvTable,
) -> Result<Vec<(String, Package)>, PvxError> {
    if table.rows.is_empty() {
        return Ok(Vec::new());
    }
    let field = |name: &str| -> Option<usize> {
        let name = name.trim().to_lowercase();
        (!name.is_empty())
            .then(|| {
                table
                    .headers
                    .iter()
                    .position(|h| h.trim().to_lowercase() == name)
            })
            .flatten()
    };
    let required = |key: &str, name: &str| {
        field(name).ok_or_else(|| PvxError::Decode {
            operation: "GetData",
            reason: format!(
                "template \"{}\" has no field `{name}` (its fields: {}); set shipments.packages.{key}",
                config.template,
                table.headers.join(", ")
            ),
        })
    };
    let despatch_at = required("despatch_number_field", &config.despatch_number_field)?;
    let package_at = required("package_number_field", &config.package_number_field)?;
    let tracking_at = field(&config.tracking_number_field);
    let weight_at = field(&config.weight_field);
    let value = |row: &[String], at: Option<usize>| -> String {
        at.and_then(|i| row.get(i))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut packages = Vec::new();
    for row in &table.rows {
        let despatch = value(row, Some(despatch_at));
        if despatch.is_empty() {
            continue;
        }
        let place = seen.entry(despatch.clone()).or_default();
        *place += 1;
        let mut number = value(row, Some(package_at));
        if number.is_empty() {
            number = place.to_string();
        }
        let tracking = Some(value(row, tracking_at)).filter(|t| !t.is_empty());
        let weight_g = value(row, weight_at)
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .map(|w| (w * config.weight_unit.grams()).round() as i64);
        packages.push((
            despatch,
            Package {
                number,
                tracking,
                weight_g,
            },
        ));
    }
    Ok(packages)
}

/// A despatch's packages: the template's (one per package name, in name order), each of the
/// summary's tracking numbers that none of them carries given to an untracked one, then to a
/// package of its own (numbered with the first free ordinal); one untracked package when there
/// is nothing at all, since a despatch has at least one parcel.
pub fn merge(mut packages: Vec<Package>, summary_tracking: &[String]) -> Vec<Package> {
    packages.sort_by(|a, b| by_number(&a.number, &b.number));
    // One record per package, the one with a tracking number preferred.
    let mut unique: Vec<Package> = Vec::with_capacity(packages.len());
    for package in packages {
        match unique.iter_mut().find(|p| p.number == package.number) {
            Some(p) if p.tracking.is_none() => *p = package,
            Some(_) => {}
            None => unique.push(package),
        }
    }
    let carried: BTreeSet<String> = unique.iter().filter_map(|p| p.tracking.clone()).collect();
    let mut left = summary_tracking
        .iter()
        .filter(|t| !carried.contains(*t))
        .cloned();
    for package in unique.iter_mut().filter(|p| p.tracking.is_none()) {
        match left.next() {
            Some(t) => package.tracking = Some(t),
            None => break,
        }
    }
    for t in left {
        let number = (1..)
            .map(|n: usize| n.to_string())
            .find(|n| !unique.iter().any(|p| &p.number == n))
            .unwrap_or_default();
        unique.push(Package {
            number,
            tracking: Some(t),
            weight_g: None,
        });
    }
    if unique.is_empty() {
        unique.push(Package {
            number: "1".into(),
            tracking: None,
            weight_g: None,
        });
    }
    unique
}

/// Package names in order: numerically when both are whole numbers (2 before 10).
fn by_number(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(number: &str, tracking: Option<&str>) -> Package {
        Package {
            number: number.into(),
            tracking: tracking.map(str::to_string),
            weight_g: None,
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_summary_cell_may_hold_several_tracking_numbers() {
        assert_eq!(tracking_numbers("RM1GB"), ["RM1GB"]);
        assert_eq!(
            tracking_numbers(" A1, B2;C3\nD4,A1 "),
            ["A1", "B2", "C3", "D4"]
        );
        assert_eq!(tracking_numbers("AB 1234 5678 9GB"), ["AB 1234 5678 9GB"]);
        assert_eq!(whole("-2"), None);
        assert_eq!(whole("3.00"), Some(3));
        assert!(tracking_numbers(" ").is_empty());
    }

    #[test]
    fn without_a_template_each_tracking_number_is_a_package() {
        assert_eq!(
            merge(Vec::new(), &strings(&["T1", "T2"])),
            [package("1", Some("T1")), package("2", Some("T2"))]
        );
        assert_eq!(merge(Vec::new(), &[]), [package("1", None)]);
    }

    #[test]
    fn the_summary_fills_untracked_template_packages_and_adds_the_rest() {
        let template = vec![
            package("2", None),
            package("10", Some("T9")),
            package("1", None),
        ];
        assert_eq!(
            merge(template, &strings(&["T9", "T1", "T2", "T3"])),
            [
                package("1", Some("T1")),
                package("2", Some("T2")),
                package("10", Some("T9")),
                package("3", Some("T3")),
            ]
        );
        // A package listed twice is one, with its tracking number.
        assert_eq!(
            merge(vec![package("1", None), package("1", Some("T"))], &[]),
            [package("1", Some("T"))]
        );
    }

    #[test]
    fn packages_are_read_by_the_configured_field_names() {
        let config = PackageTemplate {
            despatch_number_field: "Despatch.DespatchNumber".into(),
            package_number_field: "PackageNumber".into(),
            tracking_number_field: "PackageTrackingNumber".into(),
            weight_field: "PackageWeight".into(),
            ..PackageTemplate::default()
        };
        let table = CsvTable {
            headers: strings(&[
                "PackageNumber",
                " despatch.despatchnumber ",
                "PackageWeight",
                "PackageTrackingNumber",
            ]),
            rows: vec![
                strings(&["1", "D1", "1.25", "T1"]),
                strings(&["", "D1", "", ""]),
            ],
        };
        let found = packages_of(&config, &table).unwrap();
        assert_eq!(found[0].0, "D1");
        assert_eq!(
            found[0].1,
            Package {
                number: "1".into(),
                tracking: Some("T1".into()),
                weight_g: Some(1250)
            }
        );
        assert_eq!(found[1].1, package("2", None));
        let e = packages_of(&PackageTemplate::default(), &table)
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no field `DespatchNumber`"), "{e}");
        assert!(
            e.contains("shipments.packages.despatch_number_field"),
            "{e}"
        );
    }

    #[test]
    fn only_a_missing_template_counts_as_absent() {
        let api = |detail: &str| PvxError::Api {
            operation: "GetData",
            detail: detail.into(),
        };
        assert!(names_a_missing_template(&api(
            "Template 'Despatch packages' does not exist"
        )));
        assert!(!names_a_missing_template(&api(
            "Invalid search clause: unknown field 'DespatchNumber'"
        )));
        assert!(!names_a_missing_template(&PvxError::Timeout {
            timeout_ms: 1
        }));
    }
}
