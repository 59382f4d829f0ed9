//! The order custom fields the status flow writes (`pvxStatus`, `pvxShortPicks`,
//! `pvxException`). An order carries one custom Type at most: an order without one gets ours
//! (with the fields in the same action), an order with ours gets `setCustomField`s, and an order
//! with somebody else's Type is left alone — overwriting it would wipe the merchant's fields.

use serde_json::Value;

use crate::commercetools::OrderUpdateAction;
use crate::commercetools::actions::reference_by_key;
use crate::commercetools::types::Order;

/// Our order Type: its key (configuration) and id (resolved at start, to recognise it on an
/// order, whose `custom.type` is a reference by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderType {
    /// `status.order_type`.
    pub key: String,
    /// Its id in the project.
    pub id: String,
}

/// A field's current value on the order, if the order carries our Type.
pub fn current<'a>(order: &'a Order, name: &str) -> Option<&'a Value> {
    order.custom.as_ref()?.fields.get(name)
}

/// The current text of a field.
pub fn current_text<'a>(order: &'a Order, name: &str) -> Option<&'a str> {
    current(order, name).and_then(Value::as_str)
}

/// `field`'s text with `texts` added after what the order shows already, `; `-separated: an
/// earlier exception is never wiped for a later one, and a text the order shows already is not
/// added again (planning again after a conflict, the same conflict reported twice).
pub fn appended(order: &Order, field: &str, texts: &[String]) -> String {
    let mut value = current_text(order, field)
        .unwrap_or_default()
        .trim()
        .to_string();
    for text in texts {
        // A whole `; `-separated entry, not any substring: a new reason that happens to be
        // part of an older one is still added.
        if !format!("; {value}; ").contains(&format!("; {text}; ")) {
            if !value.is_empty() {
                value.push_str("; ");
            }
            value.push_str(text);
        }
    }
    value
}

/// The actions that give the fields these values (only the ones that differ); `Err` names why
/// they cannot be written on this order.
pub fn set(
    order: &Order,
    ours: &OrderType,
    wanted: &[(&str, Value)],
) -> Result<Vec<OrderUpdateAction>, String> {
    let changed: Vec<&(&str, Value)> = wanted
        .iter()
        .filter(|(name, value)| current(order, name) != Some(value))
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    match &order.custom {
        None => Ok(vec![OrderUpdateAction::SetCustomType {
            type_ref: reference_by_key("type", &ours.key),
            fields: changed
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
        }]),
        Some(custom) if custom.type_ref.id.as_deref() == Some(ours.id.as_str()) => Ok(changed
            .iter()
            .map(|(name, value)| OrderUpdateAction::SetCustomField {
                name: name.to_string(),
                value: Some(value.clone()),
            })
            .collect()),
        Some(custom) => Err(format!(
            "the order carries another custom Type ({}); name it in status.order_type so that `ctpvx setup` adds the ctpvx fields to it",
            custom
                .type_ref
                .key
                .as_deref()
                .or(custom.type_ref.id.as_deref())
                .unwrap_or("?")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(custom: Value) -> Order {
        serde_json::from_value(serde_json::json!({
            "id": "o", "version": 1, "lineItems": [], "custom": custom
        }))
        .unwrap()
    }

    fn ours() -> OrderType {
        OrderType {
            key: "ctpvx-order".into(),
            id: "t-1".into(),
        }
    }

    #[test]
    fn an_exception_is_added_after_the_one_shown_and_never_twice() {
        let o = order(serde_json::json!({"type": {"typeId": "type", "id": "t-1"},
            "fields": {"pvxException": "first"}}));
        let texts = ["second".to_string(), "first".to_string()];
        assert_eq!(appended(&o, "pvxException", &texts), "first; second");
        assert_eq!(
            appended(&order(Value::Null), "pvxException", &texts),
            "second; first"
        );
        // Part of an earlier text is a text of its own.
        let o = order(serde_json::json!({"type": {"typeId": "type", "id": "t-1"},
            "fields": {"pvxException": "short pick: SKU-1; late"}}));
        let texts = ["short pick".to_string(), "late".to_string()];
        assert_eq!(
            appended(&o, "pvxException", &texts),
            "short pick: SKU-1; late; short pick"
        );
    }

    #[test]
    fn a_bare_order_gets_our_type_with_the_fields() {
        let actions = set(
            &order(Value::Null),
            &ours(),
            &[("pvxStatus", "Picking".into())],
        )
        .unwrap();
        let json = serde_json::to_value(&actions).unwrap();
        assert_eq!(json[0]["action"], "setCustomType");
        assert_eq!(json[0]["type"]["key"], "ctpvx-order");
        assert_eq!(json[0]["fields"]["pvxStatus"], "Picking");
    }

    #[test]
    fn our_type_gets_only_the_changed_fields_and_a_foreign_type_is_refused() {
        let o = order(
            serde_json::json!({"type": {"typeId": "type", "id": "t-1"}, "fields": {"pvxStatus": "Picking"}}),
        );
        let wanted = [
            ("pvxStatus", "Picking".into()),
            ("pvxShortPicks", "A: 1 of 2".into()),
        ];
        let actions = set(&o, &ours(), &wanted).unwrap();
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].name(), "setCustomField");
        assert!(set(&o, &ours(), &wanted[..1]).unwrap().is_empty());
        let foreign =
            order(serde_json::json!({"type": {"typeId": "type", "id": "merchant"}, "fields": {}}));
        let e = set(&foreign, &ours(), &wanted).unwrap_err();
        assert!(e.contains("status.order_type"), "{e}");
    }
}
