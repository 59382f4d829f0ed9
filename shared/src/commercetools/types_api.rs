//! Types (custom field definitions) and channel roles: what `ctpvx setup` reads and writes so
//! that the channels and custom fields the flows rely on exist ([R] `resources/types.raml`,
//! `types/type/TypeDraft.raml`, `FieldDefinition.raml`, `TypeAddFieldDefinitionAction.raml`;
//! `ChannelAddRolesAction.raml`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{CtClient, UpdateBody, encode};
use super::error::CtError;
use super::types::{Channel, ChannelRole};

/// A LocalizedString: locale → text.
pub type LocalizedString = BTreeMap<String, String>;

/// A LocalizedString with one English text, enough for labels only operators read.
pub fn english(text: &str) -> LocalizedString {
    BTreeMap::from([("en".to_string(), text.to_string())])
}

/// The body of `POST /types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeDraft {
    /// Unique key, 2–256 characters of `[A-Za-z0-9_-]`.
    pub key: String,
    /// Name shown in the Merchant Center.
    pub name: LocalizedString,
    /// What the Type customizes, e.g. `order`, `order-delivery`.
    pub resource_type_ids: Vec<String>,
    /// The custom fields.
    pub field_definitions: Vec<FieldDefinitionDraft>,
}

/// A FieldDefinition as sent: `{type:{name}, name, label, required}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDefinitionDraft {
    /// The field's data type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Field name, 2–36 characters of `[A-Za-z0-9_-]`, unique per resource type.
    pub name: String,
    /// Label shown in the Merchant Center.
    pub label: LocalizedString,
    /// Whether every resource with this Type must have a value.
    pub required: bool,
}

impl FieldDefinitionDraft {
    /// An optional field of a simple type (`String`, `DateTime`, `Number`, …), labelled in English.
    pub fn optional(name: &str, type_name: &str, label: &str) -> Self {
        Self {
            field_type: FieldType {
                name: type_name.to_string(),
            },
            name: name.to_string(),
            label: english(label),
            required: false,
        }
    }
}

/// A FieldType; only the simple ones (no enum values, element or reference type) are modelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldType {
    /// `String`, `DateTime`, `Number`, `Boolean`, …
    pub name: String,
}

/// A Type as read back: what setup compares. Other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomType {
    /// Type id.
    pub id: String,
    /// Version, for updates.
    pub version: i64,
    /// Type key.
    pub key: String,
    /// What the Type customizes.
    #[serde(default)]
    pub resource_type_ids: Vec<String>,
    /// The fields defined so far.
    #[serde(default)]
    pub field_definitions: Vec<FieldDefinition>,
}

/// A field of a [`CustomType`]: its name and the name of its type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawFieldDefinition")]
pub struct FieldDefinition {
    /// Field name.
    pub name: String,
    /// Name of its FieldType, e.g. `String`.
    pub type_name: String,
}

#[derive(Deserialize)]
struct RawFieldDefinition {
    name: String,
    #[serde(rename = "type")]
    field_type: FieldType,
}

impl From<RawFieldDefinition> for FieldDefinition {
    fn from(raw: RawFieldDefinition) -> Self {
        Self {
            name: raw.name,
            type_name: raw.field_type.name,
        }
    }
}

/// `addFieldDefinition {fieldDefinition}`.
#[derive(Serialize)]
#[serde(
    tag = "action",
    rename = "addFieldDefinition",
    rename_all = "camelCase"
)]
struct AddFieldDefinition<'a> {
    field_definition: &'a FieldDefinitionDraft,
}

/// `addRoles {roles}`.
#[derive(Serialize)]
#[serde(tag = "action", rename = "addRoles")]
struct AddRoles {
    roles: Vec<&'static str>,
}

impl CtClient {
    /// `GET /types/key={key}`; `None` when there is no such Type.
    pub async fn get_type_by_key(&self, key: &str) -> Result<Option<CustomType>, CtError> {
        let segment = format!("key={key}");
        let url = self.http.url(&["types", &segment], &[]);
        match self.http.send(Method::GET, url, None).await {
            Ok(found) => Ok(Some(found)),
            Err(CtError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `POST /types`; an existing key gives [`CtError::BadRequest`] with `DuplicateField`.
    pub async fn create_type(&self, draft: &TypeDraft) -> Result<CustomType, CtError> {
        let url = self.http.url(&["types"], &[]);
        self.http
            .send(Method::POST, url, Some(encode(draft)?))
            .await
    }

    /// `POST /types/{id}` with one `addFieldDefinition` per field, in one request (all or none).
    pub async fn add_field_definitions(
        &self,
        id: &str,
        version: i64,
        fields: &[FieldDefinitionDraft],
    ) -> Result<CustomType, CtError> {
        let url = self.http.url(&["types", id], &[]);
        let actions: Vec<AddFieldDefinition> = fields
            .iter()
            .map(|field_definition| AddFieldDefinition { field_definition })
            .collect();
        let body = encode(&UpdateBody {
            version,
            actions: &actions,
        })?;
        self.http.send(Method::POST, url, Some(body)).await
    }

    /// `POST /channels/{id}` with `addRoles`: the channel keeps its roles and gains these.
    pub async fn add_channel_roles(
        &self,
        id: &str,
        version: i64,
        roles: &[ChannelRole],
    ) -> Result<Channel, CtError> {
        let url = self.http.url(&["channels", id], &[]);
        let actions = [AddRoles {
            roles: roles.iter().map(|r| r.as_str()).collect(),
        }];
        let body = encode(&UpdateBody {
            version,
            actions: &actions,
        })?;
        self.http.send(Method::POST, url, Some(body)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drafts_serialise_in_the_api_shape() {
        let draft = TypeDraft {
            key: "k1".into(),
            name: english("K"),
            resource_type_ids: vec!["order".into()],
            field_definitions: vec![FieldDefinitionDraft::optional("f1", "DateTime", "F")],
        };
        assert_eq!(
            serde_json::to_value(&draft).unwrap(),
            json!({"key": "k1", "name": {"en": "K"}, "resourceTypeIds": ["order"],
                "fieldDefinitions": [{"type": {"name": "DateTime"}, "name": "f1",
                    "label": {"en": "F"}, "required": false}]})
        );
        let field = &draft.field_definitions[0];
        let action = serde_json::to_value(AddFieldDefinition {
            field_definition: field,
        })
        .unwrap();
        assert_eq!(action["action"], "addFieldDefinition");
        assert_eq!(action["fieldDefinition"]["name"], "f1");
        let roles = serde_json::to_value(AddRoles {
            roles: vec!["OrderExport"],
        })
        .unwrap();
        assert_eq!(
            roles,
            json!({"action": "addRoles", "roles": ["OrderExport"]})
        );
    }

    #[test]
    fn types_read_field_names_and_type_names() {
        let read: CustomType = serde_json::from_value(json!({"id": "t", "version": 3, "key": "k",
            "name": {"en": "K"}, "resourceTypeIds": ["order"],
            "fieldDefinitions": [{"type": {"name": "String"}, "name": "a", "label": {"en": "A"},
                "required": false, "inputHint": "SingleLine"}]}))
        .unwrap();
        assert_eq!(read.field_definitions[0].type_name, "String");
        assert_eq!(read.version, 3);
    }
}
