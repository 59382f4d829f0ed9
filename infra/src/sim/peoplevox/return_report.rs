//! The "Return summary" report as rows: one per returned line, so that a consumer polling
//! it sees every item, reason and condition (UNCONFIRMED report and column names: the real
//! report's are not public; these follow the despatch reports' style). Filtering, column
//! selection, ordering and paging are the query module's.

use std::collections::BTreeMap;

use super::despatch_report::report_date;
use super::state::Data;

/// Columns of "Return summary", in the order the simulator returns them.
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

type Record = BTreeMap<String, String>;

/// "Return summary" rows, by return code then the return's line order. `Return date` is
/// rendered like every report date (see [`report_date`]).
pub fn return_records(data: &Data) -> Vec<Record> {
    data.returns
        .values()
        .flat_map(|r| {
            r.lines.iter().map(move |line| {
                [
                    ("Return code", r.code.clone()),
                    ("Return date", report_date(r.date)),
                    ("Quantity", line.quantity.to_string()),
                    ("Sales order number", r.order_number.clone()),
                    ("Return reason", line.reason.clone()),
                    ("Return condition", line.condition.clone()),
                    ("Item code", line.item.clone()),
                    ("Site reference", r.site.clone()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::returns::{ReturnLine, SimReturn};
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
        let records = return_records(&data);
        assert_eq!(records.len(), 2);
        let mut want = RETURN_SUMMARY_COLUMNS.to_vec();
        want.sort_unstable();
        for r in &records {
            assert_eq!(r.keys().map(String::as_str).collect::<Vec<_>>(), want);
        }
        assert_eq!(records[0]["Return date"], "'01/12/2026 10:00:05'");
        assert_eq!(records[0]["Quantity"], "2");
        assert_eq!(records[1]["Item code"], "B");
        assert_eq!(records[1]["Return condition"], "Damaged");
    }
}
