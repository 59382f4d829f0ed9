//! The despatch data as rows: "Despatch summary" (one row per item per despatch), the
//! "Despatch packages" report of the `wsdl-2017` dialect (one row per package; UNCONFIRMED
//! column names), and the "Despatch packages" data template of the `strict` dialect (one record
//! per package; its field names are not public, see `config.rs`). Filtering, column
//! selection, ordering and paging are the query module's.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::despatch::{SimDespatch, SimDespatchLine};
use super::report_clock::ReportClock;
use super::row::Row;
use super::state::{Data, SimItemType};

/// Columns of "Despatch summary" as the connector first read it: the dialects whose reports
/// carry no extra columns answer with these.
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

/// Every column of "Despatch summary", in the order Zynk lists them
/// (zynksoftware/Zynk-Workflow `_docs/Peoplevox-Connector/Peoplevox-Despatch-XML.md`): the
/// dialects whose reports carry extra columns answer with these.
pub const DESPATCH_SUMMARY_FULL_COLUMNS: &[&str] = &[
    "Salesorder number",
    "Requested delivery date",
    "Despatch number",
    "Carrier",
    "Service",
    "Despatch date",
    "Tracking number",
    "Item name",
    "No of items",
    "Destination country",
    "Site reference",
    "Parent",
    "Item code",
    "Username",
    "Carrier reference",
    "Service type code",
    "Customer order reference",
    "Shipping cost",
    "Email",
    "Contact name",
    "Total sale",
    "Discount",
    "Tax paid",
    "Channel name",
    "Sales order attribute 1",
    "Sales order attribute 2",
    "Sales order attribute 3",
    "Sales order attribute 4",
    "Sales order attribute 5",
    "Item barcode",
    "Item description",
    "Default suppliers part number",
    "Item buy price",
    "Item wholesale price",
    "Item retail price",
    "Item weight",
    "Item height",
    "Item width",
    "Item depth",
    "Item tags",
    "Item attribute 1",
    "Item attribute 2",
    "Item attribute 3",
    "Item attribute 4",
    "Item attribute 5",
    "Item attribute 6",
    "Item attribute 7",
    "Item attribute 8",
    "Item attribute 9",
    "Item attribute 10",
    "Item attribute 11",
    "Item attribute 12",
    "Item attribute 13",
    "Item attribute 14",
    "Item attribute 15",
];

/// Columns of the "Despatch packages" report (dialect `wsdl-2017`; UNCONFIRMED names).
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

/// The user the simulated warehouse despatches as (`Username`).
const DESPATCHER: &str = "warehouse";

/// One row of "Despatch summary": a line of a despatch, every column of
/// [`DESPATCH_SUMMARY_FULL_COLUMNS`] computed when it is read (a tenant that ignores the
/// search clause answers every despatch ever made, and only a page of them is written).
#[derive(Debug, Clone, Copy)]
pub struct SummaryRow<'a> {
    data: &'a Data,
    clock: &'a ReportClock,
    despatch: &'a SimDespatch,
    line: &'a SimDespatchLine,
}

/// "Despatch summary" rows of the despatches `wanted` keeps, by despatch number then the
/// despatch's line order.
pub fn summary_rows<'a>(
    data: &'a Data,
    clock: &'a ReportClock,
    wanted: &'a dyn Fn(&SimDespatch) -> bool,
) -> impl Iterator<Item = SummaryRow<'a>> + 'a {
    data.despatches
        .values()
        .filter(move |d| wanted(d))
        .flat_map(move |despatch| {
            despatch.lines.iter().map(move |line| SummaryRow {
                data,
                clock,
                despatch,
                line,
            })
        })
}

