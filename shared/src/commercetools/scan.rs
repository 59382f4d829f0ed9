//! Whole-collection reads for the nightly reconciliation: every inventory entry of a supply
//! channel, every order of a period that was never marked exported, and the exported or
//! cancelled orders of a period (a page at a time).
//!
//! Both walk with an id cursor (`sort=id asc`, `id > "<last>"`, 500 a page,
//! `withTotal=false`): offsets stop at 10,000 and a total is expensive on large collections
//! (commercetools.md §2, "Large result sets"). The inventory walk splits the id space into
//! ranges by the ids' leading hex digit and walks the ranges concurrently, so a channel of
//! 100,000 entries is read in the time of a fraction of its 200 pages.

use futures::stream::{self, BoxStream, StreamExt};

use super::client::{CtClient, MAX_LIMIT};
use super::error::CtError;
use super::inventory::{query_page, quote, walk_orders};
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

/// Where a range walk stands.
struct Cursor {
    predicate: String,
    last_id: Option<String>,
    done: bool,
}

impl CtClient {
    /// Every inventory entry of a supply channel, page by page as they arrive, from
    /// `partitions` id ranges walked concurrently. Pages come in no particular order; every
    /// entry comes exactly once. An error ends its range's walk (the stream yields it).
    pub fn inventory_pages(
        &self,
        channel_id: &str,
        partitions: usize,
    ) -> BoxStream<'static, Result<Vec<InventoryEntry>, CtError>> {
        let channel = format!("supplyChannel(id={})", quote(channel_id));
        let walks = id_ranges(partitions).into_iter().map(|(lower, upper)| {
            let mut predicate = channel.clone();
            if let Some(lower) = lower {
                predicate.push_str(&format!(" and id >= {}", quote(&lower)));
            }
            if let Some(upper) = upper {
                predicate.push_str(&format!(" and id < {}", quote(&upper)));
            }
            let cursor = Cursor {
                predicate,
                last_id: None,
                done: false,
            };
            let client = self.clone();
            stream::unfold(cursor, move |mut cursor| {
                let client = client.clone();
                async move {
                    if cursor.done {
                        return None;
                    }
                    let predicate = match &cursor.last_id {
                        None => cursor.predicate.clone(),
                        Some(last) => format!("{} and id > {}", cursor.predicate, quote(last)),
                    };
                    let page: Result<Vec<InventoryEntry>, CtError> =
                        query_page(client.http.clone(), "inventory", predicate, Some("id asc"))
                            .await;
                    match page {
                        Ok(entries) => {
                            cursor.done = entries.len() < MAX_LIMIT as usize;
                            cursor.last_id = entries.last().map(|e| e.id.clone());
                            Some((Ok(entries), cursor))
                        }
                        Err(e) => {
                            cursor.done = true;
                            Some((Err(e), cursor))
                        }
                    }
                }
            })
            .boxed()
        });
        stream::select_all(walks).boxed()
    }

    /// Orders created in `(created_after, created_before)` (ISO 8601), not cancelled, without
    /// a `syncInfo` entry for the export channel: the orders Peoplevox never got. Sorted by id.
    pub async fn unexported_orders_between(
        &self,
        export_channel_id: &str,
        created_after: &str,
        created_before: &str,
    ) -> Result<Vec<Order>, CtError> {
        let predicate = format!(
            "createdAt > {} and createdAt < {} and orderState != \"Cancelled\" and not(syncInfo(channel(id={})))",
            quote(created_after),
            quote(created_before),
            quote(export_channel_id)
        );
        walk_orders(self.clone(), predicate).await
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
        let mut predicate = format!(
            "createdAt > {} and createdAt < {} and (syncInfo(channel(id={})) or orderState = \"Cancelled\")",
            quote(created_after),
            quote(created_before),
            quote(export_channel_id)
        );
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
