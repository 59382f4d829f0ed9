//! Where the stock stage's items begin and end. "Item inventory summary" is read by offset,
//! sorted by item code only, and an item may be listed on several rows (one per location), so
//! an item at a page's edge may have rows on both sides of it, read at different times (hours
//! apart when the run was handed to a later invocation), and rows can shift or repeat between
//! the two reads. So:
//! - the last item of a page is held back (the carry) until the next page shows whether its
//!   rows go on;
//! - a carry whose rows do not go on is complete as its own page read it, and keeps that read's
//!   time: stamped with the later page's, it could beat a live figure newer than its rows (the
//!   stock ledger keeps the newest figure);
//! - a carry whose rows go on is never added up across the two reads: it is re-read by its
//!   code, in one read;
//! - when the report's row count changed between the two reads, rows may have moved across the
//!   edge: the carry and the next page's first item may have lost or repeated rows, and both
//!   are re-read.
//!
//! An item that begins and ends inside a page comes from one read and is taken as read. Rows
//! that shift by more than an item (whole items skipped or repeated) are not detected here; a
//! repeated item is compared twice, which changes nothing the second time.

use std::collections::VecDeque;

use super::run::Cursor;
use super::{NightlyReconcile, ReconcileError};
use crate::flows::stock_delta::ItemFigure;
use crate::store::now_epoch_ms;

/// The item held back at the end of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Carry {
    /// Peoplevox item.
    pub(super) item: String,
    /// Its rows read so far, added up (no figure when `read_at_ms` is `None`).
    pub(super) available: i64,
    /// When the read that found all its rows began; `None` when no single read did.
    pub(super) read_at_ms: Option<i64>,
}

impl Carry {
    /// The carry a checkpoint holds.
    pub(super) fn of(cursor: &Cursor) -> Option<Self> {
        cursor.carry.clone().map(|(item, available)| Self {
            item,
            available,
            read_at_ms: cursor.carry_read_at_ms,
        })
    }

    /// Puts `carry` in the checkpoint.
    pub(super) fn store(carry: Option<Self>, cursor: &mut Cursor) {
        cursor.carry_read_at_ms = carry.as_ref().and_then(|c| c.read_at_ms);
        cursor.carry = carry.map(|c| (c.item, c.available));
    }
}

/// A page's rows, read at `read_at_ms`, with the carry of the page before.
#[derive(Debug)]
pub(super) struct PageRows {
    /// `(item, available)` per row, in report order.
    pub(super) rows: Vec<(String, i64)>,
    /// When the page's read began, epoch ms.
    pub(super) read_at_ms: i64,
    /// The report's row count differs from the previous page's: rows may have moved.
    pub(super) shifted: bool,
    /// No page follows.
    pub(super) last: bool,
}

/// What a page comes to.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Split {
    /// Items complete as read, each with its read's time.
    pub(super) complete: Vec<ItemFigure>,
    /// Items to re-read by their code.
    pub(super) reread: Vec<String>,
    /// The item held back for the next page.
    pub(super) carry: Option<Carry>,
}

/// Splits a page into complete items, items to re-read and the new carry.
pub(super) fn split(carry: Option<Carry>, page: PageRows) -> Split {
    let mut items = grouped(page.rows);
    let mut split = Split::default();
    // An item whose rows may have begun before this page.
    let mut opening = None;
    if let Some(carry) = carry {
        if items.front().is_some_and(|(item, _)| *item == carry.item) {
            items.pop_front();
            opening = Some(carry.item);
        } else if items.is_empty() && !page.last {
            // Nothing of the site on this page: the next one decides.
            split.carry = Some(carry);
            return split;
        } else {
            match carry.read_at_ms {
                Some(read_at_ms) if !page.shifted => split.complete.push(ItemFigure {
                    item: carry.item,
                    available: carry.available,
                    read_at_ms,
                }),
                _ => split.reread.push(carry.item),
            }
        }
    }
    if opening.is_none() && page.shifted {
        opening = items.pop_front().map(|(item, _)| item);
    }
    if let Some(item) = opening {
        if items.is_empty() && !page.last {
            // It fills the page and may go on: re-read once the next page shows its end.
            split.carry = Some(Carry {
                item,
                available: 0,
                read_at_ms: None,
            });
            return split;
        }
        split.reread.push(item);
    }
    let held = if page.last { None } else { items.pop_back() };
    split.carry = held.map(|(item, available)| Carry {
        item,
        available,
        read_at_ms: Some(page.read_at_ms),
    });
    split
        .complete
        .extend(items.into_iter().map(|(item, available)| ItemFigure {
            item,
            available,
            read_at_ms: page.read_at_ms,
        }));
    split
}

/// One `(item, available)` per run of an item's rows, its rows added up (a sum past `i64` is
/// nonsense from the report, held at the bound rather than a panic or a wrap).
fn grouped(rows: Vec<(String, i64)>) -> VecDeque<(String, i64)> {
    let mut items: VecDeque<(String, i64)> = VecDeque::new();
    for (item, available) in rows {
        match items.back_mut() {
            Some((previous, total)) if *previous == item => {
                *total = total.saturating_add(available);
            }
            _ => items.push_back((item, available)),
        }
    }
    items
}

