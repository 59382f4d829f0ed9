//! Splits a predicate into tokens: names, string and integer literals, comparison operators,
//! parentheses and commas. Anything else is refused here, so that the parser never guesses.

/// One token of a predicate.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Ident(String),
    Str(String),
    Num(i64),
    Op(Op),
    Open,
    Close,
    Comma,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// How a token (or the end of input) reads in an error message.
pub(super) fn describe(token: Option<&Token>) -> String {
    match token {
        None => "the end of the predicate".into(),
        Some(Token::Ident(word)) => format!("'{word}'"),
        Some(Token::Str(text)) => format!("\"{text}\""),
        Some(Token::Num(n)) => n.to_string(),
        Some(Token::Op(op)) => format!("'{op:?}'"),
        Some(Token::Open) => "'('".into(),
        Some(Token::Close) => "')'".into(),
        Some(Token::Comma) => "','".into(),
    }
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
                i += 1;
            }
            '"' => {
                let (text, next) = string_literal(&chars, i + 1)?;
                tokens.push(Token::Str(text));
                i = next;
            }
            '=' | '!' | '<' | '>' => {
                let (op, len) = match (c, chars.get(i + 1).copied()) {
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
                if chars.get(i) == Some(&'.') {
                    return Err(format!(
                        "decimal numbers ('{text}.…') are not supported by the simulator"
                    ));
                }
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

/// A string literal starting after its opening quote; a backslash takes the next character as
/// is (`\"`, `\\`). Returns the text and the index after the closing quote.
fn string_literal(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => return Err("unterminated string literal".into()),
            Some('"') => return Ok((text, i + 1)),
            Some('\\') => {
                let escaped = chars
                    .get(i + 1)
                    .ok_or("unterminated string literal (a '\\' ends it)")?;
                text.push(*escaped);
                i += 2;
            }
            Some(ch) => {
                text.push(*ch);
                i += 1;
            }
        }
    }
}
