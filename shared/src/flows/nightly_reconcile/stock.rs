//! The stock stage of one site: "Item inventory summary" page by page, each page compared and
//! repaired through the stock flow ([`StockDelta::reconcile_page`]), checkpointed after it.
//!
//! Pages are read ahead (`read_ahead`) while the previous one is compared, so the run waits
//! on the request budget, not on commercetools. An item can be listed on several rows
//! (locations); the items at a page's edges are settled by [`stock_boundary`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use futures::StreamExt;

use super::report::Drift;
use super::run::{self, Stage, Versioned, seen};
use super::stock_boundary::{self, Carry, PageRows};
use super::{NightlyReconcile, ReconcileError, StageEnd, Work};
use crate::flows::stock_delta::ReconcilePage;
use crate::peoplevox::PvxError;
use crate::peoplevox::availability::InventoryPage;
use crate::store::now_epoch_ms;

/// A page as the reader hands it over.
enum Fetched {
    /// Read at `read_at_ms`.
    Page(Result<InventoryPage, PvxError>, i64),
    /// Not read: past the expected end, or the stage is stopping.
    Skipped,
}

impl NightlyReconcile {
    /// Compares pages of `site` until the site is done or the budget is spent.
    pub(super) async fn stock_stage(
        &self,
        current: &mut Versioned,
        site: &str,
        work: &mut Work<'_>,
    ) -> Result<StageEnd, ReconcileError> {
        let stage = Stage::Stock {
            site: site.to_string(),
        };
        let size = self.parts.rules.page_size;
        let first = current.state.cursor.page.max(1);
        let expected = |total: i64, per_page: usize| -> u32 {
            let per_page = i64::try_from(per_page.max(1)).unwrap_or(i64::MAX);
            u32::try_from((total + per_page - 1) / per_page).unwrap_or(u32::MAX)
        };
        let last_page = Arc::new(AtomicU32::new(
            current
                .state
                .cursor
                .total_rows
                .map_or(u32::MAX, |t| expected(t, size as usize).max(first)),
        ));
        work.observer.stage(
            &stage,
            u64::from(first - 1),
            current
                .state
                .cursor
                .total_rows
                .map(|t| u64::from(expected(t, size as usize))),
        );
        let stopping = Arc::new(AtomicBool::new(false));
        let pvx = self.parts.pvx.clone();
        let reader = {
            let (site, last_page, stopping) =
                (site.to_string(), last_page.clone(), stopping.clone());
            futures::stream::iter(first..).map(move |n| {
                let (pvx, site, last_page, stopping) = (
                    pvx.clone(),
                    site.clone(),
                    last_page.clone(),
                    stopping.clone(),
                );
                async move {
                    if stopping.load(Ordering::Relaxed) || n > last_page.load(Ordering::Relaxed) {
                        return (n, Fetched::Skipped);
                    }
                    let read_at = now_epoch_ms();
                    let page = pvx.read_inventory_page(&site, n, size).await;
                    if let Ok(p) = &page
                        && n == 1
                        && p.rows_read > 0
                    {
                        // The server's own page length tells how many pages to expect.
                        last_page.store(expected(p.total_rows, p.rows_read), Ordering::Relaxed);
                    }
                    (n, Fetched::Page(page, read_at))
                }
            })
        };
        let mut pages = reader.buffered(self.parts.rules.read_ahead);
        let end = loop {
            if work.exhausted() {
                break StageEnd::OutOfTime;
            }
            let Some((n, fetched)) = pages.next().await else {
                break StageEnd::OutOfTime;
            };
            let (page, read_at) = match fetched {
                Fetched::Page(page, read_at) => (page, read_at),
                // Past the first page's estimate (the report grew): read it now.
                Fetched::Skipped => {
                    let read_at = now_epoch_ms();
                    (
                        self.parts.pvx.read_inventory_page(site, n, size).await,
                        read_at,
                    )
                }
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    stopping.store(true, Ordering::Relaxed);
                    drain(&mut pages).await;
                    return Err(ReconcileError::Invalid(format!(
                        "reading page {n} of \"Item inventory summary\" at {site}: {e}"
                    )));
                }
            };
            let done = self
                .compare_page(current, site, n, page, read_at, work)
                .await?;
            work.units += 1;
            work.observer.progress(
                &stage,
                u64::from(n),
                current
                    .state
                    .cursor
                    .total_rows
                    .map(|t| u64::from(expected(t, size as usize))),
            );
            if done {
                break StageEnd::Done;
            }
        };
        // Let the reads in flight finish, so their budget slots are released as answered.
        stopping.store(true, Ordering::Relaxed);
        drain(&mut pages).await;
        Ok(end)
    }

    /// One page: grouped by item (the items at its edges re-read), compared and repaired, its
    /// items recorded, the checkpoint moved past it. Returns whether it was the site's last
    /// page.
    async fn compare_page(
        &self,
        current: &mut Versioned,
        site: &str,
        n: u32,
        page: InventoryPage,
        read_at: i64,
        work: &Work<'_>,
    ) -> Result<bool, ReconcileError> {
        let cursor = &current.state.cursor;
        let rows_done = cursor.rows_done + page.rows_read as i64;
        let last = page.rows_read == 0 || rows_done >= page.total_rows;
        let split = stock_boundary::split(
            Carry::of(cursor),
            PageRows {
                rows: page.rows,
                read_at_ms: read_at,
                shifted: cursor.total_rows.is_some_and(|t| t != page.total_rows),
                last,
            },
        );
        let mut items = split.complete;
        items.extend(self.reread(site, &split.reread).await?);
        let codes: Vec<String> = items.iter().map(|read| read.item.clone()).collect();
        let outcome = self
            .parts
            .stock
            .reconcile_page(
                ReconcilePage {
                    site: site.to_string(),
                    items,
                    run: format!("reconcile:{}", current.state.id),
                },
                current.state.dry_run,
            )
            .await;
        seen::record(
            self.parts.state.as_ref(),
            &current.state.id,
            site,
            n,
            &codes,
        )
        .await?;
        for (difference, resolution) in &outcome.differences {
            work.observer
                .difference(&Drift::new(difference, *resolution));
        }
        for item in &outcome.only_in_peoplevox {
            work.observer.only_in_peoplevox(site, item);
        }
        let state = &mut current.state;
        for (item, reason) in &outcome.failed {
            state.report.fail(format!("{site} {item}: {reason}"));
        }
        let largest = self.parts.rules.largest;
        state
            .report
            .stock
            .entry(site.to_string())
            .or_default()
            .absorb(&outcome, largest);
        state.cursor.page = n + 1;
        state.cursor.rows_done = rows_done;
        state.cursor.total_rows = Some(page.total_rows);
        Carry::store(split.carry, &mut state.cursor);
        run::save(self.parts.state.as_ref(), current).await?;
        Ok(last)
    }
}

/// Reads whatever is still in flight, without starting new reads.
async fn drain<S: futures::Stream<Item = (u32, Fetched)> + Unpin>(pages: &mut S) {
    while let Some((_, fetched)) = pages.next().await {
        if matches!(fetched, Fetched::Skipped) {
            break;
        }
    }
}
