//! A small, honest subset of commercetools query predicates and sort expressions.
//!
//! Supported: comparisons `field op "string"` or `field op 123` (op: `=`, `!=`, `<>`, `>`, `>=`,
//! `<`, `<=`), `field is defined`, `field is not defined`, nesting `a(b = "x")` (an array matches
//! when any element does), and `and`. Everything else (`or`, `not(…)`, `in`, `contains`, …) is
//! refused with a 400 that says so, instead of being half-evaluated.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Fields compared as instants, not as strings.
const DATE_FIELDS: [&str; 2] = ["createdAt", "lastModifiedAt"];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(i64),
    Op(Op),
    Open,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Compare {
        path: Vec<String>,
        op: Op,
        value: Literal,
    },
    Defined {
        path: Vec<String>,
        defined: bool,
    },
}

/// A parsed predicate: every condition must hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Predicate {
    conds: Vec<Cond>,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('"') => break,
                        Some('\\') => {
                            text.extend(chars.get(i + 1));
                            i += 2;
                        }
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                tokens.push(Token::Str(text));
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('!', Some('=')) | ('<', Some('>')) => (Op::Ne, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('=', _) => (Op::Eq, 1),
                    ('>', _) => (Op::Gt, 1),
                    ('<', _) => (Op::Lt, 1),
                    _ => return Err(format!("unexpected '{c}'")),
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            _ if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse()
                    .map_err(|_| format!("'{text}' is not an integer"))?;
                tokens.push(Token::Num(n));
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            _ => return Err(format!("unexpected '{c}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == word) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn conjunction(&mut self) -> Result<Vec<Cond>, String> {
        let mut conds = vec![self.cond(Vec::new())?];
        while self.keyword("and") {
            conds.push(self.cond(Vec::new())?);
        }
        Ok(conds)
    }

    fn cond(&mut self, mut path: Vec<String>) -> Result<Cond, String> {
        let field = match self.next() {
            Some(Token::Ident(word)) if ["or", "not", "and"].contains(&word.as_str()) => {
                return Err(format!("'{word}' is not supported by the simulator"));
            }
            Some(Token::Ident(field)) => field,
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        path.push(field);
        match self.next() {
            Some(Token::Op(op)) => {
                let value = match self.next() {
                    Some(Token::Str(s)) => Literal::Str(s),
                    Some(Token::Num(n)) => Literal::Num(n),
                    other => return Err(format!("expected a literal, found {other:?}")),
                };
                Ok(Cond::Compare { path, op, value })
            }
            Some(Token::Open) => {
                let inner = self.cond(path)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    Some(Token::Ident(word)) => Err(format!(
                        "'{word}' inside parentheses is not supported by the simulator"
                    )),
                    other => Err(format!("expected ')', found {other:?}")),
                }
            }
            Some(Token::Ident(word)) if word == "is" => {
                let defined = !self.keyword("not");
                if self.keyword("defined") {
                    Ok(Cond::Defined { path, defined })
                } else {
                    Err("expected 'defined' after 'is'".into())
                }
            }
            Some(Token::Ident(word)) => Err(format!(
                "operator '{word}' is not supported by the simulator"
            )),
            other => Err(format!("expected an operator, found {other:?}")),
        }
    }
}

impl Predicate {
    /// Parses `input`; only fields in `allowed` (dotted paths such as `supplyChannel.id`) may be used.
    pub(crate) fn parse(input: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut parser = Parser {
            tokens: tokenize(input)?,
            pos: 0,
        };
        let conds = parser.conjunction()?;
        if let Some(token) = parser.peek() {
            return Err(format!(
                "unexpected {token:?} (the simulator supports only 'and' between conditions)"
            ));
        }
        for cond in &conds {
            let path = match cond {
                Cond::Compare { path, .. } | Cond::Defined { path, .. } => path.join("."),
            };
            if !allowed.contains(&path.as_str()) {
                return Err(format!(
                    "the simulator does not support predicates on '{path}' (supported: {})",
                    allowed.join(", ")
                ));
            }
            if let Cond::Compare {
                path,
                value: Literal::Str(s),
                ..
            } = cond
                && is_date_field(path)
                && OffsetDateTime::parse(s, &Rfc3339).is_err()
            {
                return Err(format!("'{s}' is not a valid date-time"));
            }
        }
        Ok(Self { conds })
    }

    /// True when the resource satisfies every condition.
    pub(crate) fn matches(&self, resource: &Value) -> bool {
        self.conds.iter().all(|cond| match cond {
            Cond::Compare { path, op, value } => any_at(resource, path, &|v| {
                compare(v, value, is_date_field(path)).is_some_and(|ord| holds(*op, ord))
            }),
            Cond::Defined { path, defined } => {
                any_at(resource, path, &|v| !v.is_null()) == *defined
            }
        })
    }
}

fn is_date_field(path: &[String]) -> bool {
    path.last()
        .is_some_and(|field| DATE_FIELDS.contains(&field.as_str()))
}

/// True when some value at `path` (arrays fanned out) satisfies `test`.
fn any_at(value: &Value, path: &[String], test: &dyn Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| any_at(item, path, test)),
        _ => match path.split_first() {
            None => test(value),
            Some((field, rest)) => value
                .get(field)
                .is_some_and(|inner| any_at(inner, rest, test)),
        },
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

/// One `sort` parameter: `field asc|desc`.
#[derive(Debug, Clone)]
pub(crate) struct Sort {
    field: String,
    descending: bool,
}

impl Sort {
    /// Parses `field [asc|desc]`; only fields in `allowed` may be used.
    pub(crate) fn parse(input: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut words = input.split_whitespace();
        let field = words.next().unwrap_or_default().to_owned();
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("invalid sort direction '{other}'")),
        };
        if words.next().is_some() || !allowed.contains(&field.as_str()) {
            return Err(format!(
                "the simulator does not support sort '{input}' (fields: {})",
                allowed.join(", ")
            ));
        }
        Ok(Self { field, descending })
    }

    /// Orders two resources by this sort (missing values first).
    pub(crate) fn cmp(&self, a: &Value, b: &Value) -> Ordering {
        let key = |v: &Value| v.get(&self.field).map(ToString::to_string);
        let ord = match (self.field.as_str(), a.get(&self.field), b.get(&self.field)) {
            (f, Some(Value::String(x)), Some(Value::String(y))) if DATE_FIELDS.contains(&f) => {
                match (
                    OffsetDateTime::parse(x, &Rfc3339),
                    OffsetDateTime::parse(y, &Rfc3339),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                }
            }
            (_, Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
            (_, Some(Value::Number(x)), Some(Value::Number(y))) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            _ => key(a).cmp(&key(b)),
        };
        if self.descending { ord.reverse() } else { ord }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDER_FIELDS: [&str; 4] = ["id", "orderNumber", "createdAt", "syncInfo.channel.id"];

    fn order() -> Value {
        json!({"id": "b", "orderNumber": "10001", "createdAt": "2026-08-02T10:00:00.000Z",
               "syncInfo": [{"channel": {"typeId": "channel", "id": "ch-1"}}]})
    }

    fn matches(predicate: &str) -> bool {
        Predicate::parse(predicate, &ORDER_FIELDS)
            .unwrap()
            .matches(&order())
    }

    #[test]
    fn comparisons_joined_by_and() {
        assert!(matches(r#"orderNumber="10001""#));
        assert!(!matches(r#"orderNumber = "10002""#));
        assert!(matches(
            r#"id > "a" and createdAt > "2026-08-01T00:00:00Z""#
        ));
        assert!(!matches(
            r#"id > "a" and createdAt > "2026-08-03T00:00:00Z""#
        ));
        assert!(matches(r#"createdAt >= "2026-08-02T10:00:00Z""#));
    }

    #[test]
    fn nesting_and_arrays() {
        assert!(matches(r#"syncInfo(channel(id="ch-1"))"#));
        assert!(!matches(r#"syncInfo(channel(id="ch-2"))"#));
    }

    #[test]
    fn definedness() {
        let p = Predicate::parse(
            "supplyChannel is not defined",
            &["supplyChannel", "supplyChannel.id"],
        )
        .unwrap();
        assert!(p.matches(&json!({"sku": "A"})));
        assert!(!p.matches(&json!({"supplyChannel": {"id": "x"}})));
    }

    #[test]
    fn unsupported_predicates_are_refused() {
        for bad in [
            r#"orderNumber="1" or orderNumber="2""#,
            r#"customerEmail="a@b.c""#,
            r#"orderNumber in ("1")"#,
            r#"createdAt > "yesterday""#,
            r#"orderNumber="1"#,
        ] {
            assert!(Predicate::parse(bad, &ORDER_FIELDS).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorting() {
        let a = json!({"id": "a", "createdAt": "2026-08-02T10:00:00Z"});
        let b = json!({"id": "b", "createdAt": "2026-08-02T09:00:00.000Z"});
        let by_date = Sort::parse("createdAt asc", &ORDER_FIELDS).unwrap();
        assert_eq!(by_date.cmp(&a, &b), Ordering::Greater);
        let by_id = Sort::parse("id desc", &ORDER_FIELDS).unwrap();
        assert_eq!(by_id.cmp(&a, &b), Ordering::Greater);
        assert!(Sort::parse("id sideways", &ORDER_FIELDS).is_err());
    }
}
