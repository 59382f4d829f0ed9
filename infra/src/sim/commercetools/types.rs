//! Type endpoints (the definitions of custom fields): create, get by id and `key=`, query, and
//! update with `addFieldDefinition` and `changeName` ([R] `resources/types.raml`,
//! `types/type/*.raml`). They exist so that setup can be run against the simulator and so that
//! custom fields on orders, deliveries and parcels can only name Types that exist. The handlers
//! are the shared ones of [`resource`](super::resource).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::{ApiError, ApiResult};
use super::resource::{Create, Resource, is_key_like};
use super::state::{Store, new_id, now_iso};

/// Fields the simulator can filter and sort Types on.
const QUERY_FIELDS: [&str; 6] = [
    "id",
    "key",
    "version",
    "createdAt",
    "lastModifiedAt",
    "fieldDefinitions.name",
];

/// [R] `ResourceTypeId.raml`: a Type for anything else is refused, so that a typo such as
/// `delivery` for `order-delivery` fails here as it would against the real API.
const RESOURCE_TYPE_IDS: [&str; 29] = [
    "address",
    "asset",
    "business-unit",
    "cart-discount",
    "category",
    "channel",
    "customer",
    "customer-group",
    "custom-line-item",
    "discount-code",
    "inventory-entry",
    "line-item",
    "order",
    "order-edit",
    "order-delivery",
    "order-parcel",
    "order-return-item",
    "payment",
    "payment-interface-interaction",
    "product-price",
    "product-selection",
    "quote",
    "review",
    "shipping-method",
    "shopping-list",
    "shopping-list-text-line-item",
    "standalone-price",
    "store",
    "transaction",
];

/// The `name`s of FieldType ([R] `FieldType.raml`).
const FIELD_TYPES: [&str; 12] = [
    "Boolean",
    "String",
    "LocalizedString",
    "Enum",
    "LocalizedEnum",
    "Number",
    "Money",
    "Date",
    "Time",
    "DateTime",
    "Reference",
    "Set",
];

/// Types, named by id or `key={key}`.
pub(crate) struct Types;

impl Resource for Types {
    const QUERY_FIELDS: &'static [&'static str] = &QUERY_FIELDS;

    fn map(store: &Store) -> &BTreeMap<String, Value> {
        &store.types
    }

    fn map_mut(store: &mut Store) -> &mut BTreeMap<String, Value> {
        &mut store.types
    }

    fn id_by_alias(store: &Store, key: &str) -> Option<String> {
        store.type_keys.get(key).cloned()
    }

    fn apply(_store: &Store, stored: &mut Value, action: &Value) -> ApiResult<()> {
        apply(stored, action)
    }
}

impl Create for Types {
    fn create(store: &mut Store, draft: &Value) -> ApiResult<Value> {
        create_type(store, draft)
    }
}

/// The id of the Type a TypeResourceIdentifier `{typeId:"type", id|key}` names, if it exists.
pub(crate) fn find(store: &Store, reference: &Value) -> Option<String> {
    let by_id = reference
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| store.types.contains_key(*id))
        .map(str::to_owned);
    by_id.or_else(|| {
        reference
            .get("key")
            .and_then(Value::as_str)
            .and_then(|key| store.type_keys.get(key).cloned())
    })
}

/// Creates a Type from a draft `{key, name, description?, resourceTypeIds, fieldDefinitions?}`.
pub(crate) fn create_type(store: &mut Store, draft: &Value) -> ApiResult<Value> {
    let key = draft
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("key: Missing required value"))?;
    check_pattern(key, 2, 256, "key")?;
    if store.type_keys.contains_key(key) {
        return Err(ApiError::duplicate_field("key", &key.into()));
    }
    let name = localized(draft, "name")?;
    let resource_types = draft
        .get("resourceTypeIds")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_json("resourceTypeIds: Missing required value"))?;
    if let Some(bad) = resource_types
        .iter()
        .find(|r| !r.as_str().is_some_and(|r| RESOURCE_TYPE_IDS.contains(&r)))
    {
        return Err(ApiError::invalid_json(format!(
            "resourceTypeIds: {bad} is not a resource type id"
        )));
    }
    let mut fields: Vec<Value> = Vec::new();
    for definition in draft
        .get("fieldDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add_field(&mut fields, definition)?;
    }
    let now = now_iso();
    let id = new_id();
    let mut created = json!({
        "id": id, "version": 1, "key": key, "name": name,
        "resourceTypeIds": resource_types, "fieldDefinitions": fields,
        "createdAt": now, "lastModifiedAt": now,
    });
    if let Some(description) = draft.get("description").filter(|v| !v.is_null()) {
        created["description"] = description.clone();
    }
    store.type_keys.insert(key.to_owned(), id.clone());
    store.types.insert(id, created.clone());
    Ok(created)
}

/// One Type update action.
fn apply(stored: &mut Value, action: &Value) -> ApiResult<()> {
    let name = action
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("actions: action: Missing required value"))?;
    match name {
        "addFieldDefinition" => {
            let definition = action
                .get("fieldDefinition")
                .ok_or_else(|| ApiError::invalid_json("fieldDefinition: Missing required value"))?;
            let mut fields = stored["fieldDefinitions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            add_field(&mut fields, definition)?;
            stored["fieldDefinitions"] = fields.into();
            Ok(())
        }
        "changeName" => {
            stored["name"] = localized(action, "name")?;
            Ok(())
        }
        other => Err(ApiError::bad_request(
            "InvalidInput",
            format!("Unknown or unsimulated type update action '{other}'."),
        )),
    }
}

/// Checks a FieldDefinition `{type:{name}, name, label, required, inputHint?}` and appends it.
/// UNCONFIRMED: the code the real API gives a field name already in the Type; DuplicateField is
/// the generic one.
fn add_field(fields: &mut Vec<Value>, definition: &Value) -> ApiResult<()> {
    let name = definition
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("fieldDefinitions: name: Missing required value"))?;
    check_pattern(name, 2, 36, "fieldDefinitions.name")?;
    let type_name = definition
        .pointer("/type/name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_json("fieldDefinitions: type: Missing required value"))?;
    if !FIELD_TYPES.contains(&type_name) {
        return Err(ApiError::invalid_json(format!(
            "fieldDefinitions.type: '{type_name}' is not a field type"
        )));
    }
    localized(definition, "label")?;
    if !definition.get("required").is_some_and(Value::is_boolean) {
        return Err(ApiError::invalid_json(
            "fieldDefinitions: required: Missing required value",
        ));
    }
    if fields.iter().any(|f| f["name"] == name) {
        return Err(ApiError::duplicate_field("name", &name.into()));
    }
    fields.push(definition.clone());
    Ok(())
}

/// A required LocalizedString (an object of strings).
fn localized(value: &Value, field: &str) -> ApiResult<Value> {
    match value.get(field) {
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Ok(Value::Object(map.clone()))
        }
        Some(_) => Err(ApiError::invalid_json(format!(
            "{field}: expected a LocalizedString"
        ))),
        None => Err(ApiError::invalid_json(format!(
            "{field}: Missing required value"
        ))),
    }
}

/// Keys and field names: `[A-Za-z0-9_-]` within these lengths.
fn check_pattern(value: &str, min: usize, max: usize, what: &str) -> ApiResult<()> {
    if is_key_like(value, min, max) {
        return Ok(());
    }
    Err(ApiError::invalid_json(format!(
        "{what}: '{value}' does not match [A-Za-z0-9_-]{{{min},{max}}}"
    )))
}
