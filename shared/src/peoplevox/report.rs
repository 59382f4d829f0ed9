//! Report reads that are right whichever parts of a request the tenant honours.
//!
//! A report may ignore `Columns` and `FilterClause` (finerylondon/peep_conn `lib/peep_conn/
//! report.rb`: "Currently pulling all data, as columns / filters aren't working"), and a tenant
//! may ignore `SearchClause` too (UNCONFIRMED; the simulator's `bare` dialect). So a reader:
//! - finds its columns by header name (trimmed, any case), whatever else the answer holds and in
//!   whatever order; a column it cannot do without that is missing is an error naming the report
//!   and the column ([`ReportRows::from_table`]);
//! - keeps only the rows it asked for (site, despatch numbers, order numbers, item codes, return
//!   codes), so that an ignored clause costs pages, never wrong data ([`read_keyed`]);
//! - counts what the tenant sent beyond the request (`extra_columns`, `rows_outside`), which
//!   `ctpvx check-config` reports.

use std::collections::{BTreeMap, BTreeSet};

use super::client::PvxClient;
use super::csv_table::CsvTable;
use super::error::PvxError;
use super::search::{chunks, quote, report_equals_any};
use super::types::ReportQuery;

/// The columns a reader takes from a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// Columns it cannot do without.
    pub required: &'static [&'static str],
    /// Columns it uses when present (empty otherwise).
    pub read: &'static [&'static str],
}

