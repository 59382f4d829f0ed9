//! A message body as an operator may see it on a screen: its whole structure (every key), and
//! the values of keys that are ids, kinds, states, SKUs, quantities, amounts and times only.
//! Every other value is masked with its length: names, addresses, emails, phone numbers and
//! gift messages hide under keys nobody can list in full, so this is an allow-list, as
//! [`super::summarize`] is.

use serde_json::Value;

use super::summary::{ID_KEYS, KIND_KEYS, shown_value};

/// Keys whose scalar values are shown besides the summary's kind and id keys: ids of things,
/// states, quantities, money and times. Not `key` (a customer's or an address's may be an
/// email), `state` (an address's region) or tracking numbers (a carrier's site shows the
/// recipient).
const ALSO_SHOWN: [&str; 25] = [
    "despatchNumber",
    "productId",
    "variantId",
    "lineItemId",
    "customLineItemId",
    "deliveryId",
    "parcelId",
    "supplyChannel",
    "distributionChannel",
    "projectKey",
    "sku",
    "shipmentState",
    "paymentState",
    "quantity",
    "quantityOnStock",
    "availableQuantity",
    "available",
    "centAmount",
    "currencyCode",
    "fractionDigits",
    "version",
    "resourceVersion",
    "sequenceNumber",
    "createdAt",
    "lastModifiedAt",
];

fn shown(key: &str) -> bool {
    KIND_KEYS.contains(&key) || ID_KEYS.contains(&key) || ALSO_SHOWN.contains(&key)
}

/// The body pretty-printed with every value of a key not [`shown`] masked; a body that is not JSON
/// is not shown at all (its size only).
pub fn masked(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => {
            let masked = mask(value, None);
            serde_json::to_string_pretty(&masked).unwrap_or_default()
        }
        Err(_) => format!("({} bytes, not JSON: not shown)", body.len()),
    }
}

fn mask(value: Value, key: Option<&str>) -> Value {
    let shown = key.is_some_and(shown);
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = mask(v, Some(&k));
                    (k, v)
                })
                .collect(),
        ),
        // Elements are what their array's key says they are.
        Value::Array(items) => Value::Array(items.into_iter().map(|v| mask(v, key)).collect()),
        Value::Null | Value::Bool(_) => value,
        scalar if shown => match scalar {
            Value::String(s) => Value::String(shown_value(&s)),
            other => other,
        },
        Value::String(s) => Value::String(format!("•••({})", s.chars().count())),
        Value::Number(_) => Value::String("•••".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn people_are_masked_and_ids_shown() {
        let body = r#"{"type":"OrderCreated","resource":{"typeId":"order","id":"o-1"},
            "order":{"id":"o-1","orderNumber":"10001","customerEmail":"ann@example.com",
            "shippingAddress":{"firstName":"Ann","streetName":"High St","phone":447700900123},
            "lineItems":[{"id":"li-1","variant":{"sku":"SKU-1"},"quantity":2,
              "name":{"en":"Gift for Ann"}}]}}"#;
        let shown = masked(body);
        for kept in [
            "OrderCreated",
            "o-1",
            "10001",
            "SKU-1",
            "li-1",
            "\"quantity\": 2",
        ] {
            assert!(shown.contains(kept), "{kept} missing from {shown}");
        }
        for hidden in ["ann@example.com", "Ann", "High St", "447700900123", "Gift"] {
            assert!(!shown.contains(hidden), "{hidden} shown in {shown}");
        }
        // Every key stays: the structure says what the body was.
        assert!(shown.contains("\"customerEmail\": \"•••(15)\""), "{shown}");
        assert_eq!(masked("name=Ann"), "(8 bytes, not JSON: not shown)");
    }
}