impl Row for SummaryRow<'_> {
    /// `Tracking number` is every tracking number the despatch's packages have, in package
    /// order, joined by `, ` (one in the usual single-package despatch; UNCONFIRMED how
    /// Peoplevox lists several), empty while none has one.
    fn get(&self, column: &str) -> Option<Cow<'_, str>> {
        let d = self.despatch;
        let order = self.data.orders.get(&d.order_number);
        let item = self.data.item_types.get(&self.line.item_code);
        let of_order = |name: &str| Some(field(order.map(|o| &o.fields), name));
        let of_item = |name: &str| Some(field(item.map(|i| &i.fields), name));
        match column {
            "Salesorder number" => borrowed(&d.order_number),
            "Requested delivery date" => {
                Some(Cow::Owned(import_date(&of_order("RequestedDeliveryDate")?)))
            }
            "Despatch number" => borrowed(&d.number),
            "Carrier" => borrowed(&d.carrier),
            "Service" => borrowed(&d.service),
            "Despatch date" => Some(Cow::Owned(self.clock.minutes(d.despatch_date))),
            "Tracking number" => Some(Cow::Owned(tracking(d))),
            "Item name" => Some(Cow::Owned(item_name(item, &self.line.item_code))),
            "No of items" => Some(Cow::Owned(self.line.units.to_string())),
            "Destination country" => of_order("ShippingAddressCountry"),
            "Site reference" => borrowed(&d.site),
            "Parent" | "Carrier reference" | "Default suppliers part number" => {
                Some(Cow::Borrowed(""))
            }
            "Item code" => borrowed(&self.line.item_code),
            "Username" => Some(Cow::Borrowed(DESPATCHER)),
            "Service type code" => borrowed(&d.service_type_code),
            "Customer order reference" => of_order("CustomerPurchaseOrderReferenceNumber"),
            "Shipping cost" => of_order("ShippingCost"),
            "Email" => of_order("Email"),
            "Contact name" => of_order("ContactName"),
            "Total sale" => of_order("TotalSale"),
            "Discount" => of_order("Discount"),
            "Tax paid" => of_order("TaxPaid"),
            "Channel name" => of_order("ChannelName"),
            "Item barcode" => of_item("Barcode"),
            "Item description" => of_item("Description"),
            "Item buy price" => of_item("BuyPrice"),
            "Item wholesale price" => of_item("WholesalePrice"),
            "Item retail price" => of_item("RetailPrice"),
            "Item weight" => of_item("Weight"),
            "Item height" => of_item("Height"),
            "Item width" => of_item("Width"),
            "Item depth" => of_item("Depth"),
            "Item tags" => of_item("Tags"),
            other => {
                let numbered = |prefix: &str, most: u8| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|n| n.parse::<u8>().ok())
                        .filter(|n| (1..=most).contains(n))
                };
                if let Some(n) = numbered("Sales order attribute ", 5) {
                    of_order(&format!("Attribute{n}"))
                } else if let Some(n) = numbered("Item attribute ", 15) {
                    of_item(&format!("Attribute{n}"))
                } else {
                    None
                }
            }
        }
    }
}

/// "Despatch packages" report rows (dialect `wsdl-2017`) of the despatches `wanted` keeps, by
/// despatch number then package number. `Weight` is in kg, as a plain decimal (UNCONFIRMED
/// unit and format), empty when unknown.
pub fn package_records(
    data: &Data,
    clock: &ReportClock,
    wanted: &dyn Fn(&SimDespatch) -> bool,
) -> Vec<Record> {
    data.despatches
        .values()
        .filter(|d| wanted(d))
        .flat_map(|d| {
            d.packages.iter().map(move |p| {
                record([
                    ("Despatch number", d.number.clone()),
                    ("Salesorder number", d.order_number.clone()),
                    ("Package number", p.number.to_string()),
                    ("Tracking number", p.tracking.clone().unwrap_or_default()),
                    ("Weight", weight(p.weight_kg)),
                    ("Carrier", d.carrier.clone()),
                    ("Despatch date", clock.minutes(d.despatch_date)),
                ])
            })
        })
        .collect()
}

/// "Despatch packages" template records (dialect `strict`) of the despatches `wanted` keeps,
/// under the canonical names of `config::DESPATCH_PACKAGE_TEMPLATE_FIELDS`, by despatch
/// number then package number.
pub fn package_template_records(data: &Data, wanted: &dyn Fn(&SimDespatch) -> bool) -> Vec<Record> {
    data.despatches
        .values()
        .filter(|d| wanted(d))
        .flat_map(|d| {
            d.packages.iter().map(move |p| {
                record([
                    ("DespatchNumber", d.number.clone()),
                    ("SalesOrderNumber", d.order_number.clone()),
                    ("PackageNumber", p.number.to_string()),
                    ("TrackingNumber", p.tracking.clone().unwrap_or_default()),
                    ("Weight", weight(p.weight_kg)),
                    ("Carrier", d.carrier.clone()),
                ])
            })
        })
        .collect()
}

fn weight(kg: Option<f64>) -> String {
    kg.map(|w| w.to_string()).unwrap_or_default()
}

fn tracking(despatch: &SimDespatch) -> String {
    let mut numbers: Vec<&str> = Vec::new();
    for t in despatch
        .packages
        .iter()
        .filter_map(|p| p.tracking.as_deref())
    {
        if !numbers.contains(&t) {
            numbers.push(t);
        }
    }
    numbers.join(", ")
}

fn borrowed(value: &str) -> Option<Cow<'_, str>> {
    Some(Cow::Borrowed(value))
}

