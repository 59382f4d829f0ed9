//! GetData (integration templates) and GetReportData (reports): clause filtering, ordering,
//! paging, and RFC 4180 CSV in `Detail` with `TotalCount` = all matches. Only the rows of the
//! page asked for are copied into the answer.

use std::collections::BTreeMap;
use std::ops::Range;

use super::clause::Clause;
use super::config::{
    DESPATCH_PACKAGES, DESPATCH_SUMMARY, ITEM_INVENTORY_SUMMARY, PvxSimConfig, RETURN_SUMMARY,
};
use super::despatch_report::{
    DESPATCH_PACKAGE_COLUMNS, DESPATCH_SUMMARY_COLUMNS, package_records, summary_records,
};
use super::inventory_report::{INVENTORY_COLUMNS, matching_rows};
use super::order_by::OrderBy;
use super::return_report::{RETURN_SUMMARY_COLUMNS, return_records};
use super::row::Row;
use super::soap::Answer;
use super::state::Data;
use super::template_rows::{Exported, Names, matching_records};

type Record = BTreeMap<String, String>;

/// Paging parameters, as sent (PageNo is 1-based; ItemsPerPage 0 = everything).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// `PageNo`.
    pub page_no: i64,
    /// `ItemsPerPage`.
    pub items_per_page: i64,
}

/// One GetData request.
pub fn get_data(
    data: &Data,
    config: &PvxSimConfig,
    template_name: &str,
    paging: Paging,
    search: &str,
) -> Answer {
    let Some(template) = config.template(template_name) else {
        return Answer::error(format!("Template '{template_name}' does not exist"));
    };
    let Some(exported) = Exported::of(template) else {
        return Answer::error(format!(
            "Template '{}' cannot be exported by the simulator",
            template.name
        ));
    };
    // Clauses and CSV use the tenant's field names.
    let names = Names::of(template);
    let header = template.header();
    let clause = match parse_clause(search, &header) {
        Ok(c) => c,
        Err(message) => return Answer::error(message),
    };
    let matching = || matching_records(data, exported, &names, &clause);
    let (page, total) = OrderBy::default().page(matching, window(paging));
    answer(&header, &page, total)
}

/// One GetReportData request.
pub fn get_report_data(
    data: &Data,
    report: &str,
    paging: Paging,
    search: &str,
    filter: &str,
    order_by: &str,
    columns: &str,
) -> Answer {
    let Some(columns_of_report) = report_columns(report) else {
        return Answer::error(format!("Report '{report}' does not exist"));
    };
    let report = report.trim();
    let all: Vec<String> = columns_of_report.iter().map(|c| (*c).to_string()).collect();
    let (search, filter) = match (parse_clause(search, &all), parse_clause(filter, &all)) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(message), _) | (_, Err(message)) => return Answer::error(message),
    };
    let selected = match select_columns(columns, &all) {
        Ok(s) => s,
        Err(message) => return Answer::error(message),
    };
    let order_by = match OrderBy::parse(order_by, &all) {
        Ok(o) => o,
        Err(message) => return Answer::error(message),
    };
    if report.eq_ignore_ascii_case(ITEM_INVENTORY_SUMMARY) {
        // Read in place: the stock map can hold hundreds of thousands of rows.
        let clauses = [&search, &filter];
        let (page, total) = order_by.page(|| matching_rows(data, &clauses), window(paging));
        return answer(&selected, &page, total);
    }
    // One of the other three: `report_columns` knew it.
    let records = if report.eq_ignore_ascii_case(DESPATCH_SUMMARY) {
        summary_records(data)
    } else if report.eq_ignore_ascii_case(DESPATCH_PACKAGES) {
        package_records(data)
    } else {
        return_records(data)
    };
    let matching: Vec<Record> = records
        .into_iter()
        .filter(|r| search.matches(r) && filter.matches(r))
        .collect();
    let (page, total) = order_by.page(|| matching.iter(), window(paging));
    answer(&selected, &page, total)
}

