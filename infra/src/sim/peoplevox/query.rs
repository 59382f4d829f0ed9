//! GetData (integration templates) and GetReportData (reports): clause filtering, paging,
//! and RFC 4180 CSV in `Detail` with `TotalCount` = all matches.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::clause::Clause;
use super::config::{
    DESPATCH_PACKAGES, DESPATCH_SUMMARY, ITEM_INVENTORY_SUMMARY, ITEM_TYPES, PvxSimConfig,
    RETURN_SUMMARY, SALES_ORDER_ITEMS, SALES_ORDERS,
};
use super::despatch_report::{
    DESPATCH_PACKAGE_COLUMNS, DESPATCH_SUMMARY_COLUMNS, package_records, summary_records,
};
use super::return_report::{RETURN_SUMMARY_COLUMNS, return_records};
use super::soap::Answer;
use super::state::Data;

/// Columns of the "Item inventory summary" report.
pub const INVENTORY_COLUMNS: &[&str] = &["Item code", "Available", "On hand", "Site reference"];

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
    let canonical_records: Vec<Record> = if template.name.eq_ignore_ascii_case(SALES_ORDERS) {
        data.orders
            .values()
            .map(|o| {
                let mut r = o.fields.clone();
                r.insert("SalesOrderNumber".into(), o.number.clone());
                r.insert("Site".into(), o.site.clone());
                r
            })
            .collect()
    } else if template.name.eq_ignore_ascii_case(SALES_ORDER_ITEMS) {
        data.orders
            .values()
            .flat_map(|o| {
                o.items.iter().map(|i| {
                    let mut r = i.fields.clone();
                    r.insert("SalesOrderNumber".into(), o.number.clone());
                    r.insert("ItemCode".into(), i.item_code.clone());
                    r.insert("QuantityOrdered".into(), i.quantity.clone());
                    r
                })
            })
            .collect()
    } else if template.name.eq_ignore_ascii_case(ITEM_TYPES) {
        data.item_types
            .values()
            .map(|i| {
                let mut r = i.fields.clone();
                r.insert("ItemCode".into(), i.code.clone());
                r
            })
            .collect()
    } else {
        return Answer::error(format!(
            "Template '{}' cannot be exported by the simulator",
            template.name
        ));
    };
    // Clauses and CSV use the tenant's field names.
    let records: Vec<Record> = canonical_records
        .iter()
        .map(|c| {
            template
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        c.get(&f.canonical).cloned().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .collect();
    let header = template.header();
    let clause = match parse_clause(search, &header) {
        Ok(c) => c,
        Err(message) => return Answer::error(message),
    };
    let matching: Vec<Record> = records.into_iter().filter(|r| clause.matches(r)).collect();
    answer(&header, matching, paging)
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
    let Some((columns_of_report, records)) = report_records(data, report) else {
        return Answer::error(format!("Report '{report}' does not exist"));
    };
    let all: Vec<String> = columns_of_report.iter().map(|c| (*c).to_string()).collect();
    let (search, filter) = match (parse_clause(search, &all), parse_clause(filter, &all)) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(message), _) | (_, Err(message)) => return Answer::error(message),
    };
    let selected = match select_columns(columns, &all) {
        Ok(s) => s,
        Err(message) => return Answer::error(message),
    };
    let mut matching: Vec<Record> = records
        .into_iter()
        .filter(|r| search.matches(r) && filter.matches(r))
        .collect();
    if let Err(message) = sort(&mut matching, order_by, &all) {
        return Answer::error(message);
    }
    answer(&selected, matching, paging)
}

/// The columns and every row of a report the simulator knows (names matched
/// case-insensitively, like template names).
fn report_records(data: &Data, report: &str) -> Option<(&'static [&'static str], Vec<Record>)> {
    let report = report.trim();
    if report.eq_ignore_ascii_case(ITEM_INVENTORY_SUMMARY) {
        Some((INVENTORY_COLUMNS, inventory_records(data)))
    } else if report.eq_ignore_ascii_case(DESPATCH_SUMMARY) {
        Some((DESPATCH_SUMMARY_COLUMNS, summary_records(data)))
    } else if report.eq_ignore_ascii_case(DESPATCH_PACKAGES) {
        Some((DESPATCH_PACKAGE_COLUMNS, package_records(data)))
    } else if report.eq_ignore_ascii_case(RETURN_SUMMARY) {
        Some((RETURN_SUMMARY_COLUMNS, return_records(data)))
    } else {
        None
    }
}

fn inventory_records(data: &Data) -> Vec<Record> {
    data.stock
        .iter()
        .map(|((site, item), stock)| {
            Record::from([
                ("Item code".to_string(), item.clone()),
                ("Available".to_string(), stock.available.to_string()),
                ("On hand".to_string(), stock.on_hand.to_string()),
                ("Site reference".to_string(), site.clone()),
            ])
        })
        .collect()
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

/// `[Col] asc, [Other] desc`; numbers compare as numbers.
fn sort(records: &mut [Record], order_by: &str, all: &[String]) -> Result<(), String> {
    let mut keys = Vec::new();
    for part in order_by.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (column, direction) = match part.rfind(']') {
            Some(end) => (part[..end].trim_start_matches('['), part[end + 1..].trim()),
            None => (part, ""),
        };
        if !all.iter().any(|k| k == column) {
            return Err(format!("Invalid order by: unknown column '{column}'"));
        }
        let descending = direction.eq_ignore_ascii_case("desc");
        keys.push((column.to_string(), descending));
    }
    records.sort_by(|a, b| {
        for (column, descending) in &keys {
            let (x, y) = (a.get(column), b.get(column));
            let ord = match (
                x.and_then(|v| v.parse::<i64>().ok()),
                y.and_then(|v| v.parse::<i64>().ok()),
            ) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => match (x.and_then(|v| date_key(v)), y.and_then(|v| date_key(v))) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => x.cmp(&y),
                },
            };
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    Ok(())
}

/// A report date (`'dd/MM/yyyy HH:mm:ss'`) as a sortable key, so that ordering by a date
/// column is chronological, not day-first text order.
fn date_key(value: &str) -> Option<(u32, u32, u32, String)> {
    let inner = value.strip_prefix('\'')?.strip_suffix('\'')?;
    let (date, clock) = inner.split_once(' ')?;
    let mut parts = date.split('/').map(|p| p.parse::<u32>().ok());
    let (day, month, year) = (parts.next()??, parts.next()??, parts.next()??);
    Some((year, month, day, clock.to_string()))
}

fn answer(header: &[String], matching: Vec<Record>, paging: Paging) -> Answer {
    let total = matching.len() as i64;
    let page: Vec<Record> = if paging.items_per_page <= 0 {
        matching
    } else {
        let size = paging.items_per_page as usize;
        let start = (paging.page_no.max(1) as usize - 1).saturating_mul(size);
        matching.into_iter().skip(start).take(size).collect()
    };
    match to_csv(header, &page) {
        Ok(csv) => Answer::ok(total, csv),
        Err(e) => Answer::error(format!("Could not write CSV: {e}")),
    }
}

fn to_csv(header: &[String], rows: &[Record]) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(
            header
                .iter()
                .map(|h| row.get(h).map(String::as_str).unwrap_or_default()),
        )?;
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

    #[test]
    fn despatch_reports_search_and_sort_dates_chronologically() {
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
