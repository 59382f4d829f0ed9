//! GetData (integration templates) and GetReportData (reports): clause filtering, ordering,
//! paging, and RFC 4180 CSV in `Detail` with `TotalCount` = all matches. Only the rows of the
//! page asked for are copied into the answer. Where the evidence is thin the dialect decides
//! (`dialect.rs`): the page cap, whether reports apply `Columns`, `FilterClause` and
//! `SearchClause`, whether they carry Zynk's fuller column lists, the zone of report times,
//! and whether "Despatch packages" is a template, a report or absent.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::clause::Clause;
use super::config::{
    DESPATCH_PACKAGES, DESPATCH_SUMMARY, ITEM_INVENTORY_SUMMARY, PvxSimConfig, RETURN_SUMMARY,
    SimTemplate,
};
use super::despatch::SimDespatch;
use super::despatch_report::{
    DESPATCH_PACKAGE_COLUMNS, DESPATCH_SUMMARY_COLUMNS, DESPATCH_SUMMARY_FULL_COLUMNS,
    package_records, package_template_records, summary_rows,
};
use super::dialect::{Dialect, PackagesSource};
use super::inventory_report::{INVENTORY_COLUMNS, matching_rows};
use super::order_by::OrderBy;
use super::report_clock::ReportClock;
use super::return_report::{RETURN_SUMMARY_COLUMNS, RETURN_SUMMARY_FULL_COLUMNS, return_records};
use super::returns::SimReturn;
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

impl Paging {
    /// The paging the tenant applies: under a cap, ItemsPerPage above it, or 0, is reset to
    /// it (Zynk: "anything higher will be reset to 1000").
    fn capped(self, dialect: &Dialect) -> Self {
        match dialect.max_items_per_page.map(i64::from) {
            Some(cap) if self.items_per_page <= 0 || self.items_per_page > cap => Self {
                items_per_page: cap,
                ..self
            },
            _ => self,
        }
    }
}

/// One GetData request.
pub fn get_data(
    data: &Data,
    config: &PvxSimConfig,
    template_name: &str,
    paging: Paging,
    search: &str,
) -> Answer {
    let paging = paging.capped(&config.dialect);
    let Some(template) = config.template(template_name) else {
        return Answer::error(format!("Template '{template_name}' does not exist"));
    };
    // Clauses and CSV use the tenant's field names.
    let header = template.header();
    let clause = match parse_clause(search, &header) {
        Ok(c) => c,
        Err(message) => return Answer::error(message),
    };
    if template.name.eq_ignore_ascii_case(DESPATCH_PACKAGES) {
        return package_template(data, template, &clause, paging);
    }
    let Some(exported) = Exported::of(template) else {
        return Answer::error(format!(
            "Template '{}' cannot be exported by the simulator",
            template.name
        ));
    };
    let names = Names::of(template);
    let matching = || matching_records(data, exported, &names, &clause);
    let (page, total) = OrderBy::default().page(matching, window(paging));
    answer(&header, &page, total)
}

/// The "Despatch packages" template: one record per package under the tenant's field names.
fn package_template(
    data: &Data,
    template: &SimTemplate,
    clause: &Clause,
    paging: Paging,
) -> Answer {
    let name_of = |canonical: &str| {
        template
            .fields
            .iter()
            .find(|f| f.canonical == canonical)
            .map(|f| f.name.as_str())
    };
    let numbers = name_of("DespatchNumber").and_then(|n| clause.pinned_values(n));
    let wanted = |d: &SimDespatch| {
        numbers
            .as_ref()
            .is_none_or(|n| n.contains(d.number.as_str()))
    };
    let records: Vec<Record> = package_template_records(data, &wanted)
        .into_iter()
        .map(|canonical| {
            template
                .fields
                .iter()
                .map(|f| {
                    let value = canonical.get(&f.canonical).cloned().unwrap_or_default();
                    (f.name.clone(), value)
                })
                .collect::<Record>()
        })
        .filter(|r| clause.matches(r))
        .collect();
    let (page, total) = OrderBy::default().page(|| records.iter(), window(paging));
    answer(&template.header(), &page, total)
}

