//! Whole-collection reads for the nightly reconciliation: every inventory entry of a supply
//! channel, and the orders of a period that were never marked exported, that were exported
//! or cancelled, or that were exported and modified since (a page at a time).
//!
//! Each walks with an id cursor (`sort=id asc`, `id > "<last>"`, 500 a page,
//! `withTotal=false`): offsets stop at 10,000 and a total is expensive on large collections
//! (commercetools.md §2, "Large result sets"). The inventory walk splits the id space into
//! ranges by the ids' leading hex digit and walks the ranges concurrently, so a channel of
//! 100,000 entries is read in the time of a fraction of its 200 pages; each page says where
//! its range stands, so that a walk stopped by its deadline resumes there.

use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};

use super::client::{CtClient, MAX_LIMIT};
use super::error::CtError;
use super::inventory::{query_page, quote};
use super::types::{InventoryEntry, Order};

/// Lower-case hex digits, the first character of every commercetools id (UUIDs).
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `partitions` (1..=16) id ranges that together cover every string: the first has no lower
/// bound and the last no upper bound, so an id of any shape falls in exactly one.
pub fn id_ranges(partitions: usize) -> Vec<(Option<String>, Option<String>)> {
    let n = partitions.clamp(1, HEX.len());
    let digit = |k: usize| char::from(HEX[k * HEX.len() / n]).to_string();
    (0..n)
        .map(|k| ((k > 0).then(|| digit(k)), (k + 1 < n).then(|| digit(k + 1))))
        .collect()
}

/// Where the walk of one id range stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeCursor {
    /// The last id read in the range; `None` before its first page.
    pub last_id: Option<String>,
    /// The range's last page has been read.
    pub done: bool,
}

/// A page of one id range's walk.
#[derive(Debug)]
pub struct RangePage {
    /// Which range (an index into the cursors the walk started from).
    pub range: usize,
    /// Its entries, by id.
    pub entries: Vec<InventoryEntry>,
    /// Where the range stands after this page.
    pub cursor: RangeCursor,
}

/// A range walk in progress.
struct Walk {
    range: usize,
    predicate: String,
    cursor: RangeCursor,
}

