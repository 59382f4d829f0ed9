//! Paged reads: every row a GetData or GetReportData request matches, read at most
//! [`MAX_ITEMS_PER_PAGE`] rows a page, following `TotalCount`.
//!
//! Why pages, and why 1000: Zynk's connector "will make as many requests as required …  The
//! maximum this can be is 1000, anything higher will be reset to 1000" (zynksoftware/
//! Zynk-Workflow `_docs/Peoplevox-Connector/Export-Despatches-from-Peoplevox.md`, ItemsPerPage),
//! and `ItemsPerPage` 0 ("everything") "will time out" on large data (MattG241/
//! virtual-warehouse-app `README.md`). `PageNo` is 1-based and `TotalCount` counts the matching
//! rows over all pages (WSDL `IntegrationResponse`; CorsetStory/PVXMageConnect pages on it).
//!
//! A read stops at an empty page or once it holds `TotalCount` rows. A tenant that answers
//! `TotalCount` 0 with rows (UNCONFIRMED that any does) is read until a short page. A read that
//! would need more than `peoplevox.max_pages_per_read` pages, or a tenant that answers every
//! `PageNo` with the same rows, is an error that says so, never an endless loop.

use std::future::Future;

use super::client::PvxClient;
use super::csv_table::CsvTable;
use super::error::PvxError;
use super::types::{DataPage, ReportQuery};

/// Rows asked for per page: the most a tenant is known to serve.
pub const MAX_ITEMS_PER_PAGE: u32 = 1000;

impl PvxClient {
    /// Every record of `template` (GetData) that `search_clause` matches, page by page.
    pub async fn get_data_all(
        &self,
        template: &str,
        search_clause: &str,
    ) -> Result<CsvTable, PvxError> {
        let what = format!("template \"{template}\"");
        read_pages("GetData", &what, self.max_pages_per_read(), |page_no| {
            self.get_data(template, page_no, MAX_ITEMS_PER_PAGE, search_clause)
        })
        .await
    }

    /// Every row of a report (GetReportData) that `query` matches, page by page; the query's
    /// own `page_no` and `items_per_page` are not used.
    pub async fn get_report_all(&self, query: &ReportQuery) -> Result<CsvTable, PvxError> {
        let what = format!("report \"{}\"", query.template);
        read_pages(
            "GetReportData",
            &what,
            self.max_pages_per_read(),
            |page_no| {
                let query = ReportQuery {
                    page_no,
                    items_per_page: MAX_ITEMS_PER_PAGE,
                    ..query.clone()
                };
                async move { self.get_report_data(&query).await }
            },
        )
        .await
    }
}

/// Reads pages 1, 2, … with `read` until the rows are all in (see the module comment).
async fn read_pages<F, Fut>(
    operation: &'static str,
    what: &str,
    max_pages: u32,
    mut read: F,
) -> Result<CsvTable, PvxError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<DataPage, PvxError>>,
{
    let decode = |reason: String| PvxError::Decode { operation, reason };
    let mut all = CsvTable::default();
    let mut previous: Vec<Vec<String>> = Vec::new();
    for page_no in 1..=max_pages.max(1) {
        let page = read(page_no).await?;
        let rows = if page_no == 1 {
            all.headers = page.table.headers;
            page.table.rows
        } else {
            in_columns_of(&all.headers, page.table).map_err(|missing| {
                decode(format!(
                    "page {page_no} of {what} lacks the column `{missing}` that page 1 had"
                ))
            })?
        };
        if rows.is_empty() {
            return Ok(all);
        }
        if page_no > 1 && rows == previous {
            return Err(decode(format!(
                "{what} answered page {page_no} with the rows of page {}: the tenant ignores PageNo",
                page_no - 1
            )));
        }
        let short = rows.len() < MAX_ITEMS_PER_PAGE as usize;
        all.rows.extend(rows.iter().cloned());
        let done = if page.total > 0 {
            all.rows.len() as i64 >= page.total
        } else {
            short
        };
        if done {
            return Ok(all);
        }
        previous = rows;
    }
    Err(decode(format!(
        "{what} has more rows than {max_pages} pages of {MAX_ITEMS_PER_PAGE} hold; narrow the \
         read or raise peoplevox.max_pages_per_read"
    )))
}

