//! Splits a clause into tokens: names, `[bracketed columns]`, string and number literals,
//! operators, dots, commas and parentheses. Anything else is refused here.

/// One token of a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Ident(String),
    Bracketed(String),
    Str(String),
    Number(String),
    Dot,
    Comma,
    Open,
    Close,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Not,
    And,
    Or,
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | '.' | ',' => {
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '.' => Token::Dot,
                    _ => Token::Comma,
                });
                i += 1;
            }
            '=' => {
                tokens.push(Token::Eq);
                i += if next == Some('=') { 2 } else { 1 };
            }
            '!' if next == Some('=') => {
                tokens.push(Token::Ne);
                i += 2;
            }
            '!' => {
                tokens.push(Token::Not);
                i += 1;
            }
            '<' | '>' => {
                let (token, width) = match (c, next) {
                    ('<', Some('=')) => (Token::Le, 2),
                    ('<', Some('>')) => (Token::Ne, 2),
                    ('<', _) => (Token::Lt, 1),
                    (_, Some('=')) => (Token::Ge, 2),
                    _ => (Token::Gt, 1),
                };
                tokens.push(token);
                i += width;
            }
            '&' if next == Some('&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
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
                let (value, after) = string_literal(&chars, i)?;
                tokens.push(Token::Str(value));
                i = after;
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

/// The literal opening at `chars[start]` (its quote) and the position after it. A backslash
/// escapes the next character; a single-quoted literal also takes `''` for a quote.
fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err("unterminated string literal".into()),
            Some('\'') if quote == '\'' && chars.get(i + 1) == Some(&'\'') => {
                value.push('\'');
                i += 2;
            }
            Some(&q) if q == quote => return Ok((value, i + 1)),
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
}