impl CtClient {
    /// Every inventory entry of a supply channel, page by page as they arrive, from the id
    /// ranges of `from` (one cursor a range, `id_ranges(from.len())`; default cursors start
    /// from the beginning) walked concurrently, each after its cursor. Pages come in no
    /// particular order; every entry after the cursors comes exactly once. An error ends its
    /// range's walk (the stream yields it).
    pub fn inventory_pages(
        &self,
        channel_id: &str,
        from: &[RangeCursor],
    ) -> BoxStream<'static, Result<RangePage, CtError>> {
        let channel = format!("supplyChannel(id={})", quote(channel_id));
        let ranges = id_ranges(from.len()).into_iter().zip(from.iter().cloned());
        let walks = ranges
            .enumerate()
            .filter(|(_, (_, cursor))| !cursor.done)
            .map(|(range, ((lower, upper), cursor))| {
                let mut predicate = channel.clone();
                if let Some(lower) = lower {
                    predicate.push_str(&format!(" and id >= {}", quote(&lower)));
                }
                if let Some(upper) = upper {
                    predicate.push_str(&format!(" and id < {}", quote(&upper)));
                }
                let walk = Walk {
                    range,
                    predicate,
                    cursor,
                };
                let client = self.clone();
                stream::unfold(walk, move |mut walk| {
                    let client = client.clone();
                    async move {
                        if walk.cursor.done {
                            return None;
                        }
                        let predicate = match &walk.cursor.last_id {
                            None => walk.predicate.clone(),
                            Some(last) => format!("{} and id > {}", walk.predicate, quote(last)),
                        };
                        let page: Result<Vec<InventoryEntry>, CtError> =
                            query_page(client.http.clone(), "inventory", predicate, Some("id asc"))
                                .await;
                        match page {
                            Ok(entries) => {
                                walk.cursor.done = entries.len() < MAX_LIMIT as usize;
                                if let Some(last) = entries.last() {
                                    walk.cursor.last_id = Some(last.id.clone());
                                }
                                let page = RangePage {
                                    range: walk.range,
                                    entries,
                                    cursor: walk.cursor.clone(),
                                };
                                Some((Ok(page), walk))
                            }
                            Err(e) => {
                                walk.cursor.done = true;
                                Some((Err(e), walk))
                            }
                        }
                    }
                })
                .boxed()
            });
        stream::select_all(walks).boxed()
    }

    /// One page (up to [`MAX_LIMIT`]) of the orders created in `(created_after,
    /// created_before)` (ISO 8601), not cancelled, without a `syncInfo` entry for the export
    /// channel (the orders Peoplevox never got), after the id `after_id`, sorted by id; `true`
    /// with the last page. After an outage they are many: the order sweep reads them a page
    /// at a time, its unit of checkpointed work.
    pub async fn unexported_orders_page(
        &self,
        export_channel_id: &str,
        created_after: &str,
        created_before: &str,
        after_id: Option<&str>,
    ) -> Result<(Vec<Order>, bool), CtError> {
        let predicate = format!(
            "createdAt > {} and createdAt < {} and orderState != \"Cancelled\" and not(syncInfo(channel(id={})))",
            quote(created_after),
            quote(created_before),
            quote(export_channel_id)
        );
        self.orders_page(predicate, after_id).await
    }

    /// One page (up to [`MAX_LIMIT`]) of the orders created in `(created_after,
    /// created_before)` (ISO 8601) that carry the export channel's `syncInfo` or are cancelled
    /// (with or without it), after the id `after_id`, sorted by id; `true` with the last page.
    /// The status sweep reads them a page at a time: nearly every order of the period is
    /// exported, too many to hold at once, and a page is its unit of checkpointed work.
    pub async fn exported_or_cancelled_orders_page(
        &self,
        export_channel_id: &str,
        created_after: &str,
        created_before: &str,
        after_id: Option<&str>,
    ) -> Result<(Vec<Order>, bool), CtError> {
        let predicate = format!(
            "createdAt > {} and createdAt < {} and (syncInfo(channel(id={})) or orderState = \"Cancelled\")",
            quote(created_after),
            quote(created_before),
            quote(export_channel_id)
        );
        self.orders_page(predicate, after_id).await
    }

    /// One page (up to [`MAX_LIMIT`]) of the orders that carry the export channel's
    /// `syncInfo` and were modified after `modified_after` (ISO 8601), after the id
    /// `after_id`, sorted by id; `true` with the last page. Booking a delivery or a parcel
    /// modifies its order, so these hold every delivery booked since, whenever the order was
    /// created: the sweep of late tracking reads them a page at a time.
    pub async fn exported_orders_modified_page(
        &self,
        export_channel_id: &str,
        modified_after: &str,
        after_id: Option<&str>,
    ) -> Result<(Vec<Order>, bool), CtError> {
        let predicate = format!(
            "lastModifiedAt > {} and syncInfo(channel(id={}))",
            quote(modified_after),
            quote(export_channel_id)
        );
        self.orders_page(predicate, after_id).await
    }

    /// One page of the orders matching `predicate` after the id `after_id`, sorted by id;
    /// `true` with the last (short) page.
    async fn orders_page(
        &self,
        mut predicate: String,
        after_id: Option<&str>,
    ) -> Result<(Vec<Order>, bool), CtError> {
        if let Some(after) = after_id {
            predicate.push_str(&format!(" and id > {}", quote(after)));
        }
        let page: Vec<Order> =
            query_page(self.http.clone(), "orders", predicate, Some("id asc")).await?;
        let last = page.len() < MAX_LIMIT as usize;
        Ok((page, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covering(ranges: &[(Option<String>, Option<String>)], id: &str) -> usize {
        ranges
            .iter()
            .filter(|(lo, hi)| {
                lo.as_deref().is_none_or(|lo| id >= lo) && hi.as_deref().is_none_or(|hi| id < hi)
            })
            .count()
    }

    #[test]
    fn ranges_cover_every_id_once() {
        for n in [1, 3, 8, 16, 40] {
            let ranges = id_ranges(n);
            assert_eq!(ranges.len(), n.clamp(1, 16));
            for id in [
                "",
                "0",
                "00000000-0000",
                "7fff",
                "8",
                "a1b2",
                "ffff-ffff",
                "Zebra",
                "~",
            ] {
                assert_eq!(covering(&ranges, id), 1, "{n} ranges, id {id:?}");
            }
        }
        assert_eq!(
            id_ranges(2),
            vec![(None, Some("8".to_string())), (Some("8".to_string()), None)]
        );
    }
}