/// The columns of a report the simulator knows (names matched case-insensitively, like
/// template names).
fn report_columns(report: &str) -> Option<&'static [&'static str]> {
    let report = report.trim();
    [
        (ITEM_INVENTORY_SUMMARY, INVENTORY_COLUMNS),
        (DESPATCH_SUMMARY, DESPATCH_SUMMARY_COLUMNS),
        (DESPATCH_PACKAGES, DESPATCH_PACKAGE_COLUMNS),
        (RETURN_SUMMARY, RETURN_SUMMARY_COLUMNS),
    ]
    .into_iter()
    .find(|(name, _)| report.eq_ignore_ascii_case(name))
    .map(|(_, columns)| columns)
}

fn parse_clause(text: &str, fields: &[String]) -> Result<Clause, String> {
    let clause = Clause::parse(text).map_err(|e| format!("Invalid search clause: {e}"))?;
    if let Some(unknown) = clause
        .fields()
        .into_iter()
        .find(|f| !fields.iter().any(|k| k == f))
    {
        return Err(format!("Invalid search clause: unknown field '{unknown}'"));
    }
    Ok(clause)
}

/// `[A],[B]` → the chosen columns, in the order given; empty = all.
fn select_columns(columns: &str, all: &[String]) -> Result<Vec<String>, String> {
    if columns.trim().is_empty() {
        return Ok(all.to_vec());
    }
    columns
        .split(',')
        .map(|c| {
            c.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
        })
        .map(|c| {
            all.iter()
                .find(|k| k.as_str() == c)
                .cloned()
                .ok_or_else(|| format!("Column '{c}' does not exist in the report"))
        })
        .collect()
}

/// The positions of the rows a page holds (PageNo is 1-based; ItemsPerPage 0 = every row).
fn window(paging: Paging) -> Range<usize> {
    if paging.items_per_page <= 0 {
        return 0..usize::MAX;
    }
    let size = paging.items_per_page as usize;
    let start = (paging.page_no.max(1) as usize - 1).saturating_mul(size);
    start..start.saturating_add(size)
}

/// The page as CSV, with `TotalCount` = every matching row.
fn answer<R: Row>(header: &[String], page: &[R], total: usize) -> Answer {
    match to_csv(header, page) {
        Ok(csv) => Answer::ok(total as i64, csv),
        Err(e) => Answer::error(format!("Could not write CSV: {e}")),
    }
}

