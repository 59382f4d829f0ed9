//! The literals of an `in` list, with sets built once at parse time: a query asking for 500
//! skus tests each resource with a lookup instead of 500 comparisons.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::Value;

use super::compare;
use super::parser::Literal;

/// An `in (…)` list.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct InList {
    values: Vec<Literal>,
    strings: HashSet<String>,
    numbers: HashSet<i64>,
}

impl InList {
    pub(super) fn new(values: Vec<Literal>) -> Self {
        let mut strings = HashSet::new();
        let mut numbers = HashSet::new();
        for value in &values {
            match value {
                Literal::Str(s) => {
                    strings.insert(s.clone());
                }
                Literal::Num(n) => {
                    numbers.insert(*n);
                }
            }
        }
        Self {
            values,
            strings,
            numbers,
        }
    }

    /// Whether `value` equals a listed literal, as a comparison with `=` decides: a string
    /// equals the same string, an integer the same integer, and a date (`as_date`) the same
    /// instant however it is written, which only a comparison can tell.
    pub(super) fn contains(&self, value: &Value, as_date: bool) -> bool {
        if as_date {
            return self
                .values
                .iter()
                .any(|l| compare(value, l, true) == Some(Ordering::Equal));
        }
        match value {
            Value::String(s) => self.strings.contains(s.as_str()),
            Value::Number(n) => n.as_i64().is_some_and(|n| self.numbers.contains(&n)),
            _ => false,
        }
    }

    /// The listed strings, when every literal is one.
    pub(super) fn strings(&self) -> Option<impl Iterator<Item = &str>> {
        self.numbers
            .is_empty()
            .then(|| self.values.iter().filter_map(Literal::as_str))
    }
}
