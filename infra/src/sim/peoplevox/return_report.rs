//! The "Return summary" report as rows: one per returned line, so that a consumer polling
//! it sees every item, reason and condition. Its columns are Zynk's
//! (zynksoftware/Zynk-Workflow `_docs/Peoplevox-Connector/Peoplevox-Return-XML.md`); dialects
//! whose reports carry no extra columns answer with the connector's first list. Filtering,
//! column selection, ordering and paging are the query module's.

use std::collections::BTreeMap;

use super::despatch_report::item_name;
use super::report_clock::ReportClock;
use super::returns::SimReturn;
use super::state::Data;

/// Columns of "Return summary" as the connector first read it.
pub const RETURN_SUMMARY_COLUMNS: &[&str] = &[
    "Return code",
    "Return date",
    "Quantity",
    "Sales order number",
    "Return reason",
    "Return condition",
    "Item code",
    "Site reference",
];

/// Every column of "Return summary", in Zynk's order.
pub const RETURN_SUMMARY_FULL_COLUMNS: &[&str] = &[
    "Return code",
    "Return date",
    "Quantity",
    "Item name",
    "Sales order number",
    "Despatch date",
    "Return reason",
    "Return condition",
    "Return comments",
    "Days since despatch",
    "Item barcode",
    "Sales order contact name",
    "Customer phone number",
    "Item sale price",
    "Sales order email",
    "Customer purchase order reference number",
    "Channel name",
    "Payment type",
    "Attribute1",
    "Attribute2",
    "Attribute3",
    "Attribute4",
    "Attribute5",
    "Attribute6",
    "Attribute7",
    "Attribute8",
    "Attribute9",
    "Attribute10",
    "Attribute11",
    "Attribute12",
    "Attribute13",
    "Attribute14",
    "Attribute15",
    "Site reference",
    "Is Reusable",
    "Item code",
];

type Record = BTreeMap<String, String>;

/// "Return summary" rows of the returns `wanted` keeps, by return code then the return's line
/// order, with every column of [`RETURN_SUMMARY_FULL_COLUMNS`]. `Return date` shows seconds.
pub fn return_records(
    data: &Data,
    clock: &ReportClock,
    wanted: &dyn Fn(&SimReturn) -> bool,
) -> Vec<Record> {
    data.returns
        .values()
        .filter(|r| wanted(r))
        .flat_map(|r| {
            let order = data.orders.get(&r.order_number);
            let of_order = move |name: &str| {
                order
                    .and_then(|o| o.fields.get(name))
                    .cloned()
                    .unwrap_or_default()
            };
            r.lines.iter().map(move |line| {
                let item = data.item_types.get(&line.item);
                let of_item = |name: &str| {
                    item.and_then(|i| i.fields.get(name))
                        .cloned()
                        .unwrap_or_default()
                };
                // The last despatch of this item on the order before the return.
                let despatched = data
                    .despatches
                    .values()
                    .filter(|d| {
                        d.order_number == r.order_number
                            && d.despatch_date <= r.date
                            && d.units_of(&line.item) > 0
                    })
                    .map(|d| d.despatch_date)
                    .max();
                let sale_price = order
                    .and_then(|o| o.items.iter().find(|i| i.item_code == line.item))
                    .and_then(|i| i.fields.get("SalePrice").cloned())
                    .unwrap_or_default();
                let mut record: Record = [
                    ("Return code", r.code.clone()),
                    ("Return date", clock.seconds(r.date)),
                    ("Quantity", line.quantity.to_string()),
                    ("Item name", item_name(item, &line.item)),
                    ("Sales order number", r.order_number.clone()),
                    (
                        "Despatch date",
                        despatched.map(|at| clock.minutes(at)).unwrap_or_default(),
                    ),
                    ("Return reason", line.reason.clone()),
                    ("Return condition", line.condition.clone()),
                    ("Return comments", String::new()),
                    (
                        "Days since despatch",
                        despatched
                            .map(|at| (r.date - at).whole_days().to_string())
                            .unwrap_or_default(),
                    ),
                    ("Item barcode", of_item("Barcode")),
                    ("Sales order contact name", of_order("ContactName")),
                    ("Customer phone number", String::new()),
                    ("Item sale price", sale_price),
                    ("Sales order email", of_order("Email")),
                    (
                        "Customer purchase order reference number",
                        of_order("CustomerPurchaseOrderReferenceNumber"),
                    ),
                    ("Channel name", of_order("ChannelName")),
                    ("Payment type", of_order("PaymentMethod")),
                    ("Site reference", r.site.clone()),
                    (
                        "Is Reusable",
                        if line.condition.eq_ignore_ascii_case("Damaged") {
                            "False".to_string()
                        } else {
                            "True".to_string()
                        },
                    ),
                    ("Item code", line.item.clone()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                for n in 1..=15 {
                    record.insert(format!("Attribute{n}"), of_item(&format!("Attribute{n}")));
                }
                record
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::returns::ReturnLine;
    use time::macros::datetime;

    #[test]
    fn one_row_per_line_with_every_column() {
        let mut data = Data::default();
        let line = |item: &str, quantity| ReturnLine {
            item: item.into(),
            quantity,
            reason: "Too small".into(),
            condition: "Damaged".into(),
        };
        data.returns.insert(
            "RET-000001".into(),
            SimReturn {
                code: "RET-000001".into(),
                order_number: "SO-1".into(),
                site: "S".into(),
                date: datetime!(2026-12-01 10:00:05 UTC),
                lines: vec![line("A", 2), line("B", 1)],
            },
        );
        let all = |_: &SimReturn| true;
        let records = return_records(&data, &ReportClock::of("Europe/London"), &all);
        assert_eq!(records.len(), 2);
        let mut want = RETURN_SUMMARY_FULL_COLUMNS.to_vec();
        want.sort_unstable();
        for r in &records {
            assert_eq!(r.keys().map(String::as_str).collect::<Vec<_>>(), want);
        }
        assert!(
            RETURN_SUMMARY_COLUMNS
                .iter()
                .all(|c| RETURN_SUMMARY_FULL_COLUMNS.contains(c))
        );
        assert_eq!(records[0]["Return date"], "'01/12/2026 10:00:05'");
        assert_eq!(records[0]["Quantity"], "2");
        assert_eq!(records[1]["Item code"], "B");
        assert_eq!(records[1]["Return condition"], "Damaged");
        assert_eq!(records[1]["Is Reusable"], "False");
    }
}
