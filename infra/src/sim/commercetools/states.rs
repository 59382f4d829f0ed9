//! State endpoints (custom workflow states, [R] `resources/states.raml`): create, get by id and
//! `key=`, and query. They exist so that `transitionState` on orders can only name States that
//! exist, as against the real API. States have no update actions here. The handlers are the
//! shared ones of [`resource`](super::resource).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::resource::{Create, Resource, is_key_like, reference_id};
use super::state::{Store, new_id, now_iso};

/// Fields the simulator can filter and sort States on.
const QUERY_FIELDS: [&str; 7] = [
    "id",
    "key",
    "type",
    "initial",
    "version",
    "createdAt",
    "lastModifiedAt",
];

/// [R] `StateTypeEnum.raml`.
const STATE_TYPES: [&str; 8] = [
    "OrderState",
    "LineItemState",
    "ProductState",
    "ReviewState",
    "PaymentState",
    "QuoteRequestState",
    "StagedQuoteState",
    "QuoteState",
];

/// States, named by id or `key={key}`.
pub(crate) struct States;

impl Resource for States {
    const QUERY_FIELDS: &'static [&'static str] = &QUERY_FIELDS;

    fn map(store: &Store) -> &BTreeMap<String, Value> {
        &store.states
    }

    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value> {
        &mut store.states
    }

    fn id_by_alias(store: &Store, key: &str) -> Option<String> {
        store.state_keys.get(key).cloned()
    }

    fn apply(_store: &Store, _state: &mut Value, action: &Value) -> ApiResult<()> {
        let name = action
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Err(ApiError::bad_request(
            "InvalidInput",
            format!("Unknown or unsimulated state update action '{name}'."),
        ))
    }
}

impl Create for States {
    fn create(store: &mut Store, draft: &Value) -> ApiResult<Value> {
        create_state(store, draft)
    }
}

/// The stored State a StateResourceIdentifier `{typeId:"state", id|key}` names, if it exists.
pub(crate) fn find<'a>(store: &'a Store, reference: &Value) -> Option<&'a Value> {
    reference_id(reference, &store.state_keys).and_then(|id| store.states.get(&id))
}

/// Creates a State from a draft `{key, type, initial?, name?, description?, roles?,
/// transitions?}`. Without `transitions` the State has `transitions: null`, which the API
/// documents as "no validation of transitions"; given transitions are stored but not checked
/// or enforced. UNCONFIRMED: that `initial` defaults to true.
pub(crate) fn create_state(store: &mut Store, draft: &Value) -> ApiResult<Value> {
    let key = draft
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("key: Missing required value"))?;
    if !is_key_like(key, 2, 256) {
        return Err(ApiError::invalid_json(format!(
            "key: '{key}' does not match [A-Za-z0-9_-]{{2,256}}"
        )));
    }
    if store.state_keys.contains_key(key) {
        return Err(ApiError::duplicate_field("key", &key.into()));
    }
    let state_type = draft
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("type: Missing required value"))?;
    if !STATE_TYPES.contains(&state_type) {
        return Err(ApiError::invalid_json(format!(
            "type: '{state_type}' is not a state type"
        )));
    }
    let initial = match draft.get("initial") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(initial)) => *initial,
        Some(_) => return Err(ApiError::invalid_json("initial: expected a boolean")),
    };
    let now = now_iso();
    let id = new_id();
    let mut created = json!({
        "id": id, "version": 1, "key": key, "type": state_type, "initial": initial,
        "builtIn": false, "transitions": null, "createdAt": now, "lastModifiedAt": now,
    });
    for field in ["name", "description", "roles", "transitions"] {
        if let Some(value) = draft.get(field).filter(|v| !v.is_null()) {
            created[field] = value.clone();
        }
    }
    store.state_keys.insert(key.to_owned(), id.clone());
    store.states.insert(id, created.clone());
    Ok(created)
}
