//! The commercetools API client: orders and channels.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::actions::OrderUpdateAction;
use super::error::CtError;
use super::http::Http;
use super::inventory::{CONCURRENT_CHUNKS, chunk_in_list, in_list, query_page, quote};
use super::settings::CtSettings;
use super::types::{Channel, ChannelRole, Order};

/// The API's maximum page size.
pub const MAX_LIMIT: u32 = 500;

/// A commercetools API client for one project. Cheap to clone; clones share the connection pool,
/// the token and the request counter.
#[derive(Clone)]
pub struct CtClient {
    pub(crate) http: Arc<Http>,
}

impl std::fmt::Debug for CtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtClient").finish_non_exhaustive()
    }
}

/// A page of query results; only `results` is read.
#[derive(Deserialize)]
pub(crate) struct PagedQueryResult<T> {
    pub(crate) results: Vec<T>,
}

/// `{version, actions}`, the body of every update.
#[derive(Serialize)]
pub(crate) struct UpdateBody<'a, A> {
    pub(crate) version: i64,
    pub(crate) actions: &'a [A],
}

/// The body of `POST /channels`.
#[derive(Serialize)]
struct ChannelDraft<'a> {
    key: &'a str,
    roles: Vec<&'static str>,
}

impl CtClient {
    /// A client for these settings; fetches no token until the first call.
    pub fn new(settings: CtSettings) -> Result<Self, CtError> {
        Ok(Self {
            http: Arc::new(Http::new(&settings)?),
        })
    }

    /// HTTP requests sent so far by this client and its clones, token requests and retries
    /// included.
    pub fn requests_made(&self) -> u64 {
        self.http.requests_made()
    }

    /// The project key this client serves.
    pub fn project_key(&self) -> &str {
        &self.http.project_key
    }

    /// `GET /orders/{id}`.
    pub async fn get_order(&self, id: &str) -> Result<Order, CtError> {
        let url = self.http.url(&["orders", id], &[]);
        self.http.send(Method::GET, url, None).await
    }

    /// `GET /orders/order-number={number}`, the number percent-encoded.
    pub async fn get_order_by_number(&self, number: &str) -> Result<Order, CtError> {
        let segment = format!("order-number={number}");
        let url = self.http.url(&["orders", &segment], &[]);
        self.http.send(Method::GET, url, None).await
    }

