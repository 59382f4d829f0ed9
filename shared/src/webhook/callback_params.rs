//! The parameters of a Peoplevox callback: the URL's query string, plus the body of a POST
//! (SubscribePostEvent). Peoplevox substitutes `{Placeholder}` tokens into both; a token it does
//! not know stays as it is, which is how a misconfigured subscription shows itself.

use std::collections::BTreeMap;

/// Callback parameters by name, checked as they are read.
#[derive(Debug, Default)]
pub(super) struct CallbackParams(BTreeMap<String, String>);

impl CallbackParams {
    /// Collects the query string and, for a POST, the body (form-encoded or a flat JSON object:
    /// the format of `postParams` is UNCONFIRMED, so both are read). A name given twice with
    /// different values is refused rather than guessed.
    pub(super) fn collect(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, String> {
        let mut params = Self::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            params.insert(&k, &v)?;
        }
        let body = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
        let body = body.trim();
        if body.is_empty() {
            return Ok(params);
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
                params.insert(&k, &text)?;
            }
        } else {
            for (k, v) in form_urlencoded::parse(body.as_bytes()) {
                params.insert(&k, &v)?;
            }
        }
        Ok(params)
    }

    fn insert(&mut self, name: &str, value: &str) -> Result<(), String> {
        let name = &canonical_name(name);
        match self.0.get(name) {
            Some(existing) if existing != value => Err(format!(
                "parameter `{name}` is given twice with different values"
            )),
            _ => {
                self.0.insert(name.to_string(), value.to_string());
                Ok(())
            }
        }
    }

    /// Every value must have been substituted: a value still holding `{…}` means Peoplevox
    /// did not know the placeholder.
    pub(super) fn check_substituted(&self) -> Result<(), String> {
        for (name, value) in &self.0 {
            if let Some(start) = value.find('{')
                && let Some(len) = value[start..].find('}')
            {
                return Err(format!(
                    "parameter `{name}` still holds the placeholder {}: Peoplevox did not substitute it (unknown placeholder?)",
                    &value[start..=start + len]
                ));
            }
        }
        Ok(())
    }

    /// A required, non-empty text value.
    pub(super) fn text(&self, name: &str) -> Result<String, String> {
        let value = self
            .0
            .get(name)
            .ok_or_else(|| format!("parameter `{name}` is missing"))?
            .trim();
        if value.is_empty() {
            return Err(format!("parameter `{name}` is empty"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("parameter `{name}` contains control characters"));
        }
        Ok(value.to_string())
    }

    /// An optional text value (empty counts as absent).
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().filter(|c| !c.is_control()).collect())
    }

    /// A required whole number. Peoplevox may render quantities with a zero fraction
    /// ("5.00"); any other fraction is refused, since stock comes in whole units.
    pub(super) fn whole_number(&self, name: &str) -> Result<i64, String> {
        let text = self.text(name)?;
        parse_whole(&text)
            .ok_or_else(|| format!("parameter `{name}` is not a whole number: `{text}`"))
    }
}

/// Peoplevox spells its status entity both `SalesOrderStatus` and `SalesOrderStatu` (tenants and
/// API versions differ), in placeholders and in POST field names: both read as the former.
fn canonical_name(name: &str) -> String {
    match name.strip_prefix("SalesOrderStatu") {
        Some(rest) if !rest.starts_with('s') => format!("SalesOrderStatus{rest}"),
        _ => name.to_string(),
    }
}

/// Parses `12`, `-3`, `+4`, `5.00`; refuses `5.5`, `1e3`, `abc`, overflow.
fn parse_whole(text: &str) -> Option<i64> {
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
    fn query_and_body_merge_and_conflicts_are_refused() {
        let p = CallbackParams::collect(Some("a=1&b=x%20y"), None, b"c=3").unwrap();
        assert_eq!(p.text("b").unwrap(), "x y");
        assert_eq!(p.whole_number("c").unwrap(), 3);
        let p =
            CallbackParams::collect(None, Some("application/json"), br#"{"a":"1","n":2}"#).unwrap();
        assert_eq!(p.whole_number("n").unwrap(), 2);
        let e = CallbackParams::collect(Some("a=1"), None, b"a=2").unwrap_err();
        assert!(e.contains("`a`"), "{e}");
    }

    #[test]
    fn both_spellings_of_the_status_entity_read_alike() {
        let p = CallbackParams::collect(None, None, b"SalesOrderStatu.Name=Despatched").unwrap();
        assert_eq!(p.text("SalesOrderStatus.Name").unwrap(), "Despatched");
        let p = CallbackParams::collect(Some("SalesOrderStatus=Picking"), None, b"").unwrap();
        assert_eq!(p.text("SalesOrderStatus").unwrap(), "Picking");
        let e = CallbackParams::collect(Some("SalesOrderStatu=A&SalesOrderStatus=B"), None, b"")
            .unwrap_err();
        assert!(e.contains("SalesOrderStatus"), "{e}");
    }

    #[test]
    fn unsubstituted_placeholders_are_named() {
        let p = CallbackParams::collect(Some("item=%7BItemCode%7D"), None, b"").unwrap();
        let e = p.check_substituted().unwrap_err();
        assert!(e.contains("{ItemCode}") && e.contains("`item`"), "{e}");
    }
}
