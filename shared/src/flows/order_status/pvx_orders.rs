//! The one reader of what Peoplevox shows of sales orders: their status and, where the
//! tenant's template has it, their on-hold flag, read through the "Sales orders" template
//! (`status.cancel.template`, fields `status_field` and `hold_field`), 100 order numbers a
//! GetData request. The cancellation push, the status flow (for callbacks that carry no
//! status or hold flag) and the nightly status sweep all read here.

use std::collections::BTreeMap;

use crate::config::StatusRules;
use crate::peoplevox::search::{MAX_VALUES_PER_CLAUSE, equals_any};
use crate::peoplevox::{PvxClient, PvxError};

/// The field of the status template that holds the sales order number.
pub const NUMBER_FIELD: &str = "SalesOrderNumber";

/// Pages of one clause's answer read at most: a sales order is one record, so a clause of
/// 100 numbers fits one page; the bound only keeps a misbehaving answer from looping.
const MAX_PAGES_PER_CLAUSE: u32 = 10;

/// What Peoplevox shows of one sales order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvxOrder {
    /// Its status, trimmed (empty when the template shows none).
    pub status: String,
    /// Its on-hold flag; `None` when the template has no such field or it reads neither way.
    pub on_hold: Option<bool>,
}

/// What one read found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Orders {
    /// By order number; an order Peoplevox does not have is absent.
    pub orders: BTreeMap<String, PvxOrder>,
    /// GetData requests sent.
    pub requests: u32,
    /// The template had the hold field (when any page came back).
    pub hold_field: bool,
}

/// Reads the status (and hold flag) of each order number.
pub async fn read<S: AsRef<str>>(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[S],
) -> Result<Orders, PvxError> {
    let cancel = &rules.cancel;
    let per_page = u32::try_from(MAX_VALUES_PER_CLAUSE).unwrap_or(u32::MAX);
    let mut found = Orders::default();
    for chunk in numbers.chunks(MAX_VALUES_PER_CLAUSE) {
        let clause = equals_any(NUMBER_FIELD, chunk.iter().map(AsRef::as_ref));
        let mut read = 0_i64;
        for page_no in 1..=MAX_PAGES_PER_CLAUSE {
            let page = pvx
                .get_data(&cancel.template, page_no, per_page, &clause)
                .await?;
            found.requests += 1;
            let table = &page.table;
            let hold_column = table.column(&cancel.hold_field).is_some();
            found.hold_field |= hold_column;
            for row in &table.rows {
                let number = table.value(row, NUMBER_FIELD).unwrap_or("").trim();
                if number.is_empty() {
                    continue;
                }
                let status = table.value(row, &cancel.status_field).unwrap_or("").trim();
                let on_hold = table
                    .value(row, &cancel.hold_field)
                    .and_then(|v| flag(v.trim()));
                found
                    .orders
                    .entry(number.to_string())
                    .or_insert_with(|| PvxOrder {
                        status: status.to_string(),
                        on_hold,
                    });
            }
            read += table.rows.len() as i64;
            if table.rows.is_empty() || read >= page.total {
                break;
            }
        }
    }
    Ok(found)
}

/// A flag as templates write it: `True`/`False` (UberDespatch reads `OnHold == "True"`; Zynk
/// shows `<OnHold>false</OnHold>`), or `1`/`0`; anything else reads neither way.
fn flag(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_both_spellings() {
        assert_eq!(flag("True"), Some(true));
        assert_eq!(flag("false"), Some(false));
        assert_eq!(flag("1"), Some(true));
        assert_eq!(flag(""), None);
        assert_eq!(flag("Yes"), None);
    }
}
