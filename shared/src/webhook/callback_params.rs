//! The parameters of a Peoplevox callback: the URL's query string, plus the body of a POST
//! (SubscribePostEvent), read the way the callback URL says its values are encoded (its
//! static `enc`, see `subscriptions::events::ENCODING_PARAM`):
//!
//! - `enc=1` (`encodeParameterData` true): Peoplevox percent-encodes each value, so the values
//!   are form-decoded (`+` and `%20` are spaces, `%2B` a plus). A value holding a character an
//!   encoder would have escaped shows the tenant did not encode it: it is flagged ambiguous.
//! - `enc=0` (raw substitution): a value may hold `&`, `=`, `+`, `/` and spaces as they are. The
//!   query is cut only where `&<name>=` starts a parameter of the event, and `+` stays a plus.
//!   What an HTTP client cannot send raw it escapes (a space as `%20`, non-ASCII as UTF-8
//!   bytes), so such escapes are decoded; any other `%XX` was in the value itself and is kept.
//!   What cannot survive: a `#` ends the URL (everything after it, `enc` included, is lost, so
//!   the callback is refused as cut short), and a value that itself held `%` and two hex digits
//!   naming a byte a client escapes (`%20`, `%22`, `%C3%A9`, ...) reads as that byte. A value
//!   in which an escape was decoded is flagged ambiguous; the stock flow never applies a
//!   figure to such an item code, it only re-reads it.
//!
//! Peoplevox leaves a placeholder it does not know as written, so a value that is still
//! `{Name}` was not filled in ([`Field::Unfilled`]).

use std::collections::BTreeMap;

use crate::subscriptions::events::{ENCODING_PARAM, EventSpec, SITE_PARAM, is_placeholder};

/// How the values of a callback were put into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// Percent-encoded by Peoplevox (`enc=1`).
    Encoded,
    /// Substituted raw (`enc=0`).
    Raw,
}

/// One value as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Value {
    /// The decoded text, trimmed.
    pub text: String,
    /// It may not be what Peoplevox meant (see the module comment).
    pub ambiguous: bool,
    /// Encoded mode turned a `+` into a space: right for a form encoder, wrong for a tenant
    /// that declares `encodeParameterData` yet substitutes raw (UNCONFIRMED which); an item
    /// code read so is never given a figure.
    pub plus_as_space: bool,
}

/// What a callback says of one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field<'a> {
    /// Not there, or empty.
    Absent,
    /// Still the placeholder: Peoplevox did not fill it in.
    Unfilled(&'a str),
    /// A value.
    Present(&'a Value),
}

/// Callback parameters by name.
#[derive(Debug)]
pub(super) struct CallbackParams {
    values: BTreeMap<String, Value>,
    /// How the values were encoded.
    pub encoding: Encoding,
}

/// Bytes an HTTP client must percent-encode in a query (WHATWG URL's query and special-query
/// sets, plus what .NET's `Uri` escapes): controls, space, `"`, `'`, `<`, `>`, `\`, `^`,
/// `` ` ``, `{`, `|`, `}`, DEL and every non-ASCII byte. Only these escapes may come from the
/// client rather than from the value itself.
fn client_escapes(byte: u8) -> bool {
    matches!(
        byte,
        0x00..=0x20 | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' | 0x7f..
    )
}

/// Characters a percent-encoder leaves as they are (RFC 3986 unreserved, what .NET's
/// `HttpUtility.UrlEncode` also keeps, `%` of its escapes and `+` for a space).
fn encoder_keeps(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!*'()%+".contains(c)
}

impl CallbackParams {
    /// Reads the query string and, for a POST, the body (form text, or a flat JSON object:
    /// the format of `postParams` is UNCONFIRMED, so both are read). `Err` names what is
    /// wrong: no `enc` (a URL cut short, or registered before ctpvx wrote one), a name given
    /// twice with different values, a body that is neither.
    pub(super) fn collect(
        spec: &EventSpec,
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, String> {
        let names = spec.names();
        let pairs = split(query.unwrap_or(""), &names);
        let encoding = match pairs.iter().find(|(n, _)| *n == ENCODING_PARAM) {
            Some((_, "1")) => Encoding::Encoded,
            Some((_, "0")) => Encoding::Raw,
            Some((_, other)) => {
                return Err(format!(
                    "parameter `{ENCODING_PARAM}` is `{other}`, not 1 or 0"
                ));
            }
            None => {
                return Err(format!(
                    "parameter `{ENCODING_PARAM}` is missing: the callback was cut short (a raw `#` in a value ends the URL) or its URL was registered before ctpvx wrote one; run `ctpvx subscribe`"
                ));
            }
        };
        let mut params = Self {
            values: BTreeMap::new(),
            encoding,
        };
        for (name, raw) in pairs {
            let value = if name == SITE_PARAM || name == ENCODING_PARAM {
                // Ours, fully percent-encoded: decoded whole, whatever Peoplevox does.
                Value {
                    text: percent(raw, |_| true)
                        .map_err(|_| format!("parameter `{name}` is not UTF-8"))?
                        .0,
                    ambiguous: false,
                    plus_as_space: false,
                }
            } else {
                decode_query_value(raw, encoding)
                    .map_err(|_| format!("parameter `{name}` is not UTF-8"))?
            };
            params.insert(name, value)?;
        }
        params.add_body(&names, content_type, body)?;
        Ok(params)
    }

    fn add_body(
        &mut self,
        names: &[&str],
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let body = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
        let body = body.trim();
        if body.is_empty() {
            return Ok(());
        }
        let json = content_type.is_some_and(|t| t.contains("json")) || body.starts_with('{');
        if json {
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body)
                .map_err(|e| format!("body is not a JSON object: {e}"))?;
            for (k, v) in map {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "body field `{k}` must be a string or a number, not {other}"
                        ));
                    }
                };
                self.insert(
                    &k,
                    Value {
                        text,
                        ambiguous: false,
                        plus_as_space: false,
                    },
                )?;
            }
            return Ok(());
        }
        for (name, raw) in split(body, names) {
            let value = match self.encoding {
                Encoding::Encoded => decode_query_value(raw, Encoding::Encoded)
                    .map_err(|_| format!("body parameter `{name}` is not UTF-8"))?,
                // A raw body went through no URL client: every character is as substituted.
                Encoding::Raw => Value {
                    text: raw.to_string(),
                    ambiguous: false,
                    plus_as_space: false,
                },
            };
            self.insert(name, value)?;
        }
        Ok(())
    }

    fn insert(&mut self, name: &str, mut value: Value) -> Result<(), String> {
        value.text = value.text.trim().to_string();
        match self.values.get(name) {
            Some(existing) if existing.text != value.text => Err(format!(
                "parameter `{name}` is given twice with different values"
            )),
            _ => {
                self.values.insert(name.to_string(), value);
                Ok(())
            }
        }
    }

    /// What the callback says of `name`.
    pub(super) fn field(&self, name: &str) -> Field<'_> {
        match self.values.get(name) {
            None => Field::Absent,
            Some(v) if v.text.is_empty() => Field::Absent,
            Some(v) if is_placeholder(&v.text) => Field::Unfilled(&v.text),
            Some(v) => Field::Present(v),
        }
    }
}