/// One GetReportData request.
#[allow(clippy::too_many_arguments)]
pub fn get_report_data(
    data: &Data,
    config: &PvxSimConfig,
    report: &str,
    paging: Paging,
    search: &str,
    filter: &str,
    order_by: &str,
    columns: &str,
) -> Answer {
    let dialect = &config.dialect;
    let paging = paging.capped(dialect);
    let Some(columns_of_report) = report_columns(report, dialect) else {
        return Answer::error(format!("Report '{report}' does not exist"));
    };
    let report = report.trim();
    let all: Vec<String> = columns_of_report.iter().map(|c| (*c).to_string()).collect();
    // A clause the tenant ignores is not even read.
    let honoured = |text: &str, honours: bool| {
        if honours {
            parse_clause(text, &all)
        } else {
            Ok(Clause::All)
        }
    };
    let (search, filter) = match (
        honoured(search, dialect.reports_honour_search_clause),
        honoured(filter, dialect.reports_honour_filter_clause),
    ) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(message), _) | (_, Err(message)) => return Answer::error(message),
    };
    let selected = if dialect.reports_honour_columns {
        match select_columns(columns, &all) {
            Ok(s) => s,
            Err(message) => return Answer::error(message),
        }
    } else {
        all.clone()
    };
    let order_by = match OrderBy::parse(order_by, &all) {
        Ok(o) => o,
        Err(message) => return Answer::error(message),
    };
    let clauses = [&search, &filter];
    if report.eq_ignore_ascii_case(ITEM_INVENTORY_SUMMARY) {
        // Read in place: the stock map can hold hundreds of thousands of rows.
        let (page, total) = order_by.page(|| matching_rows(data, &clauses), window(paging));
        return answer(&selected, &page, total);
    }
    let clock = ReportClock::of(dialect.report_time_zone);
    // One of the other three: `report_columns` knew it. Only the despatches or returns a
    // clause pins (by number) are rendered.
    let numbers = pinned(&clauses, "Despatch number");
    let orders = pinned(&clauses, "Salesorder number");
    let wanted = |d: &SimDespatch| {
        numbers
            .as_ref()
            .is_none_or(|n| n.contains(d.number.as_str()))
            && orders
                .as_ref()
                .is_none_or(|o| o.contains(d.order_number.as_str()))
    };
    if report.eq_ignore_ascii_case(DESPATCH_SUMMARY) {
        // Rows computed as read: a page of them is all that is written.
        let matching = || {
            summary_rows(data, &clock, &wanted).filter(|r| search.matches(r) && filter.matches(r))
        };
        let (page, total) = order_by.page(matching, window(paging));
        return answer(&selected, &page, total);
    }
    let records = if report.eq_ignore_ascii_case(RETURN_SUMMARY) {
        let codes = pinned(&clauses, "Return code");
        let orders = pinned(&clauses, "Sales order number");
        let wanted = |r: &SimReturn| {
            codes.as_ref().is_none_or(|c| c.contains(r.code.as_str()))
                && orders
                    .as_ref()
                    .is_none_or(|o| o.contains(r.order_number.as_str()))
        };
        return_records(data, &clock, &wanted)
    } else {
        package_records(data, &clock, &wanted)
    };
    let matching: Vec<Record> = records
        .into_iter()
        .filter(|r| search.matches(r) && filter.matches(r))
        .collect();
    let (page, total) = order_by.page(|| matching.iter(), window(paging));
    answer(&selected, &page, total)
}

/// The values every clause leaves `column` (`None`: any value).
fn pinned<'c>(clauses: &[&'c Clause], column: &str) -> Option<BTreeSet<&'c str>> {
    clauses
        .iter()
        .filter_map(|c| c.pinned_values(column))
        .reduce(|a, b| a.intersection(&b).copied().collect())
}

