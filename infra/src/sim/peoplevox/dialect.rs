//! Dialects of the simulated tenant: where public evidence about Peoplevox is thin, tenants (and
//! API versions) may differ, and the connector must work with each. A dialect names one such
//! tenant; the simulator's behaviour at every doubtful point is read from it, never from the
//! connector's own configuration, so that the simulator can disagree with the client.
//!
//! - `strict` (the default) is the strictest tenant the evidence supports (`../shared/api/
//!   peoplevox.md`, "Corrections"): a live WSDL with `SubscribeEventWithSitesFilters` and
//!   `encodeParameterData`; only the placeholders a public client uses
//!   (finerylondon/peep_conn `subscription.rb`: `{SalesOrderStatu.Name}`, never `{OnHold}`);
//!   unknown placeholders left as written; at most 1000 rows a page; reports that ignore
//!   `Columns` and `FilterClause` (peep_conn `report.rb`) and return more columns than asked for;
//!   report times in the warehouse's local time; "Despatch packages" only as a data template
//!   (peep_conn `constants.rb`), read with GetData; SaveData statuses for every record, each
//!   naming the row's own key (an item row by its item code, which rows of several orders share).
//! - `wsdl-2017` is the 2017 WSDL as the connector first read it: eight operations, no
//!   `encodeParameterData` (values substituted raw), a `filter` that is honoured, the
//!   placeholders the connector first guessed, no page cap, reports that honour every clause,
//!   UTC times, a "Despatch packages" report, and SaveData statuses for every record naming its
//!   sales order number (esb-github-integration matches records by it).
//! - `bare` is the least a tenant may offer: no published WSDL, no sites-filter operation and
//!   a `filter` that is ignored, raw substitution, status callbacks that carry only the order number, reports that
//!   ignore every clause and column list, no "Despatch packages" at all, and SaveData answers
//!   with a count only: no statuses, a refused record merely missing from `TotalCount`.
//!
//! SaveData answers (`save_references`, `save_statuses`) can also be combined freely in tests:
//! record numbers, failures only (the WSDL's `Statuses` is an array of
//! `IntegrationStatusResponse {Reference, Status}`; what `Reference` holds for an item row, and
//! whether every record is listed, no public source shows).

/// Where a tenant keeps its despatch packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackagesSource {
    /// A "Despatch packages" integration template, read with GetData.
    DataTemplate,
    /// A "Despatch packages" report, read with GetReportData.
    Report,
    /// Neither: tracking numbers are only in "Despatch summary".
    Absent,
}

/// Which callback placeholders the tenant substitutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// Only those with public evidence (peep_conn `subscription.rb`, every version).
    Evidence,
    /// The evidence-backed ones plus the connector's first guesses (`{SalesOrderStatus.Name}`,
    /// `{OnHold}`, package and return placeholders).
    Guessed,
    /// Only the key of each event (order number, despatch number, item code, ...).
    KeysOnly,
}

/// What the `Reference` of a SaveData status names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveReferences {
    /// The sales order number on both sales-order templates (the item code on "Item types").
    OrderNumber,
    /// The row's own key: the sales order number of a header, the item code of an item row.
    RowKey,
    /// The record's position in the CSV, from 1.
    RecordNumber,
}

/// Which records a SaveData answer lists in `Statuses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStatuses {
    /// Every record, in the order sent; `ResponseId` -1 when one failed.
    EveryRecord,
    /// Only the failed ones; `ResponseId` -1 when one failed.
    FailuresOnly,
    /// None, and `ResponseId` 0 whatever failed: a refused record is only missing from
    /// `TotalCount` (fewer records saved than sent).
    CountOnly,
}

/// One simulated tenant's answers at every point where the evidence is thin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// The name `--peoplevox-dialect` takes.
    pub name: &'static str,
    /// One line for `--help`.
    pub summary: &'static str,
    /// `GET …?WSDL` answers with the service description (ASMX can be configured not to
    /// publish it; then the connector must subscribe as the 2017 WSDL describes, told so).
    pub serves_wsdl: bool,
    /// The live WSDL publishes `SubscribeEventWithSitesFilters` (peep_conn 0b05be4).
    pub sites_filter_operation: bool,
    /// The live WSDL has `encodeParameterData` on SubscribeEvent and SubscribePostEvent, and a
    /// true value percent-encodes each substituted value; without it values go in raw.
    pub encode_parameter_data: bool,
    /// The plain `filter` of SubscribeEvent is applied; when false it is ignored and a
    /// subscription calls back for every site.
    pub honours_filter: bool,
    /// Which placeholders are substituted.
    pub placeholders: Placeholders,
    /// ItemsPerPage above this (or 0) is reset to it (Zynk: "anything higher will be reset to
    /// 1000"); `None`: no cap, 0 returns everything.
    pub max_items_per_page: Option<u32>,
    /// Reports apply `Columns` (else they return every column).
    pub reports_honour_columns: bool,
    /// Reports apply `FilterClause` (else it is ignored).
    pub reports_honour_filter_clause: bool,
    /// Reports apply `SearchClause` (else it is ignored; templates still apply it).
    pub reports_honour_search_clause: bool,
    /// Reports carry columns beyond the ones the connector reads, in the tenant's order.
    pub report_extra_columns: bool,
    /// IANA zone of the wall-clock times in reports.
    pub report_time_zone: &'static str,
    /// Where despatch packages are.
    pub despatch_packages: PackagesSource,
    /// What a SaveData status names a record by.
    pub save_references: SaveReferences,
    /// Which records a SaveData answer has a status for.
    pub save_statuses: SaveStatuses,
}

