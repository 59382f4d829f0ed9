//! Each operator, the precedence, array semantics and the refusals.

use serde_json::{Value, json};

use super::Predicate;

const ORDER_FIELDS: [&str; 8] = [
    "id",
    "orderNumber",
    "orderState",
    "createdAt",
    "syncInfo.channel.id",
    "lineItems.variant.sku",
    "lineItems.quantity",
    "lineItems.supplyChannel.id",
];

fn order() -> Value {
    json!({"id": "b", "orderNumber": "10001", "orderState": "Open",
           "createdAt": "2026-08-02T10:00:00.000Z",
           "syncInfo": [{"channel": {"typeId": "channel", "id": "ch-1"}}],
           "lineItems": [
               {"variant": {"sku": "A"}, "quantity": 1,
                "supplyChannel": {"typeId": "channel", "id": "wh-1"}},
               {"variant": {"sku": "B"}, "quantity": 5}]})
}

fn matches(predicate: &str) -> bool {
    Predicate::parse(predicate, &ORDER_FIELDS)
        .unwrap_or_else(|e| panic!("{predicate}: {e}"))
        .matches(&order())
}

fn refusal(predicate: &str) -> String {
    match Predicate::parse(predicate, &ORDER_FIELDS) {
        Ok(parsed) => panic!("{predicate} was accepted as {parsed:?}"),
        Err(message) => message,
    }
}

