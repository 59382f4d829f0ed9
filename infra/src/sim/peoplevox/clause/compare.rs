//! How a test compares a value with its literal. Equality is ordinal text equality, as it
//! always was. The ordering operators compare a report date chronologically with a
//! `DateTime(…)` literal (the form Peoplevox documents: year, month, day, hour, minute,
//! second), a number numerically with a number literal, and anything else ordinally, like
//! C#'s `string.CompareOrdinal`.

use std::cmp::Ordering;

use time::macros::format_description;
use time::{Date, Month, PrimitiveDateTime, Time};

use super::{Literal, TestOp};

impl TestOp {
    /// Whether `actual` (a column's value as the report renders it) passes this test.
    pub(super) fn holds(self, actual: &str, literal: &Literal) -> bool {
        match self {
            Self::Equals => equals(actual, literal),
            Self::NotEquals => !equals(actual, literal),
            Self::Contains => text(literal).is_some_and(|t| actual.contains(t)),
            Self::StartsWith => text(literal).is_some_and(|t| actual.starts_with(t)),
            Self::EndsWith => text(literal).is_some_and(|t| actual.ends_with(t)),
            Self::Greater => ordering(actual, literal) == Some(Ordering::Greater),
            Self::GreaterOrEqual => ordering(actual, literal).is_some_and(Ordering::is_ge),
            Self::Less => ordering(actual, literal) == Some(Ordering::Less),
            Self::LessOrEqual => ordering(actual, literal).is_some_and(Ordering::is_le),
        }
    }
}

/// The literal as text; a DateTime has none (the parser refuses it with text methods).
fn text(literal: &Literal) -> Option<&str> {
    match literal {
        Literal::Text(t) | Literal::Number(t) => Some(t),
        Literal::DateTime(_) => None,
    }
}

fn equals(actual: &str, literal: &Literal) -> bool {
    match literal {
        Literal::DateTime(at) => report_date(actual) == Some(*at),
        Literal::Text(t) | Literal::Number(t) => actual == t,
    }
}

/// `actual` against the literal; `None` when a DateTime literal meets a value that is not a
/// date (no ordering holds then, as in a typed query no such row would exist).
fn ordering(actual: &str, literal: &Literal) -> Option<Ordering> {
    match literal {
        Literal::DateTime(at) => Some(report_date(actual)?.cmp(at)),
        Literal::Number(n) => Some(numeric(actual, n).unwrap_or_else(|| actual.cmp(n))),
        Literal::Text(t) => Some(actual.cmp(t.as_str())),
    }
}

/// Two numbers compared as numbers: whole ones exactly, decimals (`12.50`) as floats.
fn numeric(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (a.trim(), b.trim());
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
        return Some(x.cmp(&y));
    }
    decimal(a)?.partial_cmp(&decimal(b)?)
}

/// `-12`, `3.25`; not Rust's wider float syntax (`inf`, `1e5`), which item codes could be.
fn decimal(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(whole) && all_digits(fraction))
        .then(|| text.parse().ok())
        .flatten()
}

/// A report date, `'dd/MM/yyyy HH:mm:ss'` or `'dd/MM/yyyy HH:mm'` (the quotes are optional).
pub(super) fn report_date(text: &str) -> Option<PrimitiveDateTime> {
    let text = text.trim();
    let text = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text);
    let with_seconds = format_description!("[day]/[month]/[year] [hour]:[minute]:[second]");
    let without = format_description!("[day]/[month]/[year] [hour]:[minute]");
    PrimitiveDateTime::parse(text, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(text, without))
        .ok()
}

/// The instant of `DateTime(year, month, day[, hour, minute, second])`.
pub(super) fn date_time(parts: &[i64]) -> Result<PrimitiveDateTime, String> {
    let invalid = || format!("DateTime{parts:?} is not a valid date and time");
    let (date, clock) = match parts {
        [y, mo, d] => ((*y, *mo, *d), (0, 0, 0)),
        [y, mo, d, h, mi, s] => ((*y, *mo, *d), (*h, *mi, *s)),
        _ => {
            return Err(format!(
                "DateTime takes year, month, day[, hour, minute, second], not {} numbers",
                parts.len()
            ));
        }
    };
    let small = |n: i64| u8::try_from(n).map_err(|_| invalid());
    let year = i32::try_from(date.0).map_err(|_| invalid())?;
    let month = Month::try_from(small(date.1)?).map_err(|_| invalid())?;
    let date = Date::from_calendar_date(year, month, small(date.2)?).map_err(|_| invalid())?;
    let clock =
        Time::from_hms(small(clock.0)?, small(clock.1)?, small(clock.2)?).map_err(|_| invalid())?;
    Ok(PrimitiveDateTime::new(date, clock))
}
