//! Reading and writing DynamoDB attribute values; anything unreadable is `Corrupt`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

/// A DynamoDB item as the SDK returns it.
pub(super) type Attrs = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A required string attribute.
pub(super) fn get_s(item: &Attrs, name: &str) -> Result<String, StoreError> {
    opt_s(item, name)?.ok_or_else(|| StoreError::Corrupt(format!("missing attribute {name}")))
}

/// An optional string attribute.
pub(super) fn opt_s(item: &Attrs, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    }
}

/// A required number attribute.
pub(super) fn get_n<T: std::str::FromStr>(item: &Attrs, name: &str) -> Result<T, StoreError> {
    opt_n(item, name)?.ok_or_else(|| StoreError::Corrupt(format!("missing attribute {name}")))
}

/// An optional number attribute.
pub(super) fn opt_n<T: std::str::FromStr>(
    item: &Attrs,
    name: &str,
) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not an integer: {v}"))),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a number"
        ))),
    }
}