/// Cuts `text` into `name=value` pairs where `&<name>=` (or `<name>=` at the start) begins
/// one of `names`; anything before the first such name is not ours and is left out. The
/// values are as received (not decoded).
fn split<'t, 'n>(text: &'t str, names: &[&'n str]) -> Vec<(&'n str, &'t str)> {
    let starts_at = |at: usize| -> Option<&'n str> {
        let rest = &text[at..];
        names
            .iter()
            .find(|n| rest.starts_with(**n) && rest[n.len()..].starts_with('='))
            .copied()
    };
    let mut starts: Vec<(usize, &'n str)> = Vec::new();
    if let Some(name) = starts_at(0) {
        starts.push((0, name));
    }
    for (i, _) in text.match_indices('&') {
        if let Some(name) = starts_at(i + 1) {
            starts.push((i + 1, name));
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, (at, name))| {
            let value_start = at + name.len() + 1;
            let end = starts.get(k + 1).map_or(text.len(), |(next, _)| next - 1);
            (*name, &text[value_start..end.max(value_start)])
        })
        .collect()
}

/// Decodes one value of a query string.
fn decode_query_value(raw: &str, encoding: Encoding) -> Result<Value, std::str::Utf8Error> {
    match encoding {
        Encoding::Encoded => {
            let not_encoded = raw.chars().any(|c| !encoder_keeps(c));
            // Form decoding: `+` is a space, then every escape.
            let (text, _) = percent(&raw.replace('+', " "), |_| true)?;
            Ok(Value {
                text,
                ambiguous: not_encoded,
                plus_as_space: raw.contains('+'),
            })
        }
        Encoding::Raw => {
            let (text, decoded) = percent(raw, client_escapes)?;
            Ok(Value {
                text,
                ambiguous: decoded,
                plus_as_space: false,
            })
        }
    }
}