impl NightlyReconcile {
    /// `items` at `site`, read by their codes in one read. An item the read no longer lists
    /// has left the site since its page was read: it has no figure to compare.
    pub(super) async fn reread(
        &self,
        site: &str,
        items: &[String],
    ) -> Result<Vec<ItemFigure>, ReconcileError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let read_at_ms = now_epoch_ms();
        let found = self.parts.pvx.read_availability(site, items).await?;
        Ok(found
            .into_iter()
            .map(|(item, available)| ItemFigure {
                item,
                available,
                read_at_ms,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_AT: i64 = 2_000;
    const EARLIER: i64 = 1_000;

    fn rows(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(i, n)| (i.to_string(), *n)).collect()
    }

    fn page(list: &[(&str, i64)], shifted: bool, last: bool) -> PageRows {
        PageRows {
            rows: rows(list),
            read_at_ms: PAGE_AT,
            shifted,
            last,
        }
    }

    fn carry(item: &str, available: i64, read_at_ms: Option<i64>) -> Option<Carry> {
        Some(Carry {
            item: item.into(),
            available,
            read_at_ms,
        })
    }

    fn read(item: &str, available: i64, read_at_ms: i64) -> ItemFigure {
        ItemFigure {
            item: item.into(),
            available,
            read_at_ms,
        }
    }

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_last_item_is_held_back_and_the_rest_taken_as_read() {
        let s = split(
            None,
            page(&[("A", 1), ("B", 2), ("B", 3), ("C", 4)], false, false),
        );
        assert_eq!(s.complete, [read("A", 1, PAGE_AT), read("B", 5, PAGE_AT)]);
        assert!(s.reread.is_empty());
        assert_eq!(s.carry, carry("C", 4, Some(PAGE_AT)));
        // On the last page nothing is held back.
        let s = split(None, page(&[("A", 1), ("C", 4)], false, true));
        assert_eq!(s.complete, [read("A", 1, PAGE_AT), read("C", 4, PAGE_AT)]);
        assert_eq!(s.carry, None);
    }

    #[test]
    fn a_carry_that_does_not_go_on_keeps_its_own_read_time() {
        let s = split(
            carry("B", 5, Some(EARLIER)),
            page(&[("C", 1), ("D", 2)], false, false),
        );
        assert_eq!(s.complete, [read("B", 5, EARLIER), read("C", 1, PAGE_AT)]);
        assert!(s.reread.is_empty());
        // Also when the next page is the last and empty.
        let s = split(carry("B", 5, Some(EARLIER)), page(&[], false, true));
        assert_eq!(s.complete, [read("B", 5, EARLIER)]);
    }

    #[test]
    fn a_carry_that_goes_on_is_re_read_never_added_up_across_reads() {
        let s = split(
            carry("B", 5, Some(EARLIER)),
            page(&[("B", 4), ("C", 1), ("D", 2)], false, false),
        );
        assert_eq!(s.reread, codes(&["B"]));
        assert_eq!(s.complete, [read("C", 1, PAGE_AT)]);
        assert_eq!(s.carry, carry("D", 2, Some(PAGE_AT)));
        // A row repeated from the page before (rows shifted) is no different.
        let s = split(
            carry("B", 5, Some(EARLIER)),
            page(&[("B", 5), ("C", 1)], true, true),
        );
        assert_eq!(s.reread, codes(&["B"]));
        assert_eq!(s.complete, [read("C", 1, PAGE_AT)]);
    }

    #[test]
    fn an_item_filling_a_page_is_re_read_once_its_end_is_seen() {
        let s = split(
            carry("B", 5, Some(EARLIER)),
            page(&[("B", 1)], false, false),
        );
        assert_eq!(
            s,
            Split {
                carry: carry("B", 0, None),
                ..Split::default()
            }
        );
        let s = split(s.carry, page(&[("C", 1), ("D", 1)], false, false));
        assert_eq!(s.reread, codes(&["B"]));
        assert_eq!(s.complete, [read("C", 1, PAGE_AT)]);
    }

    #[test]
    fn when_rows_moved_both_items_at_the_edge_are_re_read() {
        let s = split(
            carry("B", 5, Some(EARLIER)),
            page(&[("C", 1), ("D", 2), ("E", 3)], true, false),
        );
        assert_eq!(s.reread, codes(&["B", "C"]));
        assert_eq!(s.complete, [read("D", 2, PAGE_AT)]);
        assert_eq!(s.carry, carry("E", 3, Some(PAGE_AT)));
    }

    #[test]
    fn a_carry_without_a_read_time_is_re_read() {
        let s = split(carry("B", 5, None), page(&[("C", 1)], false, true));
        assert_eq!(s.reread, codes(&["B"]));
        assert_eq!(s.complete, [read("C", 1, PAGE_AT)]);
    }

    #[test]
    fn a_page_without_rows_of_the_site_keeps_the_carry() {
        let s = split(carry("B", 5, Some(EARLIER)), page(&[], true, false));
        assert_eq!(s.carry, carry("B", 5, Some(EARLIER)));
        assert!(s.complete.is_empty() && s.reread.is_empty());
    }

    #[test]
    fn a_sum_past_the_bound_is_held_there() {
        let s = split(None, page(&[("A", i64::MAX), ("A", 1)], false, true));
        assert_eq!(s.complete, [read("A", i64::MAX, PAGE_AT)]);
    }

    #[test]
    fn the_checkpoint_keeps_the_carry_and_its_read_time() {
        let mut cursor = Cursor::default();
        Carry::store(carry("B", 5, Some(EARLIER)), &mut cursor);
        assert_eq!(Carry::of(&cursor), carry("B", 5, Some(EARLIER)));
        // A checkpoint written before the read time was kept has none.
        let old: Cursor = serde_json::from_str(
            r#"{"stage":3,"page":2,"total_rows":9,"carry":["B",5],"last_key":null}"#,
        )
        .unwrap();
        assert_eq!(Carry::of(&old), carry("B", 5, None));
        Carry::store(None, &mut cursor);
        assert_eq!((cursor.carry, cursor.carry_read_at_ms), (None, None));
    }
}
