//! Channel endpoints: create, get by id and by `key=`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::state::{SimState, Store, new_id, now_iso, parse_body};

const ROLES: [&str; 5] = [
    "InventorySupply",
    "ProductDistribution",
    "OrderExport",
    "OrderImport",
    "Primary",
];

/// `GET /{project}/channels/{id}` and `GET /{project}/channels/key={key}`.
pub(crate) async fn get(
    State(state): State<Arc<SimState>>,
    Path((_project, item)): Path<(String, String)>,
) -> Response {
    let store = state.store();
    let found = match item.strip_prefix("key=") {
        Some(key) => store
            .channel_keys
            .get(key)
            .and_then(|id| store.channels.get(id))
            .ok_or_else(|| ApiError::not_found_key(key)),
        None => store
            .channels
            .get(&item)
            .ok_or_else(|| ApiError::not_found_id(&item)),
    };
    match found {
        Ok(channel) => Json(channel.clone()).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `POST /{project}/channels` with a ChannelDraft; answers 201 with the channel.
pub(crate) async fn create(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let result = parse_body(&body).and_then(|draft| create_channel(&mut state.store(), &draft));
    match result {
        Ok(channel) => (StatusCode::CREATED, Json(channel)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Creates a channel from a draft `{key, roles?, name?, description?, address?, geoLocation?}`.
pub(crate) fn create_channel(store: &mut Store, draft: &Value) -> ApiResult<Value> {
    let key = draft
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("key: Missing required value"))?;
    if store.channel_keys.contains_key(key) {
        return Err(ApiError::duplicate_field("key", &key.into()));
    }
    // Without roles the API gives a channel the InventorySupply role.
    let roles = match draft.get("roles") {
        None | Some(Value::Null) => json!(["InventorySupply"]),
        Some(Value::Array(roles)) => {
            if let Some(bad) = roles
                .iter()
                .find(|r| !r.as_str().is_some_and(|r| ROLES.contains(&r)))
            {
                return Err(ApiError::invalid_json(format!(
                    "roles: {bad} is not a channel role"
                )));
            }
            Value::Array(roles.clone())
        }
        Some(_) => return Err(ApiError::invalid_json("roles: expected an array")),
    };
    let now = now_iso();
    let id = new_id();
    let mut channel = json!({
        "id": id, "version": 1, "key": key, "roles": roles,
        "createdAt": now, "lastModifiedAt": now,
    });
    for field in ["name", "description", "address", "geoLocation", "custom"] {
        if let Some(value) = draft.get(field).filter(|v| !v.is_null()) {
            channel[field] = value.clone();
        }
    }
    store.channel_keys.insert(key.to_owned(), id.clone());
    store.channels.insert(id, channel.clone());
    Ok(channel)
}
