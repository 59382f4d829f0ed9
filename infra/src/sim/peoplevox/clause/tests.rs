//! Parsing, each operator and the pinned values.

use std::collections::{BTreeMap, BTreeSet};

use time::macros::datetime;

use super::*;

fn record(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn matches(clause: &str, field: &str, value: &str) -> bool {
    Clause::parse(clause)
        .unwrap_or_else(|e| panic!("{clause}: {e}"))
        .matches(&record(&[(field, value)]))
}

#[test]
fn equals_any_and_report_forms() {
    let c = Clause::parse(r#"ItemCode.Equals("a") OR ItemCode.Equals("b\"c\\")"#).unwrap();
    assert!(c.matches(&record(&[("ItemCode", "a")])));
    assert!(c.matches(&record(&[("ItemCode", r#"b"c\"#)])));
    assert!(!c.matches(&record(&[("ItemCode", "A")])));

    let c = Clause::parse(
        r#"([Site reference].Equals("S1")) AND ([Item code].Equals("x") OR [Item code] == "y")"#,
    )
    .unwrap();
    assert_eq!(c.fields(), vec!["Site reference", "Item code", "Item code"]);
    assert!(c.matches(&record(&[("Site reference", "S1"), ("Item code", "y")])));
    assert!(!c.matches(&record(&[("Site reference", "S2"), ("Item code", "y")])));
}

#[test]
fn single_equals_and_single_quotes() {
    let c =
        Clause::parse("[Sales order number] = 'SO-1' OR [Sales order number] = 'SO-2'").unwrap();
    assert_eq!(c.fields(), vec!["Sales order number", "Sales order number"]);
    assert!(c.matches(&record(&[("Sales order number", "SO-2")])));
    assert!(!c.matches(&record(&[("Sales order number", "SO-3")])));
    let c = Clause::parse(r"[Name] = 'it''s \'x\' \\'").unwrap();
    assert!(c.matches(&record(&[("Name", r"it's 'x' \")])), "{c:?}");
    assert!(Clause::parse("[Name] = 'a").is_err());
    assert!(Clause::parse("[Name] = = 'a'").is_err());
}

#[test]
fn empty_is_all_and_garbage_is_an_error() {
    assert_eq!(Clause::parse("  ").unwrap(), Clause::All);
    assert!(Clause::parse("ItemCode.Equals(\"a\"").is_err());
    assert!(Clause::parse("ItemCode.Equals(\"a").is_err());
    assert!(Clause::parse("ItemCode.Frobnicate(\"a\")").is_err());
    assert!(Clause::parse("ItemCode.Equals(\"a\") junk").is_err());
}

#[test]
fn text_methods_and_not_equals() {
    assert!(matches(r#"[Name].Contains("ee")"#, "Name", "Green tee"));
    assert!(matches(r#"[Name].StartsWith("Gr")"#, "Name", "Green"));
    assert!(!matches(r#"[Name].EndsWith("X")"#, "Name", "Green"));
    assert!(matches(r#"[Name] != "Red""#, "Name", "Green"));
    assert!(matches(r#"[Name] <> "Red""#, "Name", "Green"));
    assert!(!matches(r#"![Name].Equals("Green")"#, "Name", "Green"));
    // A number literal compares as written with text methods and equality.
    assert!(matches("[Available] == 5", "Available", "5"));
    assert!(!matches("[Available] == 5", "Available", "5.00"));
}

#[test]
fn dates_compare_chronologically_with_a_datetime_literal() {
    let at = "[Despatch date]";
    // Day-first text order would put 01/12 before 30/11.
    assert!(matches(
        &format!("{at} > DateTime(2026,11,30,02,00,00)"),
        "Despatch date",
        "'01/12/2026 00:00:00'"
    ));
    for (op, value, want) in [
        (">=", "'30/11/2026 02:00:00'", true),
        (">", "'30/11/2026 02:00:00'", false),
        ("<=", "'30/11/2026 02:00:00'", true),
        ("<", "'30/11/2026 01:59:59'", true),
        ("<", "'30/11/2026 02:00:01'", false),
        ("==", "'30/11/2026 02:00'", true),
        ("!=", "'30/11/2026 02:00'", false),
        (">=", "30/11/2026 02:00:00", true),
        // Not a date: no ordering holds, and it equals no date.
        (">=", "soon", false),
        ("<", "soon", false),
        ("!=", "soon", true),
    ] {
        let clause = format!("{at} {op} DateTime(2026,11,30,02,00,00)");
        assert_eq!(
            matches(&clause, "Despatch date", value),
            want,
            "{clause} on {value}"
        );
    }
    assert!(matches(
        &format!("{at}.Equals(DateTime(2026,11,30))"),
        "Despatch date",
        "'30/11/2026 00:00'"
    ));
    let c = Clause::parse("[D] < DateTime(2026, 2, 28, 23, 59, 59)").unwrap();
    let want = Literal::DateTime(datetime!(2026-02-28 23:59:59));
    assert!(matches!(c, Clause::Test { value, .. } if value == want));
}

#[test]
fn datetime_literals_are_checked() {
    for bad in [
        "[D] > DateTime(2026,2,30)",
        "[D] > DateTime(2026,11,30,24,00,00)",
        "[D] > DateTime(2026,11)",
        "[D] > DateTime(2026,11,30,1.5,0,0)",
        "[D] > DateTime(2026 11 30)",
        "[D] > DateTime(2026,11,30",
        r#"[D].Contains(DateTime(2026,11,30))"#,
        "[D] > Date(2026,11,30)",
    ] {
        assert!(Clause::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn numbers_compare_numerically_with_a_number_literal() {
    for (clause, value, want) in [
        ("[Available] > 9", "10", true),
        ("[Available] >= 10", "10", true),
        ("[Available] < 10", "9", true),
        ("[Available] <= -1", "-2", true),
        ("[Available] > 9", "9.50", true),
        ("[Weight] < 1.5", "1.25", true),
        ("[Weight] < 1.5", "12", false),
        // Not a number: ordinal, like any text.
        ("[Available] > 10", "9x", true),
        ("[Available] > 10", "inf", true),
    ] {
        let row = record(&[("Available", value), ("Weight", value)]);
        let c = Clause::parse(clause).unwrap();
        assert_eq!(c.matches(&row), want, "{clause} on {value}");
    }
}

#[test]
fn other_comparisons_are_ordinal() {
    for (clause, value, want) in [
        (r#"[Item code] > "SKU-9""#, "SKU-10", false),
        (r#"[Item code] > "100""#, "99", true),
        (r#"[Item code] < "b""#, "B", true),
        (r#"[Item code] >= 'a'"#, "a", true),
        (r#"[Item code] <= 'a'"#, "ab", false),
    ] {
        assert_eq!(
            matches(clause, "Item code", value),
            want,
            "{clause} on {value}"
        );
    }
}

#[test]
fn pinned_values_come_from_equalities_only() {
    let pinned = |clause: &str, field: &str| -> Option<Vec<String>> {
        let c = Clause::parse(clause).unwrap();
        c.pinned_values(field)
            .map(|s| s.into_iter().map(str::to_string).collect())
    };
    let report =
        r#"([Site reference].Equals("S")) AND ([Item code].Equals("a") OR [Item code] == "b")"#;
    assert_eq!(pinned(report, "Site reference"), Some(vec!["S".into()]));
    assert_eq!(
        pinned(report, "Item code"),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(pinned(report, "Available"), None);
    assert_eq!(pinned(r#"[A] == "x" OR [B] == "y""#, "A"), None);
    assert_eq!(pinned(r#"[A] == "x" AND [A] == "y""#, "A"), Some(vec![]));
    assert_eq!(pinned(r#"![A].Equals("x")"#, "A"), None);
    assert_eq!(pinned(r#"[A] != "x""#, "A"), None);
    assert_eq!(pinned(r#"[A] >= "x""#, "A"), None);
    assert_eq!(pinned("[A] == DateTime(2026,1,1)", "A"), None);
    assert_eq!(pinned("[A] == 5", "A"), Some(vec!["5".into()]));
    assert_eq!(pinned("", "A"), None);
    let _: Option<BTreeSet<&str>> = Clause::All.pinned_values("A");
}

#[test]
fn a_known_value_decides_the_tests_of_its_field() {
    let given = |clause: &str| Clause::parse(clause).unwrap().given("Site", "S");
    let rest = |clause: &str| Clause::parse(clause).unwrap();
    assert_eq!(given(r#"[Site] == "S""#), Clause::All);
    assert_eq!(
        given(r#"[Site] == "S" AND [Item] == "a""#),
        rest(r#"[Item] == "a""#)
    );
    assert_eq!(
        given(r#"[Site] == "T" OR [Item] == "a""#),
        rest(r#"[Item] == "a""#)
    );
    assert_eq!(given(r#"[Site] == "S" OR [Item] == "a""#), Clause::All);
    assert_eq!(given(r#"!([Site] == "T")"#), Clause::All);
    assert_eq!(
        given(r#"[Site] > "R" AND ![Item] == "a""#),
        rest(r#"![Item] == "a""#)
    );
    assert_eq!(given(""), Clause::All);
    // Nothing left that a row could match.
    let none = given(r#"[Site] == "T" AND [Item] == "a""#);
    assert!(!none.matches(&record(&[("Site", "S"), ("Item", "a")])));
    let none = given(r#"[Site].StartsWith("X") OR [Site] != "S""#);
    assert!(!none.matches(&record(&[("Site", "S")])));
    assert_eq!(given(r#"!([Site] == "T" AND [Item] == "a")"#), Clause::All);
}

#[test]
fn dotted_field_paths_are_one_field() {
    let clause =
        Clause::parse(r#"Despatch.DespatchNumber.Equals("D1") OR Despatch.DespatchNumber = "D2""#)
            .unwrap();
    assert_eq!(
        clause.fields(),
        ["Despatch.DespatchNumber", "Despatch.DespatchNumber"]
    );
    let row = record(&[("Despatch.DespatchNumber", "D2")]);
    assert!(clause.matches(&row));
    assert!(
        !Clause::parse(r#"Despatch.DespatchNumber.Equals("D1")"#)
            .unwrap()
            .matches(&row)
    );
}
