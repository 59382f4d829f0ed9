//! The Dynamic-LINQ-like clauses of GetData / GetReportData, as far as the simulator needs
//! them: `Field.Equals("v")`, `Field == "v"`, `Field = 'v'`, `!=` (or `<>`), `>`, `>=`, `<`,
//! `<=`, `.Contains/.StartsWith/.EndsWith`, `!`, `AND`/`OR` (also `and`/`or`/`&&`/`||`) and
//! parentheses. Fields are bare names (templates) or `[Bracketed names]` (reports). String
//! literals escape their quote and `\` with a backslash; a single-quoted one also takes a
//! doubled `''` for a quote. Dates are written `DateTime(2026,11,30,02,00,00)` (year, month,
//! day, hour, minute, second), the literal Peoplevox documents; see [`compare`] for how each
//! operator compares. Dynamic LINQ reads a single `=` as equality and single-quoted text as a
//! string; whether Peoplevox's parser does too is UNCONFIRMED, but clients write clauses that
//! way, so the simulator accepts them rather than failing the caller's test.

mod compare;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use time::PrimitiveDateTime;

use super::row::Row;

/// A parsed clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// Matches everything (the empty clause).
    All,
    /// Any of these.
    Or(Vec<Clause>),
    /// All of these.
    And(Vec<Clause>),
    /// Not this.
    Not(Box<Clause>),
    /// A comparison of one field with a literal.
    Test {
        /// The field as written (without brackets).
        field: String,
        /// The comparison.
        op: TestOp,
        /// The literal.
        value: Literal,
    },
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOp {
    /// `.Equals(..)`, `==` or `=`.
    Equals,
    /// `!=` or `<>`.
    NotEquals,
    /// `.Contains(..)`.
    Contains,
    /// `.StartsWith(..)`.
    StartsWith,
    /// `.EndsWith(..)`.
    EndsWith,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterOrEqual,
    /// `<`.
    Less,
    /// `<=`.
    LessOrEqual,
}

/// The right-hand side of a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// An unquoted number, as written.
    Number(String),
    /// `DateTime(…)`.
    DateTime(PrimitiveDateTime),
}

impl Clause {
    /// Parses a clause; empty or blank text is [`Clause::All`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = lexer::tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Self::All);
        }
        parser::Parser::new(tokens).parse_all()
    }

    /// Every field the clause names, for validation against a template.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::All => Vec::new(),
            Self::Or(cs) | Self::And(cs) => cs.iter().flat_map(Clause::fields).collect(),
            Self::Not(c) => c.fields(),
            Self::Test { field, .. } => vec![field.as_str()],
        }
    }

    /// Whether a row (field name as written in clauses → value) matches. Text comparisons are
    /// ordinal (case-sensitive), like C# string methods; a missing field reads as empty text.
    pub fn matches<R: Row + ?Sized>(&self, row: &R) -> bool {
        match self {
            Self::All => true,
            Self::Or(cs) => cs.iter().any(|c| c.matches(row)),
            Self::And(cs) => cs.iter().all(|c| c.matches(row)),
            Self::Not(c) => !c.matches(row),
            Self::Test { field, op, value } => {
                op.holds(row.get(field).as_deref().unwrap_or_default(), value)
            }
        }
    }

    /// This clause for rows whose `field` is known to be `value`: every test of that field
    /// decided, and what that decides folded away. [`Clause::All`] when such a row matches
    /// whatever its other fields hold, so a caller can skip testing rows it knows that of.
    pub fn given(&self, field: &str, value: &str) -> Clause {
        match self {
            Self::All => Self::All,
            Self::Test {
                field: f,
                op,
                value: literal,
            } if f == field => {
                if op.holds(value, literal) {
                    Self::All
                } else {
                    never()
                }
            }
            Self::Test { .. } => self.clone(),
            Self::Not(c) => match c.given(field, value) {
                Self::All => never(),
                c if is_never(&c) => Self::All,
                c => Self::Not(Box::new(c)),
            },
            Self::And(cs) => {
                let mut terms = Vec::new();
                for c in cs.iter().map(|c| c.given(field, value)) {
                    if is_never(&c) {
                        return never();
                    }
                    if c != Self::All {
                        terms.push(c);
                    }
                }
                join(terms, Self::And, Self::All)
            }
            Self::Or(cs) => {
                let mut terms = Vec::new();
                for c in cs.iter().map(|c| c.given(field, value)) {
                    if c == Self::All {
                        return Self::All;
                    }
                    if !is_never(&c) {
                        terms.push(c);
                    }
                }
                join(terms, Self::Or, never())
            }
        }
    }

    /// The only values `field` can have in a matching row, when the clause pins it down with
    /// text equality (`Equals` tests, under `AND`s, or under an `OR` whose every term pins it):
    /// a caller may look rows up by these values instead of testing every row. `None` when
    /// the clause does not pin the field.
    pub fn pinned_values(&self, field: &str) -> Option<BTreeSet<&str>> {
        match self {
            Self::Test {
                field: f,
                op: TestOp::Equals,
                value: Literal::Text(v) | Literal::Number(v),
            } if f == field => Some(BTreeSet::from([v.as_str()])),
            Self::And(cs) => cs
                .iter()
                .filter_map(|c| c.pinned_values(field))
                .reduce(|a, b| a.intersection(&b).copied().collect()),
            Self::Or(cs) => cs
                .iter()
                .map(|c| c.pinned_values(field))
                .reduce(|a, b| Some(a?.union(&b?).copied().collect()))
                .flatten(),
            _ => None,
        }
    }
}

/// The clause no row matches: none of no terms.
fn never() -> Clause {
    Clause::Or(Vec::new())
}

fn is_never(clause: &Clause) -> bool {
    matches!(clause, Clause::Or(terms) if terms.is_empty())
}

/// No terms as `empty`, one as itself, more joined by `join`.
fn join(mut terms: Vec<Clause>, join: fn(Vec<Clause>) -> Clause, empty: Clause) -> Clause {
    match terms.len() {
        0 => empty,
        1 => terms.pop().unwrap_or(empty),
        _ => join(terms),
    }
}
