//! Channel endpoints: create, get by id and by `key=`, and update with `addRoles` (what setup
//! needs to give an existing channel a role it lacks). The handlers are the shared ones of
//! [`resource`](super::resource).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::resource::{Create, Resource};
use super::state::{Store, new_id, now_iso};

const ROLES: [&str; 5] = [
    "InventorySupply",
    "ProductDistribution",
    "OrderExport",
    "OrderImport",
    "Primary",
];

/// Channels, named by id or `key={key}`; they have no query route.
pub(crate) struct Channels;

impl Resource for Channels {
    fn map(store: &Store) -> &BTreeMap<String, Value> {
        &store.channels
    }

    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value> {
        &mut store.channels
    }

    fn id_by_alias(store: &Store, key: &str) -> Option<String> {
        store.channel_keys.get(key).cloned()
    }

    fn apply(_store: &Store, channel: &mut Value, action: &Value) -> ApiResult<()> {
        apply(channel, action)
    }
}

impl Create for Channels {
    fn create(store: &mut Store, draft: &Value) -> ApiResult<Value> {
        create_channel(store, draft)
    }
}

/// One channel update action: `addRoles {roles}` adds the roles the channel lacks.
fn apply(channel: &mut Value, action: &Value) -> ApiResult<()> {
    match action.get("action").and_then(Value::as_str) {
        Some("addRoles") => {
            let wanted = action
                .get("roles")
                .ok_or_else(|| ApiError::invalid_json("roles: Missing required value"))?;
            let wanted = check_roles(wanted)?;
            let mut roles = channel["roles"].as_array().cloned().unwrap_or_default();
            for role in wanted {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            channel["roles"] = roles.into();
            Ok(())
        }
        Some(other) => Err(ApiError::bad_request(
            "InvalidInput",
            format!("Unknown or unsimulated channel update action '{other}'."),
        )),
        None => Err(ApiError::invalid_json(
            "actions: action: Missing required value",
        )),
    }
}

/// A list of channel roles, each one of [`ROLES`].
fn check_roles(roles: &Value) -> ApiResult<Vec<Value>> {
    let Value::Array(roles) = roles else {
        return Err(ApiError::invalid_json("roles: expected an array"));
    };
    if let Some(bad) = roles
        .iter()
        .find(|r| !r.as_str().is_some_and(|r| ROLES.contains(&r)))
    {
        return Err(ApiError::invalid_json(format!(
            "roles: {bad} is not a channel role"
        )));
    }
    Ok(roles.clone())
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
        Some(roles) => Value::Array(check_roles(roles)?),
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
