//! The typed requests and answers of the Peoplevox client.

use super::csv_table::CsvTable;

/// The `Action` of a SaveData call (melvin-hamilton-digital `Client.php` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveAction {
    /// `0`: insert or update.
    Upsert,
    /// `1`: insert or update, but do not allocate stock.
    DoNotAllocate,
    /// `2`: delete.
    Delete,
}

impl SaveAction {
    /// The integer sent on the wire.
    pub fn code(self) -> i32 {
        match self {
            Self::Upsert => 0,
            Self::DoNotAllocate => 1,
            Self::Delete => 2,
        }
    }
}

/// The per-record result of a SaveData call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStatus {
    /// The record key Peoplevox reports (SalesOrderNumber, ItemCode, ...).
    pub reference: String,
    /// `Status` was `Success`.
    pub success: bool,
}

/// What a SaveData call did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaveOutcome {
    /// `TotalCount`: the number of records saved.
    pub saved: i64,
    /// One status per record, in the order Peoplevox gave them.
    pub statuses: Vec<RecordStatus>,
    /// Peoplevox's error text when some records failed (`ResponseId` -1 with statuses).
    pub error_detail: Option<String>,
}

impl SaveOutcome {
    /// Whether every record was saved.
    pub fn all_succeeded(&self) -> bool {
        self.error_detail.is_none() && self.statuses.iter().all(|s| s.success)
    }
}

/// One page of a GetData or GetReportData answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataPage {
    /// `TotalCount`: matching rows across all pages.
    pub total: i64,
    /// The rows of this page, with the template's or report's header.
    pub table: CsvTable,
}

/// A GetReportData request (`getReportRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportQuery {
    /// The report name, e.g. `Item inventory summary`.
    pub template: String,
    /// 1-based page number.
    pub page_no: u32,
    /// Rows per page; 0 returns everything (slow on large reports).
    pub items_per_page: u32,
    /// A search clause over bracketed report columns, or empty.
    pub search_clause: String,
    /// A filter clause over bracketed report columns, or empty.
    pub filter_clause: String,
    /// e.g. `[Item code] asc`, or empty.
    pub order_by: String,
    /// e.g. `[Item code],[Available]`, or empty for every column.
    pub columns: String,
}