/// A field of an order or item type, empty when either is missing.
fn field<'a>(fields: Option<&'a BTreeMap<String, String>>, name: &str) -> Cow<'a, str> {
    Cow::Borrowed(fields.and_then(|f| f.get(name)).map_or("", String::as_str))
}

/// The item's `Name`, else its code.
pub fn item_name(item: Option<&SimItemType>, code: &str) -> String {
    item.and_then(|i| i.fields.get("Name"))
        .filter(|n| !n.is_empty())
        .cloned()
        .unwrap_or_else(|| code.to_string())
}

/// An imported `yyyy-MM-dd HH:mm:ss` (Zynk's import format) as a report renders dates; the
/// import is taken as the tenant's wall clock already, so only the layout changes. Empty or
/// unreadable stays as it is.
fn import_date(text: &str) -> String {
    let text = text.trim();
    let (date, clock) = text.split_once(' ').unwrap_or((text, "00:00:00"));
    let mut parts = date.split('-');
    match (parts.next(), parts.next(), parts.next(), clock.get(..5)) {
        (Some(y), Some(m), Some(d), Some(hm)) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            format!("'{d}/{m}/{y} {hm}'")
        }
        _ => text.to_string(),
    }
}

fn record<const N: usize>(pairs: [(&str, String); N]) -> Record {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::state::SimSalesOrder;
    use time::macros::datetime;

    #[test]
    fn every_record_has_every_column() {
        use crate::sim::peoplevox::despatch::SimPackage;
        let mut data = Data::default();
        let line = |item: &str| SimDespatchLine {
            item_code: item.into(),
            units: 2,
        };
        data.orders.insert(
            "SO-1".into(),
            SimSalesOrder {
                number: "SO-1".into(),
                site: "S".into(),
                fields: BTreeMap::from([
                    ("Email".to_string(), "ann@example.com".to_string()),
                    (
                        "RequestedDeliveryDate".to_string(),
                        "2026-11-27 09:30:00".to_string(),
                    ),
                    ("ShippingAddressCountry".to_string(), "GB".to_string()),
                ]),
                items: Vec::new(),
            },
        );
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
                packages: vec![
                    SimPackage {
                        number: 1,
                        tracking: None,
                        weight_kg: Some(1.25),
                    },
                    SimPackage {
                        number: 2,
                        tracking: Some("T2".into()),
                        weight_kg: None,
                    },
                    SimPackage {
                        number: 3,
                        tracking: Some("T3".into()),
                        weight_kg: None,
                    },
                ],
            },
        );
        let all = |_: &SimDespatch| true;
        let clock = ReportClock::of("UTC");
        let summary: Vec<Record> = summary_rows(&data, &clock, &all)
            .map(|row| {
                DESPATCH_SUMMARY_FULL_COLUMNS
                    .iter()
                    .map(|c| {
                        let value = row.get(c).unwrap_or_else(|| panic!("no {c}"));
                        (c.to_string(), value.into_owned())
                    })
                    .collect()
            })
            .collect();
        assert_eq!(summary.len(), 2);
        let template: Vec<&str> = crate::sim::peoplevox::config::DESPATCH_PACKAGE_TEMPLATE_FIELDS
            .iter()
            .map(|(canonical, _)| *canonical)
            .collect();
        for (records, columns) in [
            (&summary, DESPATCH_SUMMARY_FULL_COLUMNS),
            (
                &package_records(&data, &clock, &all),
                DESPATCH_PACKAGE_COLUMNS,
            ),
            (&package_template_records(&data, &all), template.as_slice()),
        ] {
            for r in records.iter() {
                let keys: Vec<&str> = r.keys().map(String::as_str).collect();
                let mut want = columns.to_vec();
                want.sort_unstable();
                assert_eq!(keys, want);
            }
        }
        assert!(
            DESPATCH_SUMMARY_COLUMNS
                .iter()
                .all(|c| DESPATCH_SUMMARY_FULL_COLUMNS.contains(c))
        );
        assert_eq!(summary[1]["Item code"], "B");
        assert_eq!(summary[1]["Item name"], "B");
        assert_eq!(summary[1]["Tracking number"], "T2, T3");
        assert_eq!(summary[0]["Despatch date"], "'26/11/2026 10:52'");
        assert_eq!(summary[0]["Requested delivery date"], "'27/11/2026 09:30'");
        assert_eq!(summary[0]["Email"], "ann@example.com");
        assert_eq!(summary[0]["Destination country"], "GB");
        assert_eq!(package_records(&data, &clock, &all)[0]["Weight"], "1.25");
        let none = |_: &SimDespatch| false;
        assert_eq!(summary_rows(&data, &clock, &none).count(), 0);
    }
}
