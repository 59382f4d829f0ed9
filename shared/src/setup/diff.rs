//! What is missing from an existing channel or Type, compared with the desired state. Pure, so
//! that the rules (add, never remove; report what cannot be added) are tested without HTTP.

use crate::commercetools::types::ChannelRole;
use crate::commercetools::types_api::{CustomType, FieldDefinitionDraft, TypeDraft};

/// The wanted roles the channel does not have yet, in the wanted order.
pub fn missing_roles(have: &[String], want: &[ChannelRole]) -> Vec<ChannelRole> {
    want.iter()
        .copied()
        .filter(|role| !have.iter().any(|h| h == role.as_str()))
        .collect()
}

/// The wanted fields the Type does not define yet (by name), in the wanted order.
pub fn missing_fields(have: &CustomType, want: &TypeDraft) -> Vec<FieldDefinitionDraft> {
    want.field_definitions
        .iter()
        .filter(|field| !have.field_definitions.iter().any(|f| f.name == field.name))
        .cloned()
        .collect()
}

/// What makes an existing Type unusable and cannot be fixed by adding: a resource type it is
/// not for, or a field of the same name with another type. Fixing either means deleting (and
/// losing values), which setup leaves to a person.
pub fn conflicts(have: &CustomType, want: &TypeDraft) -> Vec<String> {
    let mut found = Vec::new();
    for resource in &want.resource_type_ids {
        if !have.resource_type_ids.contains(resource) {
            found.push(format!(
                "it is for {} and not for {resource}",
                have.resource_type_ids.join(", ")
            ));
        }
    }
    for field in &want.field_definitions {
        if let Some(existing) = have
            .field_definitions
            .iter()
            .find(|f| f.name == field.name && f.type_name != field.field_type.name)
        {
            found.push(format!(
                "field {} is {}, not {}",
                field.name, existing.type_name, field.field_type.name
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commercetools::types_api::FieldDefinition;
    use crate::setup::desired::order_type;

    fn existing(resource: &str, fields: &[(&str, &str)]) -> CustomType {
        CustomType {
            id: "t".into(),
            version: 1,
            key: "ctpvx-order".into(),
            resource_type_ids: vec![resource.into()],
            field_definitions: fields
                .iter()
                .map(|(name, type_name)| FieldDefinition {
                    name: name.to_string(),
                    type_name: type_name.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn only_absent_roles_are_missing() {
        let have = vec!["InventorySupply".to_string()];
        let want = [ChannelRole::InventorySupply, ChannelRole::OrderExport];
        assert_eq!(missing_roles(&have, &want), vec![ChannelRole::OrderExport]);
        assert!(missing_roles(&have, &want[..1]).is_empty());
    }

    #[test]
    fn only_absent_fields_are_missing() {
        let have = existing(
            "order",
            &[("pvxOrderNumber", "String"), ("extra", "Number")],
        );
        let missing: Vec<String> = missing_fields(&have, &order_type())
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(missing, ["pvxStatus", "pvxShortPicks", "pvxException"]);
        assert!(conflicts(&have, &order_type()).is_empty());
    }

    #[test]
    fn wrong_resource_or_field_type_is_a_conflict() {
        let have = existing("customer", &[("pvxStatus", "Number")]);
        let found = conflicts(&have, &order_type());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("not for order"));
        assert!(found[1].contains("pvxStatus is Number, not String"));
    }
}