    /// `GET /orders?where=…&sort=…&limit=…&withTotal=false`: one page of orders.
    ///
    /// `limit` is clamped to the API's 1..=500. To walk every order, sort by `id asc` and repeat
    /// with `id > "<last id>"` (offsets stop at 10,000).
    pub async fn query_orders(
        &self,
        predicate: Option<&str>,
        sort: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Order>, CtError> {
        let limit = limit.clamp(1, MAX_LIMIT).to_string();
        let mut query = vec![("limit", limit.as_str()), ("withTotal", "false")];
        if let Some(predicate) = predicate {
            query.push(("where", predicate));
        }
        if let Some(sort) = sort {
            query.push(("sort", sort));
        }
        let url = self.http.url(&["orders"], &query);
        let page: PagedQueryResult<Order> = self.http.send(Method::GET, url, None).await?;
        Ok(page.results)
    }

    /// The orders Peoplevox knows by these numbers, by number. Peoplevox's number is the
    /// `externalId` of the order's export mark on the OrderExport channel (where a derived
    /// number is recorded, [`crate::mapping::order::number`]) or, for an order exported before
    /// such marks carried it, its `orderNumber`; when both name a number, the mark wins. One
    /// query per 100 numbers: `orderNumber in (…) or syncInfo(channel(id="…") and externalId
    /// in (…))`. A number without an order is simply absent.
    pub async fn orders_by_peoplevox_number(
        &self,
        numbers: &[String],
        export_channel_id: &str,
    ) -> Result<BTreeMap<String, Order>, CtError> {
        let mut found = BTreeMap::new();
        for chunk in numbers.chunks(100) {
            let list = in_list(chunk);
            let predicate = format!(
                "orderNumber in ({list}) or syncInfo(channel(id={}) and externalId in ({list}))",
                quote(export_channel_id)
            );
            let orders = self.query_orders(Some(&predicate), None, MAX_LIMIT).await?;
            let wanted: std::collections::BTreeSet<&str> =
                chunk.iter().map(String::as_str).collect();
            let mut by_mark = Vec::new();
            for order in orders {
                // An order split over several addresses has a mark (and a number) per part.
                let marks: Vec<String> = order
                    .sync_info
                    .iter()
                    .filter(|s| s.channel.id.as_deref() == Some(export_channel_id))
                    .filter_map(|s| s.external_id.as_deref())
                    .filter(|n| wanted.contains(n))
                    .map(str::to_string)
                    .collect();
                if !marks.is_empty() {
                    for mark in marks {
                        by_mark.push((mark, order.clone()));
                    }
                } else if let Some(number) = order.order_number.clone()
                    && wanted.contains(number.as_str())
                {
                    found.entry(number).or_insert(order);
                }
            }
            // The mark wins over an orderNumber that happens to equal another order's number.
            found.extend(by_mark);
        }
        Ok(found)
    }

    /// The orders of these ids, by id, as commercetools has them now: `GET /orders?where=id in
    /// (…)&limit=…` (the `in` operator of https://docs.commercetools.com/api/predicates/query).
    /// The ids go in chunks of at most one page (`limit` ≤ 500, [R] `traits/paging.raml`) whose
    /// predicate stays well under the length at which requests fail with 414 (commercetools.md
    /// §2, "Long predicates": about 10,000 characters; some 190 UUIDs a chunk), a few chunks at
    /// a time. An id commercetools does not have is absent; an
    /// order it has that cannot be read is `Err` with the reason, alone: one odd order does not
    /// hold up the others.
    pub async fn orders_by_id(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Result<Order, String>>, CtError> {
        const PREDICATE: &str = "id in ()";
        let predicates: Vec<String> = chunk_in_list(ids, PREDICATE.len())
            .iter()
            .map(|chunk| format!("id in ({})", in_list(chunk)))
            .collect();
        let http = self.http.clone();
        let pages: Vec<Vec<serde_json::Value>> = futures::stream::iter(predicates)
            .map(move |predicate| query_page(http.clone(), "orders", predicate, None))
            .buffered(CONCURRENT_CHUNKS)
            .try_collect()
            .await?;
        let mut found = BTreeMap::new();
        for value in pages.into_iter().flatten() {
            let Some(id) = value
                .get("id")
                .and_then(|id| id.as_str())
                .map(str::to_string)
            else {
                continue;
            };
            let order = serde_json::from_value::<Order>(value).map_err(|e| e.to_string());
            found.insert(id, order);
        }
        Ok(found)
    }

    /// `POST /orders/{id}` with `{version, actions}`; returns the updated order.
    ///
    /// A stale version gives [`CtError::ConcurrentModification`]: re-read and decide again (see
    /// [`CtClient::update_order_with`]) rather than resend with the new version. An error with
    /// [`CtError::outcome_unknown`] may have been applied.
    pub async fn update_order(
        &self,
        id: &str,
        version: i64,
        actions: &[OrderUpdateAction],
    ) -> Result<Order, CtError> {
        let url = self.http.url(&["orders", id], &[]);
        let body = encode(&UpdateBody { version, actions })?;
        let names: Vec<&str> = actions.iter().map(OrderUpdateAction::name).collect();
        tracing::debug!(order_id = id, version, actions = ?names, "updating commercetools order");
        self.http.send(Method::POST, url, Some(body)).await
    }

    /// `GET /channels/key={key}`; `None` when there is no such channel.
    pub async fn get_channel_by_key(&self, key: &str) -> Result<Option<Channel>, CtError> {
        let segment = format!("key={key}");
        let url = self.http.url(&["channels", &segment], &[]);
        match self.http.send(Method::GET, url, None).await {
            Ok(channel) => Ok(Some(channel)),
            Err(CtError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `POST /channels`; an existing key gives [`CtError::BadRequest`] with `DuplicateField`.
    pub async fn create_channel(
        &self,
        key: &str,
        roles: &[ChannelRole],
    ) -> Result<Channel, CtError> {
        let url = self.http.url(&["channels"], &[]);
        let draft = ChannelDraft {
            key,
            roles: roles.iter().map(|r| r.as_str()).collect(),
        };
        self.http
            .send(Method::POST, url, Some(encode(&draft)?))
            .await
    }

    /// The channel with this key, created with these roles if missing. A channel created
    /// concurrently by someone else (`DuplicateField`) is read back. Existing roles are not changed.
    pub async fn ensure_channel(
        &self,
        key: &str,
        roles: &[ChannelRole],
    ) -> Result<Channel, CtError> {
        if let Some(channel) = self.get_channel_by_key(key).await? {
            return Ok(channel);
        }
        match self.create_channel(key, roles).await {
            Err(err) if err.has_code("DuplicateField") || err.outcome_unknown() => {
                self.get_channel_by_key(key).await?.ok_or(err)
            }
            other => other,
        }
    }
}

/// Serialises a request body; our own types always serialise, but no panic is risked on it.
pub(crate) fn encode<T: Serialize>(body: &T) -> Result<Vec<u8>, CtError> {
    serde_json::to_vec(body).map_err(|e| CtError::Config(format!("request body: {e}")))
}