fn to_csv<R: Row>(header: &[String], rows: &[R]) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        for column in header {
            writer.write_field(row.get(column).unwrap_or_default().as_bytes())?;
        }
        // An empty record ends the one the fields were written to.
        writer.write_record(std::iter::empty::<&[u8]>())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::state::{SimItemType, SimStock};

    #[test]
    fn get_data_filters_and_pages() {
        let config = PvxSimConfig::default();
        let mut data = Data::default();
        for code in ["A", "B", "C"] {
            data.item_types.insert(
                code.into(),
                SimItemType {
                    code: code.into(),
                    fields: Record::from([("Name".to_string(), format!("name, {code}"))]),
                },
            );
        }
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let answer = get_data(
            &data,
            &config,
            "Item types",
            all,
            r#"ItemCode.Equals("A") OR ItemCode.Equals("C")"#,
        );
        assert_eq!(answer.total_count, 2);
        let detail = answer.detail.unwrap();
        assert!(detail.contains("A,\"name, A\""), "{detail}");
        assert!(!detail.contains("\r\nB,"), "{detail}");

        let second = Paging {
            page_no: 2,
            items_per_page: 2,
        };
        let answer = get_data(&data, &config, "Item types", second, "");
        assert_eq!(answer.total_count, 3);
        assert_eq!(answer.detail.unwrap().lines().count(), 2);

        let answer = get_data(&data, &config, "Item types", all, r#"Bogus.Equals("A")"#);
        assert_eq!(answer.response_id, -1);
    }

    #[test]
    fn inventory_report_filters_selects_and_sorts() {
        let mut data = Data::default();
        data.stock
            .insert(("S1".into(), "A".into()), SimStock::new(6, 1));
        data.stock
            .insert(("S1".into(), "B".into()), SimStock::new(10, 0));
        data.stock
            .insert(("S2".into(), "A".into()), SimStock::new(1, 0));
        let answer = get_report_data(
            &data,
            "Item inventory summary",
            Paging {
                page_no: 1,
                items_per_page: 0,
            },
            "",
            r#"([Site reference].Equals("S1"))"#,
            "[Available] desc",
            "[Item code],[Available]",
        );
        assert_eq!(answer.total_count, 2);
        assert_eq!(
            answer.detail.unwrap(),
            "Item code,Available\r\nB,10\r\nA,5\r\n"
        );
    }

    /// Despatches DSP-000001 (2 Dec), DSP-000002 (10 Nov) and DSP-000003 (20 Nov 2026, 09:00),
    /// each of n units of A in two packages.
    fn three_despatches() -> Data {
        use crate::sim::peoplevox::despatch::{SimDespatch, SimDespatchLine, SimPackage};
        use time::macros::datetime;
        let mut data = Data::default();
        for (n, at) in [
            (1, datetime!(2026-12-02 9:00 UTC)),
            (2, datetime!(2026-11-10 9:00 UTC)),
            (3, datetime!(2026-11-20 9:00 UTC)),
        ] {
            let number = format!("DSP-00000{n}");
            data.despatches.insert(
                number.clone(),
                SimDespatch {
                    number,
                    order_number: format!("SO-{n}"),
                    site: "S".into(),
                    carrier: "Royal Mail".into(),
                    service: "Tracked 48".into(),
                    service_type_code: "TRACKED-48".into(),
                    despatch_date: at,
                    lines: vec![SimDespatchLine {
                        item_code: "A".into(),
                        units: n,
                    }],
                    packages: vec![
                        SimPackage {
                            number: 1,
                            tracking: Some(format!("T{n}")),
                            weight_kg: None,
                        };
                        2
                    ],
                },
            );
        }
        data
    }

    #[test]
    fn despatch_reports_search_and_sort_dates_chronologically() {
        let data = three_despatches();
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let answer = get_report_data(
            &data,
            "despatch summary",
            all,
            r#"([Despatch number].Equals("DSP-000001") OR [Despatch number].Equals("DSP-000002"))"#,
            "",
            "[Despatch date] asc",
            "[Despatch number],[Despatch date],[No of items],[Tracking number]",
        );
        assert_eq!(answer.total_count, 2);
        assert_eq!(
            answer.detail.unwrap(),
            "Despatch number,Despatch date,No of items,Tracking number\r\n\
             DSP-000002,'10/11/2026 09:00:00',2,T2\r\n\
             DSP-000001,'02/12/2026 09:00:00',1,T1\r\n"
        );
        let answer = get_report_data(
            &data,
            "Despatch packages",
            all,
            r#"[Salesorder number].Equals("SO-3")"#,
            "",
            "",
            "",
        );
        assert_eq!(answer.total_count, 2, "{:?}", answer.detail);
        let answer = get_report_data(
            &data,
            "Despatch packages",
            all,
            "",
            "",
            "[Weight]",
            "[Bogus]",
        );
        assert_eq!(answer.response_id, -1);
    }

    #[test]
    fn despatch_summary_compares_despatch_dates_with_a_datetime() {
        let data = three_despatches();
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let since = |clause: &str| {
            let answer = get_report_data(
                &data,
                DESPATCH_SUMMARY,
                all,
                clause,
                "",
                "[Despatch date] asc",
                "[Despatch number],[Despatch date]",
            );
            assert_eq!(answer.response_id, 0, "{clause}: {:?}", answer.detail);
            answer.detail.unwrap_or_default()
        };
        assert_eq!(
            since("[Despatch date] >= DateTime(2026,11,20,09,00,00)"),
            "Despatch number,Despatch date\r\n\
             DSP-000003,'20/11/2026 09:00:00'\r\n\
             DSP-000001,'02/12/2026 09:00:00'\r\n"
        );
        assert_eq!(
            since("[Despatch date] > DateTime(2026,11,20,09,00,00) OR [No of items] < 2"),
            "Despatch number,Despatch date\r\nDSP-000001,'02/12/2026 09:00:00'\r\n"
        );
        assert_eq!(
            since(
                "[Despatch date] < DateTime(2026,11,20,09,00,00) AND \
                 [Despatch date] >= DateTime(2026,11,1)"
            ),
            "Despatch number,Despatch date\r\nDSP-000002,'10/11/2026 09:00:00'\r\n"
        );
        assert_eq!(
            since("[Despatch date] <= DateTime(2026,11,9,23,59,59)"),
            "Despatch number,Despatch date\r\n"
        );
        let bad = get_report_data(
            &data,
            DESPATCH_SUMMARY,
            all,
            "[Despatch date] > DateTime(2026,13,1)",
            "",
            "",
            "",
        );
        assert_eq!(bad.response_id, -1);
    }

    #[test]
    fn return_summary_searches_with_single_quotes_and_or() {
        use crate::sim::peoplevox::returns::{ReturnLine, SimReturn};
        use time::macros::datetime;
        let mut data = Data::default();
        for (n, order, items) in [
            (1, "SO-1", vec!["A", "B"]),
            (2, "SO-2", vec!["A"]),
            (3, "SO-3", vec!["C"]),
        ] {
            let code = format!("RET-00000{n}");
            data.returns.insert(
                code.clone(),
                SimReturn {
                    code,
                    order_number: order.into(),
                    site: "S".into(),
                    date: datetime!(2026-12-01 9:00 UTC) - time::Duration::days(n),
                    lines: items
                        .into_iter()
                        .map(|item| ReturnLine {
                            item: item.into(),
                            quantity: n,
                            reason: "Faulty".into(),
                            condition: "Damaged".into(),
                        })
                        .collect(),
                },
            );
        }
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let answer = get_report_data(
            &data,
            "return SUMMARY",
            all,
            "[Sales order number] = 'SO-1' OR [Sales order number] = 'SO-2'",
            "",
            "[Return date] asc, [Item code] desc",
            "[Return code],[Item code],[Quantity],[Return date]",
        );
        assert_eq!(answer.response_id, 0, "{:?}", answer.detail);
        assert_eq!(answer.total_count, 3);
        assert_eq!(
            answer.detail.unwrap(),
            "Return code,Item code,Quantity,Return date\r\n\
             RET-000002,A,2,'29/11/2026 09:00:00'\r\n\
             RET-000001,B,1,'30/11/2026 09:00:00'\r\n\
             RET-000001,A,1,'30/11/2026 09:00:00'\r\n"
        );
        let answer = get_report_data(
            &data,
            "Return summary",
            all,
            "[Return code] = 'RET-000001'",
            r#"[Site reference].Equals("S")"#,
            "",
            "",
        );
        assert_eq!(answer.total_count, 2);
        let detail = answer.detail.unwrap();
        assert!(
            detail.starts_with(
                "Return code,Return date,Quantity,Sales order number,Return reason,\
                 Return condition,Item code,Site reference\r\n\
                 RET-000001,'30/11/2026 09:00:00',1,SO-1,Faulty,Damaged,A,S\r\n"
            ),
            "{detail}"
        );
        let answer = get_report_data(&data, "Return summary", all, "[Bogus] = 'x'", "", "", "");
        assert_eq!(answer.response_id, -1);
    }
}