impl Columns {
    /// Every column, the required ones first.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.required.iter().chain(self.read).copied()
    }

    /// The request's `Columns`: `[A],[B]` when every column is required, otherwise empty
    /// (every column), so that an optional column the tenant's report lacks never fails a
    /// tenant that does apply `Columns`.
    pub fn request(&self) -> String {
        if !self.read.is_empty() {
            return String::new();
        }
        self.required
            .iter()
            .map(|c| format!("[{c}]"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A header name as compared: trimmed, lower case.
fn folded(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Rows of a report reduced to a reader's columns, each value trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportRows {
    report: String,
    names: Vec<&'static str>,
    present: Vec<bool>,
    rows: Vec<Vec<String>>,
    /// Columns the answer held beyond the reader's: the tenant ignored `Columns`, or lists
    /// more than the reader needs.
    pub extra_columns: Vec<String>,
    /// Rows the reader dropped as outside what it asked for: the tenant ignored the search
    /// clause.
    pub rows_outside: usize,
}

/// One row of [`ReportRows`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    rows: &'a ReportRows,
    values: &'a [String],
}

impl<'a> Row<'a> {
    /// The value of `column` (one of the reader's), trimmed; empty when the report lacks it.
    pub fn get(&self, column: &str) -> &'a str {
        self.rows
            .position(column)
            .and_then(|i| self.values.get(i))
            .map_or("", String::as_str)
    }
}

impl ReportRows {
    /// The rows of `table` (an answer of `report`) in `columns`; an error naming the report
    /// and the column when a required one is missing.
    pub fn from_table(report: &str, columns: Columns, table: &CsvTable) -> Result<Self, PvxError> {
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for (i, header) in table.headers.iter().enumerate() {
            // A name given twice means its first column.
            by_name.entry(folded(header)).or_insert(i);
        }
        let names: Vec<&'static str> = columns.names().collect();
        let positions: Vec<Option<usize>> = names
            .iter()
            .map(|n| by_name.get(&folded(n)).copied())
            .collect();
        if table.rows.is_empty() && table.headers.is_empty() {
            // An empty answer may carry no header at all: nothing to miss.
            return Ok(Self::empty(report, &names));
        }
        if let Some(missing) = columns
            .required
            .iter()
            .zip(&positions)
            .find_map(|(name, at)| at.is_none().then_some(*name))
        {
            return Err(PvxError::Decode {
                operation: "GetReportData",
                reason: format!(
                    "report \"{report}\" has no column `{missing}`, which ctpvx needs (its columns: {}); add it to the report in Peoplevox",
                    table.headers.join(", ")
                ),
            });
        }
        let wanted: BTreeSet<String> = names.iter().map(|n| folded(n)).collect();
        let extra_columns = table
            .headers
            .iter()
            .filter(|h| !wanted.contains(&folded(h)))
            .cloned()
            .collect();
        let rows = table
            .rows
            .iter()
            .map(|row| {
                positions
                    .iter()
                    .map(|at| {
                        at.and_then(|i| row.get(i))
                            .map_or(String::new(), |v| v.trim().to_string())
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            report: report.to_string(),
            present: positions.iter().map(Option::is_some).collect(),
            names,
            rows,
            extra_columns,
            rows_outside: 0,
        })
    }

    fn empty(report: &str, names: &[&'static str]) -> Self {
        Self {
            report: report.to_string(),
            names: names.to_vec(),
            present: vec![false; names.len()],
            ..Self::default()
        }
    }

    /// The report's name.
    pub fn report(&self) -> &str {
        &self.report
    }

    /// Whether the report had `column`.
    pub fn has(&self, column: &str) -> bool {
        self.position(column)
            .is_some_and(|i| self.present.get(i).copied().unwrap_or(false))
    }

    /// The rows, in report order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row { rows: self, values })
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Keeps the rows `keep` accepts; the others count as outside the request.
    pub fn retain(&mut self, mut keep: impl FnMut(Row<'_>) -> bool) {
        let rows = std::mem::take(&mut self.rows);
        let before = rows.len();
        let kept: Vec<Vec<String>> = rows
            .into_iter()
            .filter(|values| keep(Row { rows: self, values }))
            .collect();
        self.rows_outside += before - kept.len();
        self.rows = kept;
    }

    /// Adds the rows of `other` (the same reader's columns) and its counts.
    fn append(&mut self, other: ReportRows) {
        if self.names.is_empty() {
            *self = other;
            return;
        }
        for (mine, theirs) in self.present.iter_mut().zip(&other.present) {
            *mine |= *theirs;
        }
        self.rows.extend(other.rows);
        self.rows_outside += other.rows_outside;
        for column in other.extra_columns {
            if !self.extra_columns.contains(&column) {
                self.extra_columns.push(column);
            }
        }
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == column).or_else(|| {
            let column = folded(column);
            self.names.iter().position(|n| folded(n) == column)
        })
    }
}

/// Rows whose `column` is one of `values` (compared trimmed and exactly).
#[derive(Debug, Clone, Copy)]
pub struct KeyFilter<'a> {
    /// A report column, e.g. `Despatch number`.
    pub column: &'static str,
    /// The values asked for.
    pub values: &'a [String],
}

/// A report read for some keys.
#[derive(Debug, Clone)]
pub struct KeyedRead<'a> {
    /// The report.
    pub report: &'a str,
    /// The columns the reader takes; every filter's column must be among the required ones.
    pub columns: Columns,
    /// A row is wanted when any filter holds it.
    pub filters: Vec<KeyFilter<'a>>,
    /// And, for every row, this column holds this value (compared trimmed, any case): the
    /// site of a site's read.
    pub also: Option<(&'static str, &'a str)>,
    /// `OrderBy`; empty orders by the filter's column, so that pages do not shift.
    pub order_by: &'a str,
}

/// The rows of `read.report` that `read.filters` ask for: one paged read per 100 values of
/// a filter (an OR'ed search clause), rows outside the request dropped. A tenant that ignores
/// the search clause answers the first read with the whole report: the rows of every filter
/// are then taken from it and no further read is sent.
pub async fn read_keyed(pvx: &PvxClient, read: &KeyedRead<'_>) -> Result<ReportRows, PvxError> {
    let filters: Vec<(&'static str, Vec<String>)> = read
        .filters
        .iter()
        .map(|f| {
            let values: BTreeSet<String> = f
                .values
                .iter()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            (f.column, values.into_iter().collect())
        })
        .collect();
    let names: Vec<&'static str> = read.columns.names().collect();
    let mut found = ReportRows::empty(read.report, &names);
    for (n, (column, values)) in filters.iter().enumerate() {
        for chunk in chunks(values) {
            let mut search = report_equals_any(column, chunk);
            if let Some((also, value)) = read.also {
                search = format!("([{also}].Equals({})) AND {search}", quote(value));
            }
            // Pages of a stable order: by the key unless the caller orders otherwise.
            let order_by = if read.order_by.is_empty() {
                format!("[{column}] asc")
            } else {
                read.order_by.to_string()
            };
            let query = ReportQuery {
                template: read.report.to_string(),
                search_clause: search,
                order_by,
                columns: read.columns.request(),
                ..ReportQuery::default()
            };
            let table = pvx.get_report_all(&query).await?;
            let mut rows = ReportRows::from_table(read.report, read.columns, &table)?;
            let asked: BTreeSet<String> = chunk.iter().map(|v| folded(v)).collect();
            let ignored = rows.rows().any(|row| {
                !asked.contains(&folded(row.get(column))) || !also_holds(read.also, row)
            });
            let earlier = &filters[..n];
            if ignored {
                // The whole report is here: every filter's rows come from it (and replace
                // what earlier reads found, which it holds too).
                rows.retain(|row| {
                    also_holds(read.also, row)
                        && filters.iter().any(|(c, values)| {
                            values.binary_search(&row.get(c).to_string()).is_ok()
                        })
                });
                rows.rows_outside += found.rows_outside;
                return Ok(rows);
            }
            // A row an earlier filter also holds was read with it already.
            rows.retain(|row| {
                chunk.iter().any(|v| v == row.get(column))
                    && !earlier
                        .iter()
                        .any(|(c, values)| values.binary_search(&row.get(c).to_string()).is_ok())
            });
            found.append(rows);
        }
    }
    Ok(found)
}

fn also_holds(also: Option<(&'static str, &str)>, row: Row<'_>) -> bool {
    also.is_none_or(|(column, value)| folded(row.get(column)) == folded(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns {
        required: &["Despatch number", "Item code"],
        read: &["Tracking number"],
    };

    fn table(headers: &[&str], rows: &[&[&str]]) -> CsvTable {
        CsvTable {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_case() {
        let t = table(
            &["Carrier", " ITEM CODE ", "despatch number", "Weight"],
            &[&["RM", " A ", "D1", "2"]],
        );
        let rows = ReportRows::from_table("Despatch summary", COLUMNS, &t).unwrap();
        let row = rows.rows().next().unwrap();
        assert_eq!(
            (row.get("Despatch number"), row.get("Item code")),
            ("D1", "A")
        );
        assert_eq!(row.get("Tracking number"), "");
        assert!(!rows.has("Tracking number"));
        assert!(rows.has("Item code"));
        assert_eq!(rows.extra_columns, ["Carrier", "Weight"]);
    }

    #[test]
    fn a_missing_required_column_names_the_report_and_the_column() {
        let t = table(&["Despatch number", "Tracking number"], &[&["D1", "T"]]);
        let e = ReportRows::from_table("Despatch summary", COLUMNS, &t)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("report \"Despatch summary\" has no column `Item code`"),
            "{e}"
        );
        // An empty answer without a header misses nothing.
        let empty = ReportRows::from_table("Despatch summary", COLUMNS, &CsvTable::default());
        assert!(empty.unwrap().is_empty());
    }

    #[test]
    fn retained_rows_count_the_rest_as_outside() {
        let t = table(
            &["Despatch number", "Item code"],
            &[&["D1", "A"], &["D2", "B"], &["D1", "C"]],
        );
        let mut rows = ReportRows::from_table("Despatch summary", COLUMNS, &t).unwrap();
        rows.retain(|r| r.get("Despatch number") == "D1");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.rows_outside, 1);
    }

    #[test]
    fn the_request_lists_columns_only_when_all_are_required() {
        assert_eq!(COLUMNS.request(), "");
        let all_required = Columns {
            required: &["Item code", "Available"],
            read: &[],
        };
        assert_eq!(all_required.request(), "[Item code],[Available]");
    }
}
