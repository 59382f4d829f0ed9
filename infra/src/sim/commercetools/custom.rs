//! Custom fields given in update actions (`custom` of addDelivery and of parcels,
//! `setCustomType`, `setDeliveryCustomType`): the Type they name must exist, as the real API
//! checks, so that a flow which forgot to run setup fails against the simulator too.

use serde_json::{Map, Value, json};

use super::errors::{ApiError, ApiResult};
use super::state::Store;
use super::types;

/// The CustomFields to store for a CustomFieldsDraft `{type:{typeId:"type", id|key}, fields?}`:
/// the Type is stored by id, as the API returns a TypeReference. A missing Type is
/// ReferencedResourceNotFound. Field values are not checked against the Type's definitions.
pub(crate) fn custom_fields(store: &Store, draft: &Value) -> ApiResult<Value> {
    let reference = draft
        .get("type")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::invalid_json("custom: type: Missing required value"))?;
    let id = types::find(store, reference)
        .ok_or_else(|| ApiError::referenced_not_found("type", reference))?;
    let fields = match draft.get("fields") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(fields)) => Value::Object(fields.clone()),
        Some(_) => return Err(ApiError::invalid_json("custom: fields: expected an object")),
    };
    Ok(json!({"type": {"typeId": "type", "id": id}, "fields": fields}))
}

/// Sets or, without `type`, removes `custom` on `target` from a `set…CustomType` action.
pub(crate) fn set_custom_type(store: &Store, target: &mut Value, action: &Value) -> ApiResult<()> {
    let Value::Object(map) = target else {
        return Err(ApiError::invalid_json(
            "the target of setCustomType is not an object",
        ));
    };
    if action.get("type").is_none_or(Value::is_null) {
        map.remove("custom");
    } else {
        map.insert("custom".into(), custom_fields(store, action)?);
    }
    Ok(())
}
