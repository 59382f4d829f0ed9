//! A short, safe description of a message body for listings: what kind of message it is and
//! which ids it names, never anything else. Bodies carry personal data (addresses, emails,
//! phone numbers, gift messages), so this is an allow-list of keys, not a deny-list.

use serde_json::Value;

/// Keys that say what a message is (commercetools `type`/`notificationType`, the queues'
/// own `kind`/`event`).
pub(super) const KIND_KEYS: [&str; 4] = ["notificationType", "type", "kind", "event"];

/// Keys whose scalar values are ids, numbers or states: never personal data.
pub(super) const ID_KEYS: [&str; 16] = [
    "typeId",
    "id",
    "messageId",
    "orderId",
    "orderNumber",
    "order",
    "subject",
    "despatch",
    "package",
    "site",
    "item",
    "items",
    "returnCode",
    "status",
    "orderState",
    "payloadType",
];

/// Objects looked into (one level each): the commercetools resource, its user-provided
/// identifiers, the embedded order, a CloudEvent's `data`, a payload-not-included note.
const NESTED_KEYS: [&str; 5] = [
    "resource",
    "resourceUserProvidedIdentifiers",
    "order",
    "data",
    "payloadNotIncluded",
];

/// How deep nested objects are followed (`data.resource.id` is depth 2).
const MAX_DEPTH: usize = 2;
/// Longest value printed; longer ones are cut (ids are shorter, anything longer is suspect).
const MAX_VALUE_CHARS: usize = 64;
/// Array elements printed (`items`); the rest are counted.
const MAX_ARRAY_ITEMS: usize = 3;

/// `type=OrderCreated resource.id=o-1 resourceUserProvidedIdentifiers.orderNumber=10001 (812
/// bytes)`: the allow-listed fields of a JSON body, each distinct value once, and the size.
pub fn summarize(body: &str) -> String {
    let size = format!("{} bytes", body.len());
    let value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return format!("not JSON ({size})"),
    };
    let Value::Object(_) = value else {
        return format!("JSON {} ({size})", kind_of(&value));
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    collect(&value, "", 0, &mut fields);
    if fields.is_empty() {
        return format!("JSON object without kind or ids ({size})");
    }
    let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} ({size})", parts.join(" "))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Kinds first, then ids, then nested objects, in the allow-lists' order (stable output).
fn collect(value: &Value, prefix: &str, depth: usize, out: &mut Vec<(String, String)>) {
    let Value::Object(map) = value else {
        return;
    };
    for key in KIND_KEYS.iter().chain(ID_KEYS.iter()) {
        let Some(text) = map.get(*key).and_then(scalar_or_list) else {
            continue;
        };
        // The same id under several keys (resource.id, order.id) is printed once.
        if !out.iter().any(|(_, v)| *v == text) {
            out.push((format!("{prefix}{key}"), text));
        }
    }
    if depth >= MAX_DEPTH {
        return;
    }
    for key in NESTED_KEYS {
        if let Some(inner @ Value::Object(_)) = map.get(key) {
            collect(inner, &format!("{prefix}{key}."), depth + 1, out);
        }
    }
}

/// A string, number or boolean, or an array of them; objects are never printed.
fn scalar_or_list(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => {
            let shown: Vec<String> = items
                .iter()
                .filter_map(scalar)
                .take(MAX_ARRAY_ITEMS)
                .collect();
            if shown.is_empty() {
                return None;
            }
            let more = items.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(",+{more} more")
            } else {
                String::new()
            };
            Some(format!("[{}{more}]", shown.join(",")))
        }
        other => scalar(other),
    }
}

fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let text = shown_value(&text);
    (!text.is_empty()).then_some(text)
}

/// A value as listings show it: printable, and cut after [`MAX_VALUE_CHARS`] characters.
pub(super) fn shown_value(text: &str) -> String {
    let text = printable(text);
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), so that nothing read from a
/// queue can move the cursor or recolour an operator's terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture of docs/operations.md's `map-order` example: an OrderCreated Message with an address, an email, a phone
    /// number and a gift message.
    const ORDER_CREATED: &str = include_str!("../../../../shared/fixtures/order-created.json");

    #[test]
    fn an_order_message_shows_its_kind_and_ids_and_nothing_personal() {
        let s = summarize(ORDER_CREATED);
        assert!(
            s.starts_with("notificationType=Message type=OrderCreated "),
            "{s}"
        );
        assert!(
            s.contains("resource.id=3f1c2b7e-1d2a-4c55-9a77-8f1a2b3c4d5e"),
            "{s}"
        );
        assert!(
            s.contains("resourceUserProvidedIdentifiers.orderNumber=10001"),
            "{s}"
        );
        assert!(
            s.ends_with(&format!("({} bytes)", ORDER_CREATED.len())),
            "{s}"
        );
        for personal in [
            "jane", "Jane", "Doe", "High St", "SW1A", "London", "+44", "Sam",
        ] {
            assert!(!s.contains(personal), "{personal} in {s}");
        }
    }

    #[test]
    fn queue_messages_show_their_kind_and_ids() {
        let stock = r#"{"kind":"recheck","id":"r-1","site":"UK-DC","items":["A","B","C","D","E"],"reread":true,"source":"operator","notBeforeMs":1}"#;
        assert_eq!(
            summarize(stock),
            format!(
                "kind=recheck id=r-1 site=UK-DC items=[A,B,C,+2 more] ({} bytes)",
                stock.len()
            )
        );
        let shipment = r#"{"id":"e-1","event":"tracking","despatch":"D-7","order":"10001","tracking":"1Z999","receivedAtMs":5}"#;
        let s = summarize(shipment);
        assert!(
            s.starts_with("event=tracking id=e-1 order=10001 despatch=D-7 "),
            "{s}"
        );
        assert!(!s.contains("1Z999"), "tracking numbers are not listed: {s}");
    }

    #[test]
    fn odd_bodies_are_described_not_printed() {
        assert_eq!(summarize("Jane Doe, 1 High St"), "not JSON (19 bytes)");
        assert_eq!(
            summarize(r#"["jane@example.com"]"#),
            "JSON array (20 bytes)"
        );
        assert_eq!(
            summarize(r#"{"email":"jane@example.com"}"#),
            "JSON object without kind or ids (28 bytes)"
        );
        let long = format!(r#"{{"type":"{}\u001b[2J"}}"#, "x".repeat(70));
        let s = summarize(&long);
        assert!(s.contains('…') && !s.contains('\u{1b}'), "{s}");
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
    }
}