/// Percent-decodes the escapes whose byte `decode` accepts (never `+`); returns the text and
/// whether any escape was decoded.
fn percent(raw: &str, decode: impl Fn(u8) -> bool) -> Result<(String, bool), std::str::Utf8Error> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut decoded = false;
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .filter(|b| decode(*b));
        match escape {
            Some(byte) => {
                out.push(byte);
                decoded = true;
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Ok((std::str::from_utf8(&out)?.to_string(), decoded))
}

/// Parses `12`, `-3`, `+4`, `5.00`; refuses `5.5`, `1e3`, `abc`, overflow.
pub(super) fn parse_whole(text: &str) -> Option<i64> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b == b'0'))
    {
        return None;
    }
    let digits = int.strip_prefix(['-', '+']).unwrap_or(int);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    int.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriptions::events::{AVAILABILITY, STATUS};

    fn text(p: &CallbackParams, name: &str) -> Option<(String, bool)> {
        match p.field(name) {
            Field::Present(v) => Some((v.text.clone(), v.ambiguous)),
            _ => None,
        }
    }

    #[test]
    fn whole_numbers_only() {
        assert_eq!(parse_whole("12"), Some(12));
        assert_eq!(parse_whole("-3"), Some(-3));
        assert_eq!(parse_whole("5.00"), Some(5));
        for bad in [
            "5.5",
            "1e3",
            "abc",
            "",
            "-",
            "5.",
            "99999999999999999999",
            " 1",
        ] {
            assert_eq!(parse_whole(bad), None, "{bad}");
        }
    }

    #[test]
    fn encoded_values_are_form_decoded() {
        let q = "site=UK%20DC&item=A%2BB%26C%2FD+E%25%23&available=12.00&enc=1";
        let p = CallbackParams::collect(&AVAILABILITY, Some(q), None, b"").unwrap();
        assert_eq!(p.encoding, Encoding::Encoded);
        assert_eq!(text(&p, "site"), Some(("UK DC".into(), false)));
        assert_eq!(text(&p, "item"), Some(("A+B&C/D E%#".into(), false)));
        // Not encoded after all: a raw `/` and `&` show it.
        let q = "item=A/B&C&available=1&enc=1";
        let p = CallbackParams::collect(&AVAILABILITY, Some(q), None, b"").unwrap();
        assert_eq!(text(&p, "item"), Some(("A/B&C".into(), true)));
    }

    #[test]
    fn raw_values_keep_ampersands_pluses_slashes_and_spaces() {
        // What a URL client sends for the raw value `A+B&C/D E%`: only the space escaped.
        let q = "site=UK%20DC&item=A+B&C/D%20E%&available=7&enc=0";
        let p = CallbackParams::collect(&AVAILABILITY, Some(q), None, b"").unwrap();
        assert_eq!(p.encoding, Encoding::Raw);
        assert_eq!(text(&p, "item"), Some(("A+B&C/D E%".into(), true)));
        assert_eq!(text(&p, "available"), Some(("7".into(), false)));
        // No escape decoded: not ambiguous; an escape of a byte no client escapes stays.
        let q = "item=A+B&C/D%41=x&enc=0";
        let p = CallbackParams::collect(&AVAILABILITY, Some(q), None, b"").unwrap();
        assert_eq!(text(&p, "item"), Some(("A+B&C/D%41=x".into(), false)));
        // A raw body went through no client at all.
        let p = CallbackParams::collect(
            &AVAILABILITY,
            Some("enc=0"),
            Some("application/x-www-form-urlencoded"),
            b"item=A+B&C/D%20E%&available=3",
        )
        .unwrap();
        assert_eq!(text(&p, "item"), Some(("A+B&C/D%20E%".into(), false)));
    }

    #[test]
    fn a_callback_cut_short_by_a_hash_is_refused() {
        // `item=A#B&available=1&enc=0`: the client sends only what precedes `#`.
        let e = CallbackParams::collect(&AVAILABILITY, Some("item=A"), None, b"").unwrap_err();
        assert!(e.contains("`enc` is missing") && e.contains('#'), "{e}");
        let e =
            CallbackParams::collect(&AVAILABILITY, Some("item=A&enc=2"), None, b"").unwrap_err();
        assert!(e.contains("`enc`"), "{e}");
    }

    #[test]
    fn unfilled_placeholders_are_told_from_values() {
        let q = "order=SO-1&status={SalesOrderStatu.Name}&onhold=%7BOnHold%7D&modified=&enc=0";
        let p = CallbackParams::collect(&STATUS, Some(q), None, b"").unwrap();
        assert_eq!(p.field("status"), Field::Unfilled("{SalesOrderStatu.Name}"));
        assert_eq!(p.field("onhold"), Field::Unfilled("{OnHold}"));
        assert_eq!(p.field("modified"), Field::Absent);
        assert_eq!(p.field("nothing"), Field::Absent);
        assert_eq!(text(&p, "order"), Some(("SO-1".into(), false)));
    }

    #[test]
    fn json_bodies_and_conflicts() {
        let p = CallbackParams::collect(
            &AVAILABILITY,
            Some("enc=1"),
            Some("application/json"),
            br#"{"item":"A","available":2}"#,
        )
        .unwrap();
        assert_eq!(text(&p, "available"), Some(("2".into(), false)));
        let e = CallbackParams::collect(&AVAILABILITY, Some("item=A&enc=1"), None, b"item=B")
            .unwrap_err();
        assert!(e.contains("`item`"), "{e}");
    }

    #[test]
    fn foreign_parameters_before_ours_are_ignored() {
        let p =
            CallbackParams::collect(&AVAILABILITY, Some("x=1&item=A&enc=1"), None, b"").unwrap();
        assert_eq!(text(&p, "item"), Some(("A".into(), false)));
        assert_eq!(p.field("x"), Field::Absent);
    }
}
