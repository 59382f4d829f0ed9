//! `OrderBy` of GetReportData: `[Col] asc, [Other] desc`. Two values that are both whole
//! numbers compare as numbers, two report dates chronologically, anything else as text.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::{ControlFlow, Range};

use super::row::Row;

/// A parsed `OrderBy`: columns, each ascending or descending.
#[derive(Debug, Clone, Default)]
pub struct OrderBy {
    keys: Vec<(String, bool)>,
}

/// What one row has in one ordering column, read once per row rather than once per
/// comparison.
struct SortKey<'r> {
    text: Option<Cow<'r, str>>,
    class: Class,
}

enum Class {
    Whole(i64),
    Date(Box<DateKey>),
    Text,
}

/// Year, month, day, then the clock as written.
type DateKey = (u32, u32, u32, String);

impl OrderBy {
    /// Parses `[Col] asc, [Other] desc` (no direction = ascending); every column must be one
    /// of `all`.
    pub fn parse(order_by: &str, all: &[String]) -> Result<Self, String> {
        let mut keys = Vec::new();
        for part in order_by.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (column, direction) = match part.rfind(']') {
                Some(end) => (part[..end].trim_start_matches('['), part[end + 1..].trim()),
                None => (part, ""),
            };
            if !all.iter().any(|k| k == column) {
                return Err(format!("Invalid order by: unknown column '{column}'"));
            }
            let descending = direction.eq_ignore_ascii_case("desc");
            keys.push((column.to_string(), descending));
        }
        Ok(Self { keys })
    }

    /// The rows at positions `window` in this order (rows that compare equal keep their
    /// order, as in a stable sort), and how many rows there are. `rows` gives the same rows
    /// each time it is called.
    pub fn page<R, I>(&self, rows: impl Fn() -> I, window: Range<usize>) -> (Vec<R>, usize)
    where
        R: Row + Clone,
        I: Iterator<Item = R>,
    {
        if let Some(answer) = self.page_as_they_come(rows(), window.clone()) {
            return answer;
        }
        let all: Vec<R> = rows().collect();
        let page = self
            .sorted(&all)
            .into_iter()
            .skip(window.start)
            .take(window.len())
            .cloned()
            .collect();
        (page, all.len())
    }

    /// The page when the rows come in this order already, as they often do (a report's
    /// natural order is by its key columns): one pass that keeps only the page, and a stable
    /// sort would not have moved a row. `None` as soon as a row is out of order.
    fn page_as_they_come<R: Row + Clone>(
        &self,
        mut rows: impl Iterator<Item = R>,
        window: Range<usize>,
    ) -> Option<(Vec<R>, usize)> {
        let mut page = Vec::new();
        let mut count = 0;
        let mut previous: Option<R> = None;
        // `try_for_each` rather than a `for` loop: the rows' iterator walks itself then.
        let walked = rows.try_for_each(|row| {
            if let Some(previous) = &previous
                && !self.keys.is_empty()
                && self.compare_rows(previous, &row).is_gt()
            {
                return ControlFlow::Break(());
            }
            if window.contains(&count) {
                page.push(row.clone());
            }
            previous = Some(row);
            count += 1;
            ControlFlow::Continue(())
        });
        walked.is_continue().then_some((page, count))
    }

    /// The rows sorted, each row's keys read once.
    fn sorted<'r, R: Row>(&self, rows: &'r [R]) -> Vec<&'r R> {
        if self.keys.is_empty() {
            return rows.iter().collect();
        }
        // One flat vector of keys, one row after the other.
        let width = self.keys.len();
        let flat: Vec<SortKey<'r>> = rows
            .iter()
            .flat_map(|r| self.keys.iter().map(|(c, _)| SortKey::of(r.get(c))))
            .collect();
        let keys: Vec<&[SortKey<'r>]> = flat.chunks(width).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| self.compare(keys[a], keys[b]));
        order.into_iter().filter_map(|i| rows.get(i)).collect()
    }

    fn compare_rows<R: Row>(&self, a: &R, b: &R) -> Ordering {
        self.keys
            .iter()
            .map(|(column, descending)| {
                let ord = SortKey::of(a.get(column)).cmp_key(&SortKey::of(b.get(column)));
                if *descending { ord.reverse() } else { ord }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    fn compare(&self, a: &[SortKey<'_>], b: &[SortKey<'_>]) -> Ordering {
        self.keys
            .iter()
            .zip(a.iter().zip(b))
            .map(|((_, descending), (x, y))| {
                let ord = x.cmp_key(y);
                if *descending { ord.reverse() } else { ord }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl<'r> SortKey<'r> {
    fn of(text: Option<Cow<'r, str>>) -> Self {
        let class = match text.as_deref() {
            Some(v) => match v.parse::<i64>() {
                Ok(n) => Class::Whole(n),
                Err(_) => date_key(v).map_or(Class::Text, |d| Class::Date(Box::new(d))),
            },
            None => Class::Text,
        };
        Self { text, class }
    }

    /// Numbers as numbers and dates as dates when both are; otherwise the text.
    fn cmp_key(&self, other: &Self) -> Ordering {
        match (&self.class, &other.class) {
            (Class::Whole(x), Class::Whole(y)) => x.cmp(y),
            (Class::Date(x), Class::Date(y)) => x.cmp(y),
            _ => self.text.cmp(&other.text),
        }
    }
}

/// A report date (`'dd/MM/yyyy HH:mm:ss'`) as a sortable key, so that ordering by a date
/// column is chronological, not day-first text order.
fn date_key(value: &str) -> Option<DateKey> {
    let inner = value.strip_prefix('\'')?.strip_suffix('\'')?;
    let (date, clock) = inner.split_once(' ')?;
    let mut parts = date.split('/').map(|p| p.parse::<u32>().ok());
    let (day, month, year) = (parts.next()??, parts.next()??, parts.next()??);
    Some((year, month, day, clock.to_string()))
}