#[test]
fn comparisons_joined_by_and() {
    assert!(matches(r#"orderNumber="10001""#));
    assert!(!matches(r#"orderNumber = "10002""#));
    assert!(matches(r#"orderNumber != "10002""#));
    assert!(matches(r#"orderNumber <> "10002""#));
    assert!(matches(
        r#"id > "a" and createdAt > "2026-08-01T00:00:00Z""#
    ));
    assert!(!matches(
        r#"id > "a" and createdAt > "2026-08-03T00:00:00Z""#
    ));
    assert!(matches(r#"createdAt >= "2026-08-02T10:00:00Z""#));
    assert!(!matches(r#"createdAt < "2026-08-02T10:00:00Z""#));
    assert!(matches(r#"createdAt <= "2026-08-02T10:00:00Z""#));
}

#[test]
fn in_and_not_in_over_strings_and_numbers() {
    assert!(matches(r#"orderNumber in ("10000", "10001")"#));
    assert!(!matches(r#"orderNumber in ("10000")"#));
    assert!(matches(r#"orderNumber not in ("10000", "10002")"#));
    assert!(!matches(r#"orderNumber not in ("10001")"#));
    assert!(matches("lineItems(quantity in (5, 7))"));
    assert!(!matches("lineItems(quantity in (2, 3))"));
    assert!(matches(r#"lineItems(variant(sku in ("X", "B")))"#));
    assert!(!matches(r#"lineItems(variant(sku in ("X", "Y")))"#));
    // A quoted value with an escaped quote and backslash.
    let p = Predicate::parse(r#"orderNumber in ("a\"b\\c")"#, &ORDER_FIELDS).unwrap();
    assert!(p.matches(&json!({"orderNumber": r#"a"b\c"#})));
    // A missing field is in no list, and not in one either.
    let p = Predicate::parse(r#"orderNumber not in ("1")"#, &ORDER_FIELDS).unwrap();
    assert!(!p.matches(&json!({"id": "x"})));
}

#[test]
fn or_not_and_grouping() {
    assert!(matches(r#"orderNumber="1" or orderNumber="10001""#));
    assert!(!matches(r#"orderNumber="1" or orderNumber="2""#));
    assert!(matches(r#"not(orderNumber="1")"#));
    assert!(!matches(r#"not (orderNumber="10001")"#));
    assert!(matches(
        r#"(orderState="Open") and (orderNumber="1" or id="b")"#
    ));
    assert!(!matches(
        r#"(orderState="Cancelled") and (orderNumber="1" or id="b")"#
    ));
    assert!(matches(r#"not(not(id="b"))"#));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    // true or (false and false): 'and' binds tighter.
    assert!(matches(r#"id="b" or id="x" and id="y""#));
    // (false and false) or true.
    assert!(matches(r#"id="x" and id="y" or id="b""#));
    // Grouping overrides it: (true or false) and false.
    assert!(!matches(r#"(id="b" or id="x") and id="y""#));
    // not(…) applies to its group only: (not true) or true.
    assert!(matches(r#"not(id="b") or id="b""#));
    // (not false) and false.
    assert!(!matches(r#"not(id="x") and id="y""#));
}

#[test]
fn nesting_and_arrays() {
    assert!(matches(r#"syncInfo(channel(id="ch-1"))"#));
    assert!(!matches(r#"syncInfo(channel(id="ch-2"))"#));
    assert!(matches(r#"not(syncInfo(channel(id="ch-2")))"#));
    assert!(!matches(r#"not(syncInfo(channel(id="ch-1")))"#));
    let unsynced = json!({"id": "c"});
    let p = Predicate::parse(r#"not(syncInfo(channel(id="ch-1")))"#, &ORDER_FIELDS).unwrap();
    assert!(p.matches(&unsynced));
    // A whole predicate inside a nesting applies to one element at a time.
    assert!(matches(
        r#"lineItems(variant(sku="A") and supplyChannel(id="wh-1"))"#
    ));
    assert!(!matches(r#"lineItems(variant(sku="B") and quantity < 2)"#));
    assert!(matches(r#"lineItems(variant(sku="B") or quantity > 9)"#));
    assert!(matches("lineItems(quantity >= 5)"));
}

#[test]
fn definedness() {
    let fields = ["supplyChannel", "supplyChannel.id", "sku"];
    let p = Predicate::parse(r#"supplyChannel is not defined and sku in ("A")"#, &fields).unwrap();
    assert!(p.matches(&json!({"sku": "A"})));
    assert!(p.matches(&json!({"sku": "A", "supplyChannel": null})));
    assert!(!p.matches(&json!({"sku": "A", "supplyChannel": {"id": "x"}})));
    let p = Predicate::parse("supplyChannel is defined", &fields).unwrap();
    assert!(p.matches(&json!({"supplyChannel": {"id": "x"}})));
    assert!(!p.matches(&json!({"sku": "A"})));
}

#[test]
fn unsupported_predicates_are_refused_saying_what() {
    for (bad, says) in [
        (r#"customerEmail="a@b.c""#, "customerEmail"),
        (r#"lineItems(name="x")"#, "lineItems.name"),
        (r#"orderNumber contains "1""#, "'contains' is not supported"),
        ("syncInfo is empty", "'is empty' is not supported"),
        ("syncInfo is not empty", "'is not empty' is not supported"),
        ("lineItems(quantity = 1.5)", "decimal"),
        ("orderNumber = true", "literal"),
        (r#"createdAt > "yesterday""#, "date-time"),
        (
            r#"createdAt in ("2026-01-01T00:00:00Z", "soon")"#,
            "date-time",
        ),
        (r#"orderNumber="1"#, "unterminated"),
        (r#"orderNumber in ()"#, "literal"),
        (r#"orderNumber in ("1" "2")"#, "expected ',' or ')'"),
        (r#"orderNumber not ("1")"#, "expected 'in'"),
        (r#"not orderNumber="1""#, "'not' must be followed"),
        (r#"(orderNumber="1""#, "expected ')'"),
        (
            r#"orderNumber="1" orderNumber="2""#,
            "joined with 'and' or 'or'",
        ),
        (r#"orderNumber="1" and or id="b""#, "expected a field name"),
        ("", "expected a field name"),
    ] {
        let message = refusal(bad);
        assert!(message.contains(says), "{bad}: {message}");
    }
}
