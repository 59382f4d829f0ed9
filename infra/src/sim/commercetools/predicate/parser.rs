//! Parses tokens into an expression tree, with the API's precedence: `not(…)` binds tighter than
//! `and`, which binds tighter than `or`. Field paths are checked against the fields the
//! simulator can evaluate while parsing, so that an unsupported field is a 400, never a silent
//! mismatch.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::in_list::InList;
use super::is_date_field;
use super::lexer::{Op, Token, describe};

/// A literal on the right of a comparison or in an `in` list.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Str(String),
    Num(i64),
}

impl Literal {
    /// The text of a string literal.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Num(_) => None,
        }
    }
}

/// A parsed predicate. Leaves name one field relative to the value they are evaluated on;
/// `Nested` steps into a field (fanning out over arrays).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Nested {
        field: String,
        inner: Box<Expr>,
    },
    Compare {
        field: String,
        op: Op,
        value: Literal,
    },
    In {
        field: String,
        values: InList,
        negated: bool,
    },
    Defined {
        field: String,
        defined: bool,
    },
}

/// Words that cannot start a condition.
const KEYWORDS: [&str; 3] = ["and", "or", "not"];

/// What the simulator evaluates, for error messages.
const SUPPORTED: &str = "=, !=, <>, <, <=, >, >=, in, not in, is defined, is not defined";

pub(super) struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    allowed: &'a [&'a str],
    /// The fields stepped into so far, e.g. `["lineItems", "variant"]`.
    path: Vec<String>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(tokens: Vec<Token>, allowed: &'a [&'a str]) -> Self {
        Self {
            tokens,
            pos: 0,
            allowed,
            path: Vec::new(),
        }
    }

    /// The whole input as one expression.
    pub(super) fn parse_all(mut self) -> Result<Expr, String> {
        let expr = self.or_expr()?;
        match self.peek() {
            None => Ok(expr),
            token => Err(format!(
                "unexpected {} after a complete condition (conditions are joined with 'and' or 'or')",
                describe(token)
            )),
        }
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn is_word(token: Option<&Token>, word: &str) -> bool {
        matches!(token, Some(Token::Ident(w)) if w == word)
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = Self::is_word(self.peek(), word);
        if found {
            self.pos += 1;
        }
        found
    }

    fn close(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Close) => Ok(()),
            other => Err(format!("expected ')', found {}", describe(other.as_ref()))),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and_expr()?];
        while self.keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(single_or(items, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            items.push(self.unary()?);
        }
        Ok(single_or(items, Expr::And))
    }

    /// `not(…)`, a parenthesised group, or a condition on a field.
    fn unary(&mut self) -> Result<Expr, String> {
        if Self::is_word(self.peek(), "not") {
            self.pos += 1;
            if self.next() != Some(Token::Open) {
                return Err("'not' must be followed by a parenthesised predicate".into());
            }
            let inner = self.or_expr()?;
            self.close()?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or_expr()?;
            self.close()?;
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Token::Ident(word)) if !KEYWORDS.contains(&word.as_str()) => word,
            other => {
                return Err(format!(
                    "expected a field name, found {}",
                    describe(other.as_ref())
                ));
            }
        };
        match self.next() {
            Some(Token::Open) => {
                self.path.push(field.clone());
                let inner = self.or_expr();
                self.path.pop();
                let inner = inner?;
                self.close()?;
                Ok(Expr::Nested {
                    field,
                    inner: Box::new(inner),
                })
            }
            Some(Token::Op(op)) => {
                let value = self.literal()?;
                self.check_leaf(&field, std::slice::from_ref(&value))?;
                Ok(Expr::Compare { field, op, value })
            }
            Some(Token::Ident(word)) if word == "in" => self.in_list(field, false),
            Some(Token::Ident(word)) if word == "not" => {
                if self.keyword("in") {
                    self.in_list(field, true)
                } else {
                    Err(format!(
                        "expected 'in' after '{field} not', found {}",
                        describe(self.peek())
                    ))
                }
            }
            Some(Token::Ident(word)) if word == "is" => {
                let defined = !self.keyword("not");
                if self.keyword("defined") {
                    self.check_leaf(&field, &[])?;
                    return Ok(Expr::Defined { field, defined });
                }
                let not = if defined { "" } else { "not " };
                Err(format!(
                    "'is {not}{}' is not supported by the simulator (supported: {SUPPORTED})",
                    match self.peek() {
                        Some(Token::Ident(word)) => word.clone(),
                        other => describe(other),
                    }
                ))
            }
            Some(Token::Ident(word)) => Err(format!(
                "operator '{word}' is not supported by the simulator (supported: {SUPPORTED})"
            )),
            other => Err(format!(
                "expected an operator after '{field}', found {}",
                describe(other.as_ref())
            )),
        }
    }

    /// `( literal, literal, … )` after `in` or `not in`; at least one value.
    fn in_list(&mut self, field: String, negated: bool) -> Result<Expr, String> {
        if self.next() != Some(Token::Open) {
            return Err(format!("expected '(' after '{field} in'"));
        }
        let mut values = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Token::Comma) => values.push(self.literal()?),
                Some(Token::Close) => break,
                other => {
                    return Err(format!(
                        "expected ',' or ')' in the list of '{field}', found {}",
                        describe(other.as_ref())
                    ));
                }
            }
        }
        self.check_leaf(&field, &values)?;
        Ok(Expr::In {
            field,
            values: InList::new(values),
            negated,
        })
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Token::Str(text)) => Ok(Literal::Str(text)),
            Some(Token::Num(n)) => Ok(Literal::Num(n)),
            other => Err(format!(
                "expected a string or integer literal (the simulator supports no others), found {}",
                describe(other.as_ref())
            )),
        }
    }

    /// The full path of a leaf must be one the simulator evaluates; date literals must parse.
    fn check_leaf(&self, field: &str, values: &[Literal]) -> Result<(), String> {
        let mut path = self.path.clone();
        path.push(field.to_owned());
        let path = path.join(".");
        if !self.allowed.contains(&path.as_str()) {
            return Err(format!(
                "the simulator does not support predicates on '{path}' (supported: {})",
                self.allowed.join(", ")
            ));
        }
        if is_date_field(field) {
            for value in values {
                if let Literal::Str(text) = value
                    && OffsetDateTime::parse(text, &Rfc3339).is_err()
                {
                    return Err(format!("'{text}' is not a valid date-time"));
                }
            }
        }
        Ok(())
    }
}

/// One item as itself, several joined by `join`.
fn single_or(mut items: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1
        && let Some(item) = items.pop()
    {
        return item;
    }
    join(items)
}