/// The strictest tenant the evidence supports.
pub const STRICT: Dialect = Dialect {
    name: "strict",
    summary: "live WSDL with sites filters and encodeParameterData, evidence-backed placeholders only, 1000-row pages, reports ignore Columns/FilterClause, local report times, \"Despatch packages\" as a data template, SaveData statuses naming each row's key",
    serves_wsdl: true,
    sites_filter_operation: true,
    encode_parameter_data: true,
    honours_filter: false,
    placeholders: Placeholders::Evidence,
    max_items_per_page: Some(1000),
    reports_honour_columns: false,
    reports_honour_filter_clause: false,
    reports_honour_search_clause: true,
    report_extra_columns: true,
    report_time_zone: "Europe/London",
    despatch_packages: PackagesSource::DataTemplate,
    save_references: SaveReferences::RowKey,
    save_statuses: SaveStatuses::EveryRecord,
};

/// The 2017 WSDL as the connector first read it.
pub const WSDL_2017: Dialect = Dialect {
    name: "wsdl-2017",
    summary: "the 2017 WSDL: eight operations, raw placeholder values, filter honoured, guessed placeholders, no page cap, reports honour every clause, UTC times, a \"Despatch packages\" report",
    serves_wsdl: true,
    sites_filter_operation: false,
    encode_parameter_data: false,
    honours_filter: true,
    placeholders: Placeholders::Guessed,
    max_items_per_page: None,
    reports_honour_columns: true,
    reports_honour_filter_clause: true,
    reports_honour_search_clause: true,
    report_extra_columns: false,
    report_time_zone: "UTC",
    despatch_packages: PackagesSource::Report,
    save_references: SaveReferences::OrderNumber,
    save_statuses: SaveStatuses::EveryRecord,
};

/// The least a tenant may offer.
pub const BARE: Dialect = Dialect {
    name: "bare",
    summary: "no published WSDL, no sites filter (filter ignored), raw placeholder values, callbacks carry only their keys, 1000-row pages, reports ignore every clause and column list, no \"Despatch packages\", SaveData answers with a count only",
    serves_wsdl: false,
    sites_filter_operation: false,
    encode_parameter_data: false,
    honours_filter: false,
    placeholders: Placeholders::KeysOnly,
    max_items_per_page: Some(1000),
    reports_honour_columns: false,
    reports_honour_filter_clause: false,
    reports_honour_search_clause: false,
    report_extra_columns: true,
    report_time_zone: "Europe/London",
    despatch_packages: PackagesSource::Absent,
    save_references: SaveReferences::OrderNumber,
    save_statuses: SaveStatuses::CountOnly,
};

/// Every dialect, the default first.
pub const DIALECTS: [Dialect; 3] = [STRICT, WSDL_2017, BARE];

impl Default for Dialect {
    fn default() -> Self {
        STRICT
    }
}

impl Dialect {
    /// The dialect called `name`, or an error that lists the names.
    pub fn by_name(name: &str) -> Result<Self, String> {
        DIALECTS
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no Peoplevox dialect `{name}`; the dialects are {}",
                    names().join(", ")
                )
            })
    }
}

/// The dialects' names, the default first.
pub fn names() -> Vec<&'static str> {
    DIALECTS.iter().map(|d| d.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let mut seen = names();
        seen.dedup();
        assert_eq!(seen.len(), DIALECTS.len());
        for d in DIALECTS {
            assert_eq!(Dialect::by_name(&d.name.to_uppercase()).unwrap(), d);
        }
        let e = Dialect::by_name("nope").unwrap_err();
        assert!(e.contains("strict, wsdl-2017, bare"), "{e}");
        assert_eq!(Dialect::default().name, "strict");
    }
}
