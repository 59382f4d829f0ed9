//! Sort expressions of queries (`sort=field asc|desc`); dates sort as instants.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::predicate::DATE_FIELDS;

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

    /// `Some(descending)` when this sorts by `id`.
    pub(crate) fn by_id(&self) -> Option<bool> {
        (self.field == "id").then_some(self.descending)
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

    const ORDER_FIELDS: [&str; 2] = ["id", "createdAt"];

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
