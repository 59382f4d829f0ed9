//! SearchClause / FilterClause builders (Dynamic-LINQ-like syntax), with string literals
//! escaped so that a value can never change the clause.
//!
//! GetData uses template field names (`ItemCode.Equals("x")`); GetReportData uses bracketed
//! report columns (`[Item code].Equals("x")`). An empty clause means *every record*, so callers
//! with an empty list of values must not send a request at all: the `*_chunks` helpers return
//! no clause for no values.

/// At most this many values per clause (bedrock's `MAX_REQUEST_ITEMS`).
pub const MAX_VALUES_PER_CLAUSE: usize = 100;

/// A double-quoted string literal with `\` and `"` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `Field.Equals("a") OR Field.Equals("b")` over a template field name.
///
/// An empty `values` gives an empty clause, which Peoplevox reads as "everything"; prefer
/// [`equals_any_chunks`].
pub fn equals_any<I, S>(field: &str, values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    values
        .into_iter()
        .map(|v| format!("{field}.Equals({})", quote(v.as_ref())))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `([Col].Equals("a") OR [Col].Equals("b"))` over a report column name.
///
/// An empty `values` gives an empty clause (everything); prefer [`report_equals_any_chunks`].
pub fn report_equals_any<I, S>(column: &str, values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let terms = values
        .into_iter()
        .map(|v| format!("[{column}].Equals({})", quote(v.as_ref())))
        .collect::<Vec<_>>();
    if terms.is_empty() {
        return String::new();
    }
    format!("({})", terms.join(" OR "))
}

/// One [`equals_any`] clause per chunk of at most [`MAX_VALUES_PER_CLAUSE`] values; none for
/// no values.
pub fn equals_any_chunks<S: AsRef<str>>(field: &str, values: &[S]) -> Vec<String> {
    chunks(values)
        .map(|c| equals_any(field, c.iter().map(AsRef::as_ref)))
        .collect()
}

/// One [`report_equals_any`] clause per chunk of at most [`MAX_VALUES_PER_CLAUSE`] values;
/// none for no values.
pub fn report_equals_any_chunks<S: AsRef<str>>(column: &str, values: &[S]) -> Vec<String> {
    chunks(values)
        .map(|c| report_equals_any(column, c.iter().map(AsRef::as_ref)))
        .collect()
}

/// Splits values into slices of at most [`MAX_VALUES_PER_CLAUSE`].
pub fn chunks<S>(values: &[S]) -> impl Iterator<Item = &[S]> {
    values.chunks(MAX_VALUES_PER_CLAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_clause() {
        assert_eq!(
            equals_any("ItemCode", ["a", "b"]),
            r#"ItemCode.Equals("a") OR ItemCode.Equals("b")"#
        );
        assert_eq!(equals_any("ItemCode", Vec::<String>::new()), "");
    }

    #[test]
    fn report_clause() {
        assert_eq!(
            report_equals_any("Item code", ["a", "b"]),
            r#"([Item code].Equals("a") OR [Item code].Equals("b"))"#
        );
        assert_eq!(report_equals_any("Item code", Vec::<String>::new()), "");
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            equals_any("ItemCode", [r##"x") OR ItemCode.Contains("")"##]),
            r##"ItemCode.Equals("x\") OR ItemCode.Contains(\"\")")"##
        );
    }

    #[test]
    fn chunks_hold_at_most_100_values() {
        let values: Vec<String> = (0..250).map(|i| format!("v{i}")).collect();
        let clauses = equals_any_chunks("ItemCode", &values);
        assert_eq!(clauses.len(), 3);
        assert_eq!(clauses[0].matches(".Equals(").count(), 100);
        assert_eq!(clauses[2].matches(".Equals(").count(), 50);
        assert!(report_equals_any_chunks::<String>("Item code", &[]).is_empty());
    }
}
