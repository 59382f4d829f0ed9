//! Availability reads from "Item inventory summary": filtered by site and item codes, one
//! report call per 100 items, so that a batch of stock hints costs a request or two, not one
//! each; and a whole site page by page, for the nightly reconciliation.

use std::collections::BTreeMap;

use super::client::PvxClient;
use super::csv_table::CsvTable;
use super::error::PvxError;
use super::search::{quote, report_equals_any_chunks};
use super::types::ReportQuery;

/// The report that holds availability per item and site.
pub const ITEM_INVENTORY_SUMMARY: &str = "Item inventory summary";

/// One page of a site's "Item inventory summary", in item-code order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryPage {
    /// `TotalCount`: the site's rows over all pages.
    pub total_rows: i64,
    /// Rows read (the page's length before the site check, to tell the last page).
    pub rows_read: usize,
    /// `(Item code, Available)` per row of the site, in report order; an item listed on
    /// several rows (locations) appears several times, next to each other.
    pub rows: Vec<(String, i64)>,
}

impl PvxClient {
    /// `Available` of each item at `site`. Items the report does not list are missing from
    /// the map (Peoplevox does not know them at that site). A row whose figure is not a whole
    /// number is an error: guessing a stock level is worse than not writing one.
    pub async fn read_availability(
        &self,
        site: &str,
        items: &[String],
    ) -> Result<BTreeMap<String, i64>, PvxError> {
        let mut found = BTreeMap::new();
        for clause in report_equals_any_chunks("Item code", items) {
            let query = ReportQuery {
                template: ITEM_INVENTORY_SUMMARY.into(),
                page_no: 1,
                // Room for every chunk item even if a tenant lists an item twice.
                items_per_page: 1000,
                search_clause: format!("{} AND {clause}", site_clause(site)),
                columns: COLUMNS.into(),
                ..ReportQuery::default()
            };
            let page = self.get_report_data(&query).await?;
            for (item, figure) in site_rows(&page.table, site)? {
                // One item listed on several rows (locations) adds up; a sum past i64 is
                // nonsense from the report, held at the bound rather than a panic or a wrap.
                let total: &mut i64 = found.entry(item).or_insert(0);
                *total = (*total).saturating_add(figure);
            }
        }
        Ok(found)
    }

    /// Page `page_no` (1-based) of every item at `site`, `page_size` rows a page, ordered by
    /// item code so that pages are stable while the report is walked and an item's rows stay
    /// together.
    pub async fn read_inventory_page(
        &self,
        site: &str,
        page_no: u32,
        page_size: u32,
    ) -> Result<InventoryPage, PvxError> {
        let query = ReportQuery {
            template: ITEM_INVENTORY_SUMMARY.into(),
            page_no,
            items_per_page: page_size,
            search_clause: site_clause(site),
            order_by: "[Item code] asc".into(),
            columns: COLUMNS.into(),
            ..ReportQuery::default()
        };
        let page = self.get_report_data(&query).await?;
        Ok(InventoryPage {
            total_rows: page.total,
            rows_read: page.table.rows.len(),
            rows: site_rows(&page.table, site)?,
        })
    }
}

/// The columns both reads ask for.
const COLUMNS: &str = "[Item code],[Available],[Site reference]";

fn site_clause(site: &str) -> String {
    format!("([Site reference].Equals({}))", quote(site))
}

/// `(item, available)` of the rows that belong to `site`, in report order.
fn site_rows(table: &CsvTable, site: &str) -> Result<Vec<(String, i64)>, PvxError> {
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let (Some(item), Some(available)) =
            (table.value(row, "Item code"), table.value(row, "Available"))
        else {
            return Err(PvxError::Decode {
                operation: "GetReportData",
                reason: format!(
                    "{ITEM_INVENTORY_SUMMARY}: a row lacks `Item code` or `Available` (columns: {:?})",
                    table.headers
                ),
            });
        };
        if table
            .value(row, "Site reference")
            .is_some_and(|s| !s.eq_ignore_ascii_case(site))
        {
            continue;
        }
        let figure = parse_figure(available).ok_or_else(|| PvxError::Decode {
            operation: "GetReportData",
            reason: format!(
                "{ITEM_INVENTORY_SUMMARY}: Available of `{item}` at `{site}` is `{available}`, not a whole number"
            ),
        })?;
        rows.push((item.to_string(), figure));
    }
    Ok(rows)
}

/// `12`, `12.00`, `-1`; reports render numbers with a zero fraction on some tenants.
fn parse_figure(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.split_once('.') {
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => int.parse().ok(),
        Some(_) => None,
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_figure;

    #[test]
    fn figures() {
        assert_eq!(parse_figure("12"), Some(12));
        assert_eq!(parse_figure(" 7.00 "), Some(7));
        assert_eq!(parse_figure("-1"), Some(-1));
        assert_eq!(parse_figure("1.5"), None);
        assert_eq!(parse_figure("x"), None);
    }
}
