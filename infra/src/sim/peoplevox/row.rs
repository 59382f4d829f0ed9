//! A row of a report or template as the clause, the ordering and the CSV writer read it: by
//! column name, borrowing where it can, so that a request over many rows copies only the ones
//! it answers with.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// One row, read by column name.
pub trait Row {
    /// The value of a column; `None` when the row has no such column.
    fn get(&self, column: &str) -> Option<Cow<'_, str>>;
}

impl Row for BTreeMap<String, String> {
    fn get(&self, column: &str) -> Option<Cow<'_, str>> {
        BTreeMap::get(self, column).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl<R: Row + ?Sized> Row for &R {
    fn get(&self, column: &str) -> Option<Cow<'_, str>> {
        R::get(self, column)
    }
}