/// The columns of a report the tenant has (names matched case-insensitively, like template
/// names), as the dialect lists them.
fn report_columns(report: &str, dialect: &Dialect) -> Option<&'static [&'static str]> {
    let report = report.trim();
    let (summary, returns) = if dialect.report_extra_columns {
        (DESPATCH_SUMMARY_FULL_COLUMNS, RETURN_SUMMARY_FULL_COLUMNS)
    } else {
        (DESPATCH_SUMMARY_COLUMNS, RETURN_SUMMARY_COLUMNS)
    };
    let packages = (dialect.despatch_packages == PackagesSource::Report)
        .then_some((DESPATCH_PACKAGES, DESPATCH_PACKAGE_COLUMNS));
    [
        Some((ITEM_INVENTORY_SUMMARY, INVENTORY_COLUMNS)),
        Some((DESPATCH_SUMMARY, summary)),
        packages,
        Some((RETURN_SUMMARY, returns)),
    ]
    .into_iter()
    .flatten()
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
    use crate::sim::peoplevox::dialect::{BARE, STRICT, WSDL_2017};
    use crate::sim::peoplevox::state::{SimItemType, SimStock};

    fn config(dialect: Dialect) -> PvxSimConfig {
        PvxSimConfig {
            dialect,
            ..PvxSimConfig::default()
        }
        .with_dialect_templates()
    }

    /// The dialect that honours every clause and column list, with UTC times.
    fn legacy() -> PvxSimConfig {
        config(WSDL_2017)
    }

    #[test]
    fn get_data_filters_and_pages() {
        let config = legacy();
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
            &legacy(),
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
            &legacy(),
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
             DSP-000002,'10/11/2026 09:00',2,T2\r\n\
             DSP-000001,'02/12/2026 09:00',1,T1\r\n"
        );
        let answer = get_report_data(
            &data,
            &legacy(),
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
            &legacy(),
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
                &legacy(),
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
             DSP-000003,'20/11/2026 09:00'\r\n\
             DSP-000001,'02/12/2026 09:00'\r\n"
        );
        assert_eq!(
            since("[Despatch date] > DateTime(2026,11,20,09,00,00) OR [No of items] < 2"),
            "Despatch number,Despatch date\r\nDSP-000001,'02/12/2026 09:00'\r\n"
        );
        assert_eq!(
            since(
                "[Despatch date] < DateTime(2026,11,20,09,00,00) AND \
                 [Despatch date] >= DateTime(2026,11,1)"
            ),
            "Despatch number,Despatch date\r\nDSP-000002,'10/11/2026 09:00'\r\n"
        );
        assert_eq!(
            since("[Despatch date] <= DateTime(2026,11,9,23,59,59)"),
            "Despatch number,Despatch date\r\n"
        );
        let bad = get_report_data(
            &data,
            &legacy(),
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
            &legacy(),
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
            &legacy(),
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
        let answer = get_report_data(
            &data,
            &legacy(),
            "Return summary",
            all,
            "[Bogus] = 'x'",
            "",
            "",
            "",
        );
        assert_eq!(answer.response_id, -1);
    }

    /// Rows of an answer as maps of column → value.
    fn rows(answer: &Answer) -> Vec<Record> {
        let table = answer.detail.clone().unwrap_or_default();
        let mut reader = csv::Reader::from_reader(table.as_bytes());
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .map(str::to_string)
                    .zip(r.unwrap().iter().map(str::to_string))
                    .collect()
            })
            .collect()
    }

    fn headers(answer: &Answer) -> Vec<String> {
        let table = answer.detail.clone().unwrap_or_default();
        let mut reader = csv::Reader::from_reader(table.as_bytes());
        reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_capped_tenant_resets_large_and_zero_pages_to_the_cap() {
        let mut data = Data::default();
        for n in 0..2500 {
            data.stock
                .insert(("S".into(), format!("I{n:05}")), SimStock::new(1, 0));
        }
        for (asked, want) in [(0, 1000), (5000, 1000), (1000, 1000), (10, 10)] {
            let answer = get_report_data(
                &data,
                &config(STRICT),
                ITEM_INVENTORY_SUMMARY,
                Paging {
                    page_no: 1,
                    items_per_page: asked,
                },
                "",
                "",
                "",
                "",
            );
            assert_eq!(answer.total_count, 2500, "TotalCount stays the full count");
            assert_eq!(rows(&answer).len(), want, "ItemsPerPage {asked}");
        }
        let third = get_report_data(
            &data,
            &config(STRICT),
            ITEM_INVENTORY_SUMMARY,
            Paging {
                page_no: 3,
                items_per_page: 5000,
            },
            "",
            "",
            "",
            "",
        );
        assert_eq!(rows(&third).len(), 500);
        assert_eq!(rows(&third)[0]["Item code"], "I02000");
        // Without a cap, 0 is everything.
        let all = get_report_data(
            &data,
            &legacy(),
            ITEM_INVENTORY_SUMMARY,
            Paging {
                page_no: 1,
                items_per_page: 0,
            },
            "",
            "",
            "",
            "",
        );
        assert_eq!(rows(&all).len(), 2500);
        // GetData is capped alike.
        for n in 0..1200 {
            data.item_types.insert(
                format!("I{n:05}"),
                SimItemType {
                    code: format!("I{n:05}"),
                    fields: Record::new(),
                },
            );
        }
        let zero = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let answer = get_data(&data, &config(STRICT), "Item types", zero, "");
        assert_eq!((answer.total_count, rows(&answer).len()), (1200, 1000));
    }

    #[test]
    fn each_dialect_applies_the_clauses_and_columns_it_honours() {
        let data = three_despatches();
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let ask = |config: &PvxSimConfig| {
            get_report_data(
                &data,
                config,
                DESPATCH_SUMMARY,
                all,
                r#"([Despatch number].Equals("DSP-000001"))"#,
                r#"[Salesorder number].Equals("SO-2")"#,
                "[Despatch number]",
                "[Despatch number],[Tracking number]",
            )
        };
        // The 2017 reading: every clause and the column list apply (and nothing matches both).
        let legacy = ask(&legacy());
        assert_eq!(legacy.total_count, 0);
        assert_eq!(headers(&legacy), ["Despatch number", "Tracking number"]);
        // Strict: the search applies; the filter and the column list do not; Zynk's columns.
        let strict = ask(&config(STRICT));
        assert_eq!(strict.total_count, 1);
        assert_eq!(headers(&strict), DESPATCH_SUMMARY_FULL_COLUMNS);
        assert_eq!(rows(&strict)[0]["Despatch number"], "DSP-000001");
        // Bare: nothing applies but the order.
        let bare = ask(&config(BARE));
        assert_eq!(bare.total_count, 3);
        let numbers: Vec<String> = rows(&bare)
            .iter()
            .map(|r| r["Despatch number"].clone())
            .collect();
        assert_eq!(numbers, ["DSP-000001", "DSP-000002", "DSP-000003"]);
        // A tenant that ignores a clause does not read it either.
        let garbage = get_report_data(
            &data,
            &config(BARE),
            DESPATCH_SUMMARY,
            all,
            "((",
            "[Bogus] = 1",
            "",
            "[Bogus]",
        );
        assert_eq!(garbage.response_id, 0, "{:?}", garbage.detail);
    }

    #[test]
    fn report_times_are_the_wall_clock_of_the_dialect_zone() {
        use crate::sim::peoplevox::despatch::{SimDespatch, SimDespatchLine, SimPackage};
        use time::macros::datetime;
        let mut data = Data::default();
        data.despatches.insert(
            "DSP-000001".into(),
            SimDespatch {
                number: "DSP-000001".into(),
                order_number: "SO-1".into(),
                site: "S".into(),
                carrier: "DPD".into(),
                service: "Next Day".into(),
                service_type_code: "NEXT-DAY".into(),
                // 00:30 BST on 25 October, before the clocks go back.
                despatch_date: datetime!(2026-10-24 23:30 UTC),
                lines: vec![SimDespatchLine {
                    item_code: "A".into(),
                    units: 1,
                }],
                packages: vec![SimPackage {
                    number: 1,
                    tracking: Some("T".into()),
                    weight_kg: None,
                }],
            },
        );
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let date = |config: &PvxSimConfig, search: &str| {
            let answer = get_report_data(&data, config, DESPATCH_SUMMARY, all, search, "", "", "");
            rows(&answer)
                .first()
                .map(|r| r["Despatch date"].clone())
                .unwrap_or_default()
        };
        assert_eq!(date(&config(STRICT), ""), "'25/10/2026 00:30'");
        assert_eq!(date(&legacy(), ""), "'24/10/2026 23:30'");
        // A search compares the tenant's wall clock.
        let since = "[Despatch date] >= DateTime(2026,10,25,00,00,00)";
        assert_eq!(date(&config(STRICT), since), "'25/10/2026 00:30'");
        assert_eq!(date(&legacy(), since), "");
    }

    #[test]
    fn despatch_packages_are_a_template_a_report_or_absent() {
        let data = three_despatches();
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let report = |config: &PvxSimConfig| {
            get_report_data(&data, config, DESPATCH_PACKAGES, all, "", "", "", "")
        };
        let template = |config: &PvxSimConfig, search: &str| {
            get_data(&data, config, DESPATCH_PACKAGES, all, search)
        };
        // Strict: a template with the tenant's own field names, searched by them.
        let strict = config(STRICT);
        assert_eq!(report(&strict).response_id, -1);
        let answer = template(
            &strict,
            r#"Despatch.DespatchNumber.Equals("DSP-000002") OR Despatch.DespatchNumber.Equals("DSP-000003")"#,
        );
        assert_eq!(answer.response_id, 0, "{:?}", answer.detail);
        assert_eq!(answer.total_count, 4);
        assert_eq!(
            headers(&answer),
            [
                "Despatch.DespatchNumber",
                "Despatch.SalesOrder.SalesOrderNumber",
                "PackageNumber",
                "PackageTrackingNumber",
                "PackageWeightKg",
                "Despatch.Carrier.Name"
            ]
        );
        assert_eq!(rows(&answer)[0]["PackageTrackingNumber"], "T2");
        let unknown = template(&strict, r#"DespatchNumber.Equals("DSP-000002")"#);
        assert_eq!(unknown.response_id, -1);
        // The 2017 reading: a report, and no template.
        assert_eq!(report(&legacy()).total_count, 6);
        let none = template(&legacy(), "");
        assert_eq!(none.response_id, -1);
        assert!(none.detail.unwrap().contains("does not exist"));
        // Bare: neither.
        assert_eq!(report(&config(BARE)).response_id, -1);
        assert_eq!(template(&config(BARE), "").response_id, -1);
    }

    #[test]
    fn return_summary_has_zynks_columns_where_reports_carry_extra_ones() {
        let data = Data::default();
        let all = Paging {
            page_no: 1,
            items_per_page: 0,
        };
        let answer = get_report_data(&data, &config(STRICT), RETURN_SUMMARY, all, "", "", "", "");
        assert_eq!(headers(&answer), RETURN_SUMMARY_FULL_COLUMNS);
        let answer = get_report_data(&data, &legacy(), RETURN_SUMMARY, all, "", "", "", "");
        assert_eq!(headers(&answer), RETURN_SUMMARY_COLUMNS);
    }
}
