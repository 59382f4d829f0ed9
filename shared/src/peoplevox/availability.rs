//! Availability reads from "Item inventory summary" (columns `Item code`, `Available`, `Site
//! reference`: GorgonFreeman/bedrock `collabs/collabsInventoryReview*.js`): filtered by site and
//! item codes, one paged read per 100 items, so that a batch of stock hints costs a request or
//! two, not one each; and a whole site page by page, for the nightly reconciliation. Every read
//! keeps only its site's rows (and the items it asked for) itself: a tenant may ignore the
//! search clause (see [`super::report`]).

use std::collections::BTreeMap;

use super::client::PvxClient;
use super::error::PvxError;
use super::report::{Columns, KeyFilter, KeyedRead, ReportRows, read_keyed};
use super::search::quote;
use super::types::ReportQuery;

/// The report that holds availability per item and site.
pub const ITEM_INVENTORY_SUMMARY: &str = "Item inventory summary";

/// The columns the stock reads take, all of them required.
pub const INVENTORY_COLUMNS: Columns = Columns {
    required: &["Item code", "Available", "Site reference"],
    read: &[],
};

/// One page of a site's "Item inventory summary", in item-code order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryPage {
    /// `TotalCount`: the site's rows over all pages (every site's, when the tenant ignores the
    /// search clause).
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
        let read = KeyedRead {
            report: ITEM_INVENTORY_SUMMARY,
            columns: INVENTORY_COLUMNS,
            filters: vec![KeyFilter {
                column: "Item code",
                values: items,
            }],
            also: Some(("Site reference", site)),
            order_by: "",
        };
        let rows = read_keyed(self, &read).await?;
        let mut found = BTreeMap::new();
        for (item, figure) in figures(&rows, site)? {
            // One item listed on several rows (locations) adds up; a sum past i64 is
            // nonsense from the report, held at the bound rather than a panic or a wrap.
            let total: &mut i64 = found.entry(item).or_insert(0);
            *total = (*total).saturating_add(figure);
        }
        Ok(found)
    }

    /// Page `page_no` (1-based) of every item at `site`, `page_size` rows a page (at most
    /// 1000), ordered by item code so that pages are stable while the report is walked and an
    /// item's rows stay together.
    pub async fn read_inventory_page(
        &self,
        site: &str,
        page_no: u32,
        page_size: u32,
    ) -> Result<InventoryPage, PvxError> {
        let query = ReportQuery {
            template: ITEM_INVENTORY_SUMMARY.into(),
            page_no,
            items_per_page: page_size.clamp(1, super::paging::MAX_ITEMS_PER_PAGE),
            search_clause: format!("([Site reference].Equals({}))", quote(site)),
            order_by: "[Item code] asc".into(),
            columns: INVENTORY_COLUMNS.request(),
            ..ReportQuery::default()
        };
        let page = self.get_report_data(&query).await?;
        let mut rows =
            ReportRows::from_table(ITEM_INVENTORY_SUMMARY, INVENTORY_COLUMNS, &page.table)?;
        rows.retain(|row| row.get("Site reference").eq_ignore_ascii_case(site.trim()));
        Ok(InventoryPage {
            total_rows: page.total,
            rows_read: page.table.rows.len(),
            rows: figures(&rows, site)?,
        })
    }
}

/// `(item, available)` of each row, in report order.
fn figures(rows: &ReportRows, site: &str) -> Result<Vec<(String, i64)>, PvxError> {
    rows.rows()
        .map(|row| {
            let (item, available) = (row.get("Item code"), row.get("Available"));
            let figure = parse_figure(available).ok_or_else(|| PvxError::Decode {
                operation: "GetReportData",
                reason: format!(
                    "{ITEM_INVENTORY_SUMMARY}: Available of `{item}` at `{site}` is `{available}`, not a whole number"
                ),
            })?;
            Ok((item.to_string(), figure))
        })
        .collect()
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