/// A later page's rows in the first page's column order (a page may list its columns in
/// another order); the name of a column it lacks otherwise.
fn in_columns_of(headers: &[String], page: CsvTable) -> Result<Vec<Vec<String>>, String> {
    if page.headers == headers || page.rows.is_empty() {
        return Ok(page.rows);
    }
    let positions = headers
        .iter()
        .map(|h| page.headers.iter().position(|p| p == h).ok_or(h.clone()))
        .collect::<Result<Vec<usize>, String>>()?;
    Ok(page
        .rows
        .into_iter()
        .map(|row| {
            positions
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or_default())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A tenant of `total` rows `r0…`, serving pages of at most `cap` rows (0: all at once),
    /// answering `TotalCount` `reported` (None: the true count).
    fn tenant(total: usize, cap: usize, reported: Option<i64>) -> impl Fn(u32) -> DataPage {
        move |page_no| {
            let size = if cap == 0 { total } else { cap };
            let start = (page_no as usize - 1) * size;
            let rows = (start..total.min(start + size))
                .map(|i| vec![format!("r{i}")])
                .collect();
            DataPage {
                total: reported.unwrap_or(total as i64),
                table: CsvTable {
                    headers: vec!["Id".into()],
                    rows,
                },
            }
        }
    }

    async fn read_all(
        serve: impl Fn(u32) -> DataPage,
        max_pages: u32,
    ) -> (Result<CsvTable, PvxError>, Vec<u32>) {
        let asked = RefCell::new(Vec::new());
        let result = read_pages("GetData", "template \"T\"", max_pages, |n| {
            asked.borrow_mut().push(n);
            let page = serve(n);
            async move { Ok(page) }
        })
        .await;
        (result, asked.into_inner())
    }

    #[tokio::test]
    async fn pages_are_followed_until_total_count() {
        let (all, asked) = read_all(tenant(2500, 1000, None), 10).await;
        let all = all.unwrap();
        assert_eq!(all.rows.len(), 2500);
        assert_eq!(all.rows[2499], ["r2499"]);
        assert_eq!(asked, [1, 2, 3]);
        // A server that pages smaller than asked is followed too.
        let (all, asked) = read_all(tenant(1200, 500, None), 10).await;
        assert_eq!(all.unwrap().rows.len(), 1200);
        assert_eq!(asked, [1, 2, 3]);
        // One that ignores ItemsPerPage answers everything at once.
        let (all, asked) = read_all(tenant(1500, 0, None), 10).await;
        assert_eq!(all.unwrap().rows.len(), 1500);
        assert_eq!(asked, [1]);
    }

    #[tokio::test]
    async fn empty_and_exact_reads_stop_at_once() {
        let (all, asked) = read_all(tenant(0, 1000, None), 10).await;
        assert!(all.unwrap().rows.is_empty());
        assert_eq!(asked, [1]);
        let (all, asked) = read_all(tenant(1000, 1000, None), 10).await;
        assert_eq!(all.unwrap().rows.len(), 1000);
        assert_eq!(asked, [1]);
        // No TotalCount: read to the short page.
        let (all, asked) = read_all(tenant(2100, 1000, Some(0)), 10).await;
        assert_eq!(all.unwrap().rows.len(), 2100);
        assert_eq!(asked, [1, 2, 3]);
    }

    #[tokio::test]
    async fn too_many_pages_is_a_clear_error() {
        let (all, asked) = read_all(tenant(5000, 1000, None), 3).await;
        let e = all.unwrap_err().to_string();
        assert!(e.contains("more rows than 3 pages of 1000"), "{e}");
        assert!(e.contains("peoplevox.max_pages_per_read"), "{e}");
        assert_eq!(asked, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_tenant_that_ignores_page_no_is_caught() {
        let page_one = tenant(3000, 1000, None);
        let (all, asked) = read_all(move |_| page_one(1), 10).await;
        let e = all.unwrap_err().to_string();
        assert!(e.contains("ignores PageNo"), "{e}");
        assert_eq!(asked, [1, 2]);
    }

    #[test]
    fn later_pages_are_read_by_column_name() {
        let page = |headers: &[&str], row: &[&str]| CsvTable {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: vec![row.iter().map(|v| v.to_string()).collect()],
        };
        let headers = vec!["A".to_string(), "B".to_string()];
        assert_eq!(
            in_columns_of(&headers, page(&["B", "A", "C"], &["b", "a", "c"])).unwrap(),
            [["a", "b"]]
        );
        assert_eq!(
            in_columns_of(&headers, page(&["A"], &["a"])).unwrap_err(),
            "B"
        );
    }
}
