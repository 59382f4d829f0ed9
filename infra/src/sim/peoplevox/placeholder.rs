//! `{Placeholder}` substitution in callback URLs and POST parameters. Names are matched
//! case-sensitively; a name the tenant does not substitute stays in the text literally, as
//! Peoplevox leaves it, so a receiver sees `{Foo}` and the typo is noticed. Which names a
//! tenant substitutes is its dialect's [`Placeholders`] ([`substitutes`]).

use super::dialect::Placeholders;

/// The placeholders a public client registers, by event type: finerylondon/peep_conn
/// `lib/peep_conn/subscription.rb` (every version; IncrementalChanges in its first commit
/// 40dacc2). Nothing public shows Returns or DespatchPackage* placeholders.
const EVIDENCE: &[(&str, &[&str])] = &[
    ("AvailabilityChanges", &["ItemCode", "Available"]),
    (
        "IncrementalChanges",
        &[
            "QuantityChanged",
            "UpdatedBy",
            "UpdateTimestamp",
            "Reason",
            "ItemType.ItemCode",
            "ItemType.Name",
        ],
    ),
    (
        "TrackingNumberReceived",
        &[
            "DespatchNumber",
            "TrackingNumber",
            "Carrier.Number",
            "ServiceType.Name",
            "ServiceType.Code",
            "Picks.SalesOrder.SalesOrderNumber",
            "Picks.SalesOrder.Email",
        ],
    ),
    (
        "SalesOrderStatusChanges",
        &[
            "SalesOrderNumber",
            "LastModificationTime",
            "SalesOrderStatu.Name",
        ],
    ),
];

/// The key of each event: what a tenant that sends nothing else still sends (the bare
/// dialect's assumption: the entity's own number).
const KEYS: &[(&str, &str)] = &[
    ("AvailabilityChanges", "ItemCode"),
    ("IncrementalChanges", "ItemType.ItemCode"),
    ("TrackingNumberReceived", "DespatchNumber"),
    ("DespatchPackageTrackingNumberReceived", "DespatchNumber"),
    ("DespatchPackageDespatched", "DespatchNumber"),
    ("SalesOrderStatusChanges", "SalesOrderNumber"),
    ("Returns", "ReturnCode"),
];

/// Whether a tenant of this kind substitutes `name` in callbacks of `event_type` (the event
/// must offer a value for it too).
pub fn substitutes(placeholders: Placeholders, event_type: &str, name: &str) -> bool {
    match placeholders {
        Placeholders::Guessed => true,
        Placeholders::Evidence => EVIDENCE
            .iter()
            .any(|(e, names)| *e == event_type && names.contains(&name)),
        Placeholders::KeysOnly => KEYS.iter().any(|(e, key)| *e == event_type && *key == name),
    }
}

/// Values substituted as they are (`encodeParameterData` false or absent).
pub fn raw(value: &str) -> String {
    value.to_string()
}

/// Replaces every known `{Name}` in `template` with `encode(value)`.
pub fn substitute(
    template: &str,
    values: &[(&str, String)],
    encode: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        // The token ends at the next `}`, unless another `{` starts first.
        let close = after.find('}').filter(|c| !after[..*c].contains('{'));
        let known = close.and_then(|c| {
            values
                .iter()
                .find(|(name, _)| *name == &after[..c])
                .map(|(_, v)| (c, v))
        });
        match known {
            Some((c, value)) => {
                out.push_str(&encode(value));
                rest = &after[c + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters: safe in a path segment
/// and in a query component alike.
pub fn url_component(value: &str) -> String {
    encode(value, "%20")
}

/// `application/x-www-form-urlencoded` value encoding (space as `+`).
pub fn form_value(value: &str) -> String {
    encode(value, "+")
}

fn encode(value: &str, space: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Vec<(&'static str, String)> {
        vec![
            ("ItemCode", "SKU 1&2/é".to_string()),
            ("Available", "-3".to_string()),
        ]
    }

    #[test]
    fn known_names_are_replaced_and_encoded() {
        let url = substitute(
            "http://h/cb?item={ItemCode}&a={Available}&x={Unknown}&c={itemcode}",
            &values(),
            url_component,
        );
        assert_eq!(
            url,
            "http://h/cb?item=SKU%201%262%2F%C3%A9&a=-3&x={Unknown}&c={itemcode}"
        );
        assert_eq!(
            substitute("i={ItemCode}", &values(), form_value),
            "i=SKU+1%262%2F%C3%A9"
        );
    }

    #[test]
    fn each_kind_of_tenant_substitutes_its_own_names() {
        let status = "SalesOrderStatusChanges";
        assert!(substitutes(
            Placeholders::Evidence,
            status,
            "SalesOrderStatu.Name"
        ));
        assert!(!substitutes(
            Placeholders::Evidence,
            status,
            "SalesOrderStatus.Name"
        ));
        assert!(!substitutes(Placeholders::Evidence, status, "OnHold"));
        assert!(!substitutes(
            Placeholders::Evidence,
            "Returns",
            "ReturnCode"
        ));
        assert!(substitutes(Placeholders::Guessed, status, "OnHold"));
        assert!(substitutes(
            Placeholders::KeysOnly,
            status,
            "SalesOrderNumber"
        ));
        assert!(!substitutes(
            Placeholders::KeysOnly,
            status,
            "SalesOrderStatu.Name"
        ));
        assert!(!substitutes(
            Placeholders::KeysOnly,
            "AvailabilityChanges",
            "Available"
        ));
    }

    #[test]
    fn stray_braces_stay_literal() {
        assert_eq!(
            substitute("{{Available}}{ {", &values(), url_component),
            "{-3}{ {"
        );
        assert_eq!(
            substitute("{Available", &values(), url_component),
            "{Available"
        );
    }
}
