//! What the resource endpoints share: a path segment names a resource by id or by an alias
//! (`key={key}`, `order-number={n}`); get and query answer from the resource's map in the
//! [`Store`]; an update applies `{version, actions}` under optimistic concurrency, all or none;
//! a create answers 201. Each resource file says only what is its own, through [`Resource`]
//! (and [`Create`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::errors::{ApiError, ApiResult};
use super::predicate::Predicate;
use super::query::PagedQuery;
use super::state::{SimState, Store, parse_body, parse_update, version_of, versioned_update};

/// A kind of stored resource: where it is kept, how it is named and how it is updated.
pub(crate) trait Resource {
    /// The prefix of a path segment that names the resource other than by id.
    const ALIAS: &'static str = "key=";
    /// Fields a query may filter and sort on (none where the resource has no query route).
    const QUERY_FIELDS: &'static [&'static str] = &[];

    /// The stored resources, by id.
    fn map(store: &Store) -> &BTreeMap<String, Value>;
    /// The stored resources, by id, to change.
    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value>;
    /// The id of the resource an alias (what follows [`Resource::ALIAS`]) names.
    fn id_by_alias(store: &Store, alias: &str) -> Option<String>;
    /// Applies one update action to `resource`; `store`, without that resource, may be read.
    fn apply(store: &Store, resource: &mut Value, action: &Value) -> ApiResult<()>;
    /// The ids of the only resources that can match these predicates, when an index of the
    /// resource's knows them (a superset: each is still tested); `None` to read them all.
    fn candidates<'s>(_store: &'s Store, _predicates: &[Predicate]) -> Option<BTreeSet<&'s str>> {
        None
    }
    /// Called after every successful update with the resource as it was and as it is now, so
    /// that a resource can keep a record of its changes (orders keep their state history).
    fn updated(_store: &mut Store, _before: &Value, _after: &Value) {}
}

/// A resource the API creates from a draft.
pub(crate) trait Create: Resource {
    /// Checks the draft, then stores and returns the new resource.
    fn create(store: &mut Store, draft: &Value) -> ApiResult<Value>;
}

/// The id of the resource a path segment names: `{id}` or `{ALIAS}{alias}` (already decoded).
pub(crate) fn resolve<R: Resource>(store: &Store, item: &str) -> ApiResult<String> {
    match item.strip_prefix(R::ALIAS) {
        Some(alias) => R::id_by_alias(store, alias).ok_or_else(|| ApiError::not_found_key(alias)),
        None if R::map(store).contains_key(item) => Ok(item.to_owned()),
        None => Err(ApiError::not_found_id(item)),
    }
}

/// The JSON answer (200) of a result, or its error.
fn answer(result: ApiResult<impl serde::Serialize>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `GET /{project}/{resource}/{id}` and `GET /{project}/{resource}/{ALIAS}{alias}`.
pub(crate) async fn get<R: Resource>(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
) -> Response {
    let store = state.store();
    answer(resolve::<R>(&store, &item).map(|id| R::map(&store).get(&id).cloned()))
}

/// `GET /{project}/{resource}?where=…`, answered with a PagedQueryResult.
pub(crate) async fn query<R: Resource>(
    State(state): State<Arc<SimState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let store = state.store();
    answer(PagedQuery::parse(&params, R::QUERY_FIELDS).map(|query| {
        let candidates = R::candidates(&store, query.predicates());
        query.answer(R::map(&store), candidates)
    }))
}

/// `POST /{project}/{resource}` with a draft; answers 201 with the resource.
pub(crate) async fn create<R: Create>(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    match parse_body(&body).and_then(|draft| R::create(&mut state.store(), &draft)) {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /{project}/{resource}/{id}` (or `{ALIAS}{alias}`) with `{version, actions}`: all
/// actions apply, or none.
pub(crate) async fn update<R: Resource>(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = parse_update(&body).and_then(|(version, actions)| {
        let mut store = state.store();
        let id = resolve::<R>(&store, &item)?;
        apply_actions::<R>(&state, &mut store, &id, version, &actions)
    });
    // Outside the store's lock, so that a hook never holds up other requests.
    if let Ok(after) = &result {
        state.notify_update(after);
    }
    answer(result)
}

/// Applies actions to a stored resource under optimistic concurrency: all apply, or none.
pub(crate) fn apply_actions<R: Resource>(
    state: &SimState,
    store: &mut Store,
    id: &str,
    version: i64,
    actions: &[Value],
) -> ApiResult<Value> {
    // The resource leaves its map while it changes, so that the actions can read the rest of
    // the store.
    let mut resource = R::map_mut(store)
        .remove(id)
        .ok_or_else(|| ApiError::not_found_id(id))?;
    let before = resource.clone();
    let result = versioned_update(state, &mut resource, version, |copy| {
        actions
            .iter()
            .try_for_each(|action| R::apply(store, copy, action))
    });
    R::map_mut(store).insert(id.to_owned(), resource);
    if let Ok(after) = &result {
        R::updated(store, &before, after);
    }
    result
}

/// Applies actions to the current version of a stored resource, as another writer (a merchant,
/// another integration) would: the version moves by one. `None` when there is no such resource.
pub(crate) fn apply_as_other_writer<R: Resource>(
    state: &SimState,
    id: &str,
    actions: &[Value],
) -> Option<ApiResult<Value>> {
    let mut store = state.store();
    let version = R::map(&store).get(id).map(version_of)?;
    Some(apply_actions::<R>(state, &mut store, id, version, actions))
}

/// Every stored resource of a kind, by id, parsed as `T`; those that do not parse are left out.
pub(crate) fn all_parsed<R: Resource, T: DeserializeOwned>(state: &SimState) -> Vec<T> {
    R::map(&state.store())
        .values()
        .filter_map(|resource| serde_json::from_value(resource.clone()).ok())
        .collect()
}

/// The id a reference `{id}` or `{key}` gives: its `id`, or else the id `keys` has for its `key`.
/// Whether a resource with that id exists is left to the caller.
pub(crate) fn reference_id(reference: &Value, keys: &HashMap<String, String>) -> Option<String> {
    reference
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            reference
                .get("key")
                .and_then(Value::as_str)
                .and_then(|key| keys.get(key).cloned())
        })
}

/// Whether `value` is `min..=max` characters of `[A-Za-z0-9_-]`, as keys and field names are.
pub(crate) fn is_key_like(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
