//! The inventory side of the client: entries of many skus in one supply channel, creating and
//! updating entries, and the orders not yet exported that hold some of those skus.
//!
//! Sku lists go into `in (…)` predicates, split into chunks so that no request fails for length
//! (commercetools.md §2, "Long predicates") and every chunk's answer fits one page. Chunks are
//! fetched a few at a time: the API publishes no rate limit but advises against long sequential
//! runs (commercetools.md §5).

use std::collections::HashSet;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::actions::reference_by_id;
use super::client::{CtClient, MAX_LIMIT, PagedQueryResult, UpdateBody, encode};
use super::error::CtError;
use super::http::Http;
use super::types::{InventoryEntry, Order, Reference};

/// Longest predicate sent, in bytes (never fewer than its characters): requests fail with 414
/// somewhere around 10,000 characters, so this keeps a margin.
const MAX_PREDICATE_LEN: usize = 8_000;

/// Most skus in one chunk. A supply channel holds one entry per sku, so a chunk's entries always
/// fit in one page of [`MAX_LIMIT`] and no chunk needs paging.
const MAX_SKUS_PER_CHUNK: usize = MAX_LIMIT as usize;

/// Chunk requests in flight at once.
pub(crate) const CONCURRENT_CHUNKS: usize = 4;

/// Room kept in order predicates for the id cursor (`and id > "…"`): ids are at most 256
/// characters, each of which could need an escape.
const CURSOR_RESERVE: usize = 16 + 2 * 256;

/// One inventory update action ([R] `updates/InventoryEntry{Add,Remove,Change}QuantityAction.raml`).
///
/// `addQuantity` and `removeQuantity` are relative: resent after a conflict they apply twice, so
/// decide them again from the entry as it is now. `changeQuantity` sets `quantityOnStock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum InventoryUpdateAction {
    /// Adds to `quantityOnStock` (and `availableQuantity`).
    AddQuantity {
        /// How much.
        quantity: i64,
    },
    /// Takes from `quantityOnStock` (and `availableQuantity`); stock may go below zero.
    RemoveQuantity {
        /// How much.
        quantity: i64,
    },
    /// Sets `quantityOnStock`; `availableQuantity` keeps the reserved amount off it.
    ChangeQuantity {
        /// The new stock.
        quantity: i64,
    },
}

impl InventoryUpdateAction {
    /// The action's name on the wire, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AddQuantity { .. } => "addQuantity",
            Self::RemoveQuantity { .. } => "removeQuantity",
            Self::ChangeQuantity { .. } => "changeQuantity",
        }
    }
}

/// The body of `POST /inventory`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InventoryEntryDraft<'a> {
    sku: &'a str,
    quantity_on_stock: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    supply_channel: Option<Reference>,
}

