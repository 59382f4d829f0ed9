//! GetData (integration templates) and GetReportData (reports): clause filtering, paging,
//! and RFC 4180 CSV in `Detail` with `TotalCount` = all matches.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::clause::Clause;
use super::config::{
    ITEM_INVENTORY_SUMMARY, ITEM_TYPES, PvxSimConfig, SALES_ORDER_ITEMS, SALES_ORDERS,
};
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
    if !report.trim().eq_ignore_ascii_case(ITEM_INVENTORY_SUMMARY) {
        return Answer::error(format!("Report '{report}' does not exist"));
    }
    let all: Vec<String> = INVENTORY_COLUMNS.iter().map(|c| (*c).to_string()).collect();
    let records: Vec<Record> = data
        .stock
        .iter()
        .map(|((site, item), stock)| {
            Record::from([
                ("Item code".to_string(), item.clone()),
                ("Available".to_string(), stock.available.to_string()),
                ("On hand".to_string(), stock.on_hand.to_string()),
                ("Site reference".to_string(), site.clone()),
            ])
        })
        .collect();
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
                _ => x.cmp(&y),
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
}
