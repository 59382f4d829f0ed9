//! The subset of commercetools query predicates the simulator evaluates
//! (https://docs.commercetools.com/api/predicates/query).
//!
//! Supported: comparisons `field op "string"` or `field op 123` (op: `=`, `!=`, `<>`, `>`, `>=`,
//! `<`, `<=`), `field in (…)` and `field not in (…)`, `field is defined`, `field is not defined`,
//! nesting `a(b = "x")`, `and`, `or`, `not(…)` and parenthesised groups, with the usual precedence
//! (`not` before `and` before `or`). Inside a nesting, a whole predicate applies to one element:
//! an array matches when any element matches, so `not(syncInfo(channel(id="X")))` holds for an
//! order with no syncInfo entry for X. Everything else (`contains`, `is empty`, `within`,
//! decimals, booleans, …) is refused with a 400 that says so, instead of being half-evaluated.
//!
//! A comparison or `not in` on a missing field is false, as an `=` on it is; only
//! `is not defined` and `not(…)` match resources without the field.

mod in_list;
mod lexer;
mod narrowing;
mod parser;

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use self::lexer::{Op, tokenize};
pub(crate) use self::narrowing::{IdRange, pinned_by_all};
use self::parser::{Expr, Literal, Parser};

/// Fields compared as instants, not as strings.
pub(crate) const DATE_FIELDS: [&str; 3] = ["createdAt", "lastModifiedAt", "syncedAt"];

/// A parsed predicate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Predicate {
    expr: Expr,
}

impl Predicate {
    /// Parses `input`; only fields in `allowed` (dotted paths such as `supplyChannel.id`) may be used.
    pub(crate) fn parse(input: &str, allowed: &[&str]) -> Result<Self, String> {
        let expr = Parser::new(tokenize(input)?, allowed).parse_all()?;
        Ok(Self { expr })
    }

    /// True when the resource satisfies the predicate.
    pub(crate) fn matches(&self, resource: &Value) -> bool {
        eval(&self.expr, resource)
    }
}

fn is_date_field(field: &str) -> bool {
    DATE_FIELDS.contains(&field)
}

fn eval(expr: &Expr, value: &Value) -> bool {
    match expr {
        Expr::Or(items) => items.iter().any(|e| eval(e, value)),
        Expr::And(items) => items.iter().all(|e| eval(e, value)),
        Expr::Not(inner) => !eval(inner, value),
        Expr::Nested { field, inner } => any_value(value, field, &|v| eval(inner, v)),
        Expr::Compare {
            field,
            op,
            value: literal,
        } => any_value(value, field, &|v| {
            compare(v, literal, is_date_field(field)).is_some_and(|ord| holds(*op, ord))
        }),
        Expr::In {
            field,
            values,
            negated,
        } => any_value(value, field, &|v| {
            values.contains(v, is_date_field(field)) != *negated
        }),
        Expr::Defined { field, defined } => any_value(value, field, &|v| !v.is_null()) == *defined,
    }
}

/// True when some value of `field` satisfies `test`. Arrays fan out, the one holding the field
/// and the field's own: one element is enough.
fn any_value(value: &Value, field: &str, test: &dyn Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| any_value(item, field, test)),
        _ => value.get(field).is_some_and(|v| any_element(v, test)),
    }
}

fn any_element(value: &Value, test: &dyn Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| any_element(item, test)),
        _ => test(value),
    }
}

fn compare(value: &Value, literal: &Literal, as_date: bool) -> Option<Ordering> {
    match (value, literal) {
        (Value::String(actual), Literal::Str(wanted)) if as_date => {
            let actual = OffsetDateTime::parse(actual, &Rfc3339).ok()?;
            let wanted = OffsetDateTime::parse(wanted, &Rfc3339).ok()?;
            Some(actual.cmp(&wanted))
        }
        (Value::String(actual), Literal::Str(wanted)) => Some(actual.as_str().cmp(wanted)),
        (Value::Number(actual), Literal::Num(wanted)) => Some(actual.as_i64()?.cmp(wanted)),
        _ => None,
    }
}

fn holds(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

#[cfg(test)]
mod tests;