impl CtClient {
    /// The entries of these skus in one supply channel (`None`: the entries without a channel).
    ///
    /// Sends `supplyChannel(id="…") and sku in (…)` (or `supplyChannel is not defined and …`),
    /// one request per chunk of skus (see [`MAX_PREDICATE_LEN`], [`MAX_SKUS_PER_CHUNK`]), a few
    /// chunks at a time. Skus without an entry are simply absent from the answer; duplicates in
    /// `skus` are asked for once.
    pub async fn query_inventory(
        &self,
        channel_id: Option<&str>,
        skus: &[String],
    ) -> Result<Vec<InventoryEntry>, CtError> {
        let channel = match channel_id {
            Some(id) => format!("supplyChannel(id={})", quote(id)),
            None => "supplyChannel is not defined".to_owned(),
        };
        let predicate = |list: &str| format!("{channel} and sku in ({list})");
        let predicates: Vec<String> = chunk_in_list(skus, predicate("").len())
            .iter()
            .map(|chunk| predicate(&in_list(chunk)))
            .collect();
        let http = self.http.clone();
        let pages: Vec<Vec<InventoryEntry>> = stream::iter(predicates)
            .map(move |predicate| query_page(http.clone(), "inventory", predicate, None))
            .buffered(CONCURRENT_CHUNKS)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// `GET /inventory/{id}`.
    pub async fn get_inventory(&self, id: &str) -> Result<InventoryEntry, CtError> {
        let url = self.http.url(&["inventory", id], &[]);
        self.http.send(Method::GET, url, None).await
    }

    /// `POST /inventory`: a new entry with `quantityOnStock` (all of it available).
    ///
    /// An entry for the same (sku, supply channel) already existing gives [`CtError::BadRequest`]
    /// with `DuplicateField` (check with `err.has_code("DuplicateField")`), e.g. when another run
    /// created it first: read it and update it instead.
    pub async fn create_inventory(
        &self,
        sku: &str,
        channel_id: Option<&str>,
        quantity_on_stock: i64,
    ) -> Result<InventoryEntry, CtError> {
        let url = self.http.url(&["inventory"], &[]);
        let draft = InventoryEntryDraft {
            sku,
            quantity_on_stock,
            supply_channel: channel_id.map(|id| reference_by_id("channel", id)),
        };
        self.http
            .send(Method::POST, url, Some(encode(&draft)?))
            .await
    }

    /// `POST /inventory/{id}` with `{version, actions}`; returns the updated entry.
    ///
    /// A stale version gives [`CtError::ConcurrentModification`]: re-read the entry and decide
    /// again, since relative actions must not be resent blindly.
    pub async fn update_inventory(
        &self,
        id: &str,
        version: i64,
        actions: &[InventoryUpdateAction],
    ) -> Result<InventoryEntry, CtError> {
        let url = self.http.url(&["inventory", id], &[]);
        let body = encode(&UpdateBody { version, actions })?;
        let names: Vec<&str> = actions.iter().map(InventoryUpdateAction::name).collect();
        tracing::debug!(inventory_id = id, version, actions = ?names, "updating commercetools inventory");
        self.http.send(Method::POST, url, Some(body)).await
    }

    /// Orders created after `created_after` (ISO 8601), not cancelled, holding a line of one of
    /// these skus, and without a `syncInfo` entry for the export channel: the orders whose stock
    /// Peoplevox does not know about yet. With `marked_after`, orders whose export mark was
    /// stamped (`syncedAt`) after that instant come too: a stock figure read before then does
    /// not know about them either. Sorted by id, each once.
    ///
    /// Each sku chunk is walked page by page with an id cursor (`sort=id asc`, `id > "<last>"`,
    /// 500 a page): offsets stop at 10,000. Conditions on one `syncInfo` entry share its
    /// parentheses (https://docs.commercetools.com/api/predicates/query, embedded objects).
    pub async fn query_unexported_orders(
        &self,
        export_channel_id: &str,
        skus: &[String],
        created_after: &str,
        marked_after: Option<&str>,
    ) -> Result<Vec<Order>, CtError> {
        let marked = match marked_after {
            None => format!("channel(id={})", quote(export_channel_id)),
            Some(at) => format!(
                "channel(id={}) and syncedAt <= {}",
                quote(export_channel_id),
                quote(at)
            ),
        };
        let predicate = |list: &str| {
            format!(
                "createdAt > {} and orderState != \"Cancelled\" and lineItems(variant(sku in ({list}))) and not(syncInfo({marked}))",
                quote(created_after),
            )
        };
        let predicates: Vec<String> = chunk_in_list(skus, predicate("").len() + CURSOR_RESERVE)
            .iter()
            .map(|chunk| predicate(&in_list(chunk)))
            .collect();
        let client = self.clone();
        let chunks: Vec<Vec<Order>> = stream::iter(predicates)
            .map(move |predicate| walk_orders(client.clone(), predicate))
            .buffered(CONCURRENT_CHUNKS)
            .try_collect()
            .await?;
        // An order with skus of several chunks comes back once per chunk.
        let mut orders: Vec<Order> = chunks.into_iter().flatten().collect();
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        orders.dedup_by(|a, b| a.id == b.id);
        Ok(orders)
    }
}

/// One page of a query, from owned values, so that many can be in flight in a stream.
pub(crate) async fn query_page<T: DeserializeOwned>(
    http: Arc<Http>,
    resource: &'static str,
    predicate: String,
    sort: Option<&'static str>,
) -> Result<Vec<T>, CtError> {
    let limit = MAX_LIMIT.to_string();
    let mut query = vec![
        ("where", predicate.as_str()),
        ("limit", limit.as_str()),
        ("withTotal", "false"),
    ];
    if let Some(sort) = sort {
        query.push(("sort", sort));
    }
    let url = http.url(&[resource], &query);
    let page: PagedQueryResult<T> = http.send(Method::GET, url, None).await?;
    Ok(page.results)
}

/// Every order matching `predicate`, a page of [`MAX_LIMIT`] at a time after the last id seen;
/// a short page is the last one.
pub(crate) async fn walk_orders(
    client: CtClient,
    predicate: String,
) -> Result<Vec<Order>, CtError> {
    let mut found: Vec<Order> = Vec::new();
    loop {
        let page_predicate = match found.last() {
            None => predicate.clone(),
            Some(last) => format!("{predicate} and id > {}", quote(&last.id)),
        };
        let page: Vec<Order> = query_page(
            client.http.clone(),
            "orders",
            page_predicate,
            Some("id asc"),
        )
        .await?;
        let last_page = page.len() < MAX_LIMIT as usize;
        found.extend(page);
        if last_page {
            return Ok(found);
        }
    }
}

/// A string literal of a predicate: quoted, with `\` and `"` escaped.
pub(crate) fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The inside of `in (…)`: quoted values joined by `, `.
pub(crate) fn in_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| quote(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits values (skus, ids; duplicates dropped, order kept) into chunks of at most
/// [`MAX_SKUS_PER_CHUNK`] (one page) whose `in` list, added to a predicate of `fixed_len` bytes,
/// stays within [`MAX_PREDICATE_LEN`]. A value too long to fit even alone gets a chunk of its
/// own; the API then refuses that request rather than the value being silently dropped.
pub(crate) fn chunk_in_list(skus: &[String], fixed_len: usize) -> Vec<Vec<String>> {
    let budget = MAX_PREDICATE_LEN.saturating_sub(fixed_len);
    let mut seen = HashSet::new();
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut used = 0;
    for sku in skus.iter().filter(|sku| seen.insert(sku.as_str())) {
        // The quoted sku and, counted for every sku, the `, ` before it.
        let cost = quote(sku).len() + 2;
        if !current.is_empty() && (used + cost > budget || current.len() == MAX_SKUS_PER_CHUNK) {
            chunks.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(sku.clone());
        used += cost;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skus(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:0>len$}")).collect()
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(in_list(&["x".into(), "y".into()]), r#""x", "y""#);
    }

    #[test]
    fn chunks_stop_at_500_skus() {
        let chunks = chunk_in_list(&skus(1_200, 8), 60);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 200]);
    }

    #[test]
    fn chunks_stay_under_the_length_and_keep_every_sku_once() {
        let mut input = skus(1_200, 40);
        input.extend(skus(10, 40));
        let fixed = 100;
        let chunks = chunk_in_list(&input, fixed);
        assert!(chunks.len() > 3, "{}", chunks.len());
        for chunk in &chunks {
            let len = fixed + in_list(chunk).len();
            assert!(len <= MAX_PREDICATE_LEN, "{len}");
            assert!(chunk.len() <= MAX_SKUS_PER_CHUNK);
        }
        let flat: Vec<String> = chunks.concat();
        assert_eq!(flat, skus(1_200, 40));
        assert!(chunk_in_list(&[], fixed).is_empty());
    }

    #[test]
    fn a_sku_too_long_for_any_chunk_goes_alone() {
        let input = vec!["a".into(), "x".repeat(9_000), "b".into()];
        let chunks = chunk_in_list(&input, 50);
        assert_eq!(chunks.len(), 3);
    }

    #[test]
    fn actions_serialise_as_the_api_expects() {
        let actions = [
            InventoryUpdateAction::AddQuantity { quantity: 3 },
            InventoryUpdateAction::RemoveQuantity { quantity: 2 },
            InventoryUpdateAction::ChangeQuantity { quantity: 7 },
        ];
        assert_eq!(
            serde_json::to_value(actions).unwrap(),
            serde_json::json!([
                {"action": "addQuantity", "quantity": 3},
                {"action": "removeQuantity", "quantity": 2},
                {"action": "changeQuantity", "quantity": 7},
            ])
        );
    }
}
