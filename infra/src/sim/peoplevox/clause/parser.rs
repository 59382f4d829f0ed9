//! Parses tokens into a [`Clause`]: `OR` binds loosest, then `AND`, then `!` and parentheses.

use super::compare::date_time;
use super::lexer::Token;
use super::{Clause, Literal, TestOp};

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    pub(super) fn new(tokens: Vec<Token>) -> Self {
        Self { tokens, pos: 0 }
    }

    /// The whole input as one clause.
    pub(super) fn parse_all(mut self) -> Result<Clause, String> {
        let clause = self.or()?;
        match self.peek() {
            None => Ok(clause),
            Some(token) => Err(format!("unexpected {token:?}")),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect(&mut self, want: &Token) -> Result<(), String> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            other => Err(format!("expected {want:?}, found {other:?}")),
        }
    }

    fn or(&mut self) -> Result<Clause, String> {
        let mut terms = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(single_or(terms, Clause::Or))
    }

    fn and(&mut self) -> Result<Clause, String> {
        let mut terms = vec![self.unary()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(single_or(terms, Clause::And))
    }

    fn unary(&mut self) -> Result<Clause, String> {
        match self.peek() {
            Some(Token::Not) => {
                self.pos += 1;
                Ok(Clause::Not(Box::new(self.unary()?)))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                self.expect(&Token::Close)?;
                Ok(inner)
            }
            _ => self.test(),
        }
    }

    fn test(&mut self) -> Result<Clause, String> {
        let mut field = match self.next() {
            Some(Token::Ident(name)) | Some(Token::Bracketed(name)) => name,
            other => return Err(format!("expected a field, found {other:?}")),
        };
        // A dotted path (`Despatch.DespatchNumber`, as callback placeholders are written): a
        // `.Name` that no `(` follows is part of the field, not a method.
        while let (Some(Token::Dot), Some(Token::Ident(part)), next) = (
            self.tokens.get(self.pos),
            self.tokens.get(self.pos + 1),
            self.tokens.get(self.pos + 2),
        ) {
            if next == Some(&Token::Open) {
                break;
            }
            field = format!("{field}.{part}");
            self.pos += 2;
        }
        let op = match self.next() {
            Some(Token::Eq) => TestOp::Equals,
            Some(Token::Ne) => TestOp::NotEquals,
            Some(Token::Gt) => TestOp::Greater,
            Some(Token::Ge) => TestOp::GreaterOrEqual,
            Some(Token::Lt) => TestOp::Less,
            Some(Token::Le) => TestOp::LessOrEqual,
            Some(Token::Dot) => return self.method(field),
            other => {
                return Err(format!(
                    "expected a comparison after '{field}', found {other:?}"
                ));
            }
        };
        let value = self.literal()?;
        Ok(Clause::Test { field, op, value })
    }

    /// `.Equals(..)`, `.Contains(..)`, `.StartsWith(..)` or `.EndsWith(..)` after a field.
    fn method(&mut self, field: String) -> Result<Clause, String> {
        let method = match self.next() {
            Some(Token::Ident(m)) => m,
            other => return Err(format!("expected a method, found {other:?}")),
        };
        let op = match method.as_str() {
            "Equals" => TestOp::Equals,
            "Contains" => TestOp::Contains,
            "StartsWith" => TestOp::StartsWith,
            "EndsWith" => TestOp::EndsWith,
            other => return Err(format!("unsupported method '{other}'")),
        };
        self.expect(&Token::Open)?;
        let value = self.literal()?;
        self.expect(&Token::Close)?;
        if op != TestOp::Equals && matches!(value, Literal::DateTime(_)) {
            return Err(format!("'{method}' takes text, not a DateTime"));
        }
        Ok(Clause::Test { field, op, value })
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Text(s)),
            Some(Token::Number(n)) => Ok(Literal::Number(n)),
            Some(Token::Ident(name)) if name == "DateTime" => self.date_time(),
            other => Err(format!("expected a literal, found {other:?}")),
        }
    }

    /// `DateTime(year, month, day[, hour, minute, second])`, after the name.
    fn date_time(&mut self) -> Result<Literal, String> {
        self.expect(&Token::Open)?;
        let mut parts = Vec::new();
        loop {
            match self.next() {
                Some(Token::Number(n)) => parts.push(
                    n.parse::<i64>()
                        .map_err(|_| format!("DateTime takes whole numbers, not '{n}'"))?,
                ),
                other => return Err(format!("expected a number in DateTime, found {other:?}")),
            }
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::Close) => break,
                other => return Err(format!("expected ',' or ')' in DateTime, found {other:?}")),
            }
        }
        date_time(&parts).map(Literal::DateTime)
    }
}

/// One term as itself, several joined by `join`.
fn single_or(mut terms: Vec<Clause>, join: fn(Vec<Clause>) -> Clause) -> Clause {
    if terms.len() == 1
        && let Some(term) = terms.pop()
    {
        return term;
    }
    join(terms)
}
