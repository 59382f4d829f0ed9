//! The Dynamic-LINQ-like clauses of GetData / GetReportData, as far as the simulator needs
//! them: `Field.Equals("v")`, `Field == "v"`, `Field = 'v'`, `!=`,
//! `.Contains/.StartsWith/.EndsWith`, `!`, `AND`/`OR` (also `and`/`or`/`&&`/`||`) and
//! parentheses. Fields are bare names (templates) or `[Bracketed names]` (reports). String
//! literals escape their quote and `\` with a backslash; a single-quoted one also takes a
//! doubled `''` for a quote. Dynamic LINQ reads a single `=` as equality and single-quoted
//! text as a string; whether Peoplevox's parser does too is UNCONFIRMED, but clients write
//! clauses that way, so the simulator accepts them rather than failing the caller's test.

use std::collections::BTreeMap;

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
        value: String,
    },
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOp {
    /// `.Equals(..)`, `==` or `=`.
    Equals,
    /// `!=`.
    NotEquals,
    /// `.Contains(..)`.
    Contains,
    /// `.StartsWith(..)`.
    StartsWith,
    /// `.EndsWith(..)`.
    EndsWith,
}

impl Clause {
    /// Parses a clause; empty or blank text is [`Clause::All`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Self::All);
        }
        let mut parser = Parser { tokens, pos: 0 };
        let clause = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!("unexpected {:?}", parser.tokens[parser.pos]));
        }
        Ok(clause)
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

    /// Whether a record (field name as written in clauses → value) matches. Comparisons are
    /// ordinal (case-sensitive), like C# string methods.
    pub fn matches(&self, record: &BTreeMap<String, String>) -> bool {
        match self {
            Self::All => true,
            Self::Or(cs) => cs.iter().any(|c| c.matches(record)),
            Self::And(cs) => cs.iter().all(|c| c.matches(record)),
            Self::Not(c) => !c.matches(record),
            Self::Test { field, op, value } => {
                let actual = record.get(field).map(String::as_str).unwrap_or_default();
                match op {
                    TestOp::Equals => actual == value,
                    TestOp::NotEquals => actual != value,
                    TestOp::Contains => actual.contains(value.as_str()),
                    TestOp::StartsWith => actual.starts_with(value.as_str()),
                    TestOp::EndsWith => actual.ends_with(value.as_str()),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Bracketed(String),
    Str(String),
    Number(String),
    Dot,
    Open,
    Close,
    Eq,
    Ne,
    Not,
    And,
    Or,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Eq);
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Ne);
                i += 2;
            }
            '!' => {
                tokens.push(Token::Not);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                tokens.push(Token::Or);
                i += 2;
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or("unterminated [column]")?;
                tokens.push(Token::Bracketed(chars[i + 1..i + end].iter().collect()));
                i += end + 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if quote == '\'' && chars.get(i + 1) == Some(&'\'') => {
                            value.push('\'');
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let escaped = chars.get(i + 1).ok_or("unterminated string literal")?;
                            value.push(*escaped);
                            i += 2;
                        }
                        Some(c) => {
                            value.push(*c);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(value));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                tokens.push(Token::Number(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.to_ascii_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    _ => Token::Ident(word),
                });
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
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
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Clause::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Clause, String> {
        let mut terms = vec![self.unary()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Clause::And(terms)
        })
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
        let field = match self.next() {
            Some(Token::Ident(name)) | Some(Token::Bracketed(name)) => name,
            other => return Err(format!("expected a field, found {other:?}")),
        };
        match self.next() {
            Some(Token::Eq) => Ok(Clause::Test {
                field,
                op: TestOp::Equals,
                value: self.literal()?,
            }),
            Some(Token::Ne) => Ok(Clause::Test {
                field,
                op: TestOp::NotEquals,
                value: self.literal()?,
            }),
            Some(Token::Dot) => {
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
                Ok(Clause::Test { field, op, value })
            }
            other => Err(format!(
                "expected a comparison after '{field}', found {other:?}"
            )),
        }
    }

    fn literal(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Str(s)) | Some(Token::Number(s)) => Ok(s),
            other => Err(format!("expected a literal, found {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
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
        let c = Clause::parse("[Sales order number] = 'SO-1' OR [Sales order number] = 'SO-2'")
            .unwrap();
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
}
