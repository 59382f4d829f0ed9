//! Which orders a SaveData answer refused. Peoplevox answers a SaveData with `TotalCount`, the
//! records saved, and `Statuses`, results of records: `Reference` and `Status` Success or Error
//! (WSDL `IntegrationResponse`, `IntegrationStatusResponse`; `shared/api/peoplevox.md` §1.3,
//! melvin-hamilton-digital `saveData()`). `Reference` is documented only as "the record key, for
//! example SalesOrderNumber" (shub300/esb-github-integration matches answers to records by it);
//! for an item row it may be the order's number, the item code or the record's position, and a
//! tenant may list every record, only the failed ones, or none (UNCONFIRMED; the simulator's
//! dialects answer each way).
//!
//! So a refusal is attributed to an order only when the answer leaves no doubt whose it is:
//! - its reference names rows of one order only (the order's number, or an item code only that
//!   order's rows carry), or as many rows as there are refusals with that reference;
//! - its reference is a record number, counted from 1 or from 0 (known when every record has a
//!   status numbered in order), whose row is one order's;
//! - every row sent is one order's.
//!
//! Anything else fails the whole chunk: a refusal whose reference names no row sent, or rows of
//! several orders; fewer records saved than sent and not refused; a failure that names no
//! record. Its orders' links say `Sending`, so the retry asks Peoplevox what it has and sends
//! only what is missing, by then mostly one order per record refused again. A shortfall that no
//! status names holds an order only when Peoplevox was just read back for it and it still fell
//! short: a `TotalCount` that counts something else (UNCONFIRMED) costs reads, never an order
//! held for nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::peoplevox::SaveOutcome;

/// One record sent: the order (its index in the chunk) and the keys Peoplevox may name it by.
#[derive(Debug, Clone)]
pub(super) struct SentRow {
    /// Index of its order in the chunk.
    pub order: usize,
    /// Its sales order number, and for an item row its item code.
    pub keys: Vec<String>,
}

/// The indexes of the orders whose records Peoplevox refused (none: all saved), or why the
/// answer cannot be attributed. `read_back`: the orders whose rows are what Peoplevox was just
/// found to lack (a recovering attempt's).
pub(super) fn refused_orders(
    rows: &[SentRow],
    outcome: &SaveOutcome,
    read_back: &BTreeSet<usize>,
) -> Result<BTreeSet<usize>, String> {
    let sent = rows.len();
    let failed: Vec<&str> = outcome
        .statuses
        .iter()
        .filter(|s| !s.success)
        .map(|s| s.reference.trim())
        .collect();
    let short = outcome.saved < sent.saturating_sub(failed.len()) as i64;
    let unnamed = outcome.error_detail.is_some() && failed.is_empty();
    let orders: BTreeSet<usize> = rows.iter().map(|r| r.order).collect();
    if orders.len() == 1 {
        // Every record is this order's: whatever failed by name, it is its; a shortfall once
        // Peoplevox's side has been read.
        let unexplained = short || unnamed;
        if failed.is_empty() && unexplained && orders.is_disjoint(read_back) {
            return Err(format!(
                "Peoplevox saved {} of {sent} records without saying which it refused",
                outcome.saved
            ));
        }
        let refused = !failed.is_empty() || unexplained;
        return Ok(if refused { orders } else { BTreeSet::new() });
    }
    if short {
        return Err(format!(
            "Peoplevox saved {} of {sent} records and refused {} by name",
            outcome.saved,
            failed.len()
        ));
    }
    if unnamed {
        return Err("Peoplevox reported a failure without naming the record".into());
    }
    let base = numbering_base(outcome, sent);
    let mut by_reference: BTreeMap<&str, usize> = BTreeMap::new();
    for reference in failed {
        *by_reference.entry(reference).or_default() += 1;
    }
    let mut refused = BTreeSet::new();
    for (reference, count) in by_reference {
        let named: Vec<&SentRow> = rows_named(rows, reference, base);
        let owners: BTreeSet<usize> = named.iter().map(|r| r.order).collect();
        let named_by_key = named.iter().all(|r| r.keys.iter().any(|k| k == reference));
        match owners.len() {
            0 => {
                return Err(format!(
                    "Peoplevox refused a record `{reference}` that names no row sent"
                ));
            }
            1 => refused.extend(owners),
            // Every row with this key was refused: each of their orders was.
            _ if named_by_key && count == named.len() => refused.extend(owners),
            n => {
                return Err(format!(
                    "Peoplevox refused {count} record(s) `{reference}`, which rows of {n} orders \
                     carry"
                ));
            }
        }
    }
    Ok(refused)
}

/// The rows a reference may name: when the answer numbers every record, the row at that
/// number; else those with it as a key, or, for a number no row carries, the row at that
/// position counted from 1 or from 0.
fn rows_named<'a>(rows: &'a [SentRow], reference: &str, base: Option<usize>) -> Vec<&'a SentRow> {
    let at = |n: usize, base: usize| n.checked_sub(base).and_then(|i| rows.get(i));
    let number = reference.parse::<usize>().ok();
    if let (Some(n), Some(base)) = (number, base) {
        return at(n, base).into_iter().collect();
    }
    let by_key: Vec<&SentRow> = rows
        .iter()
        .filter(|r| r.keys.iter().any(|k| k == reference))
        .collect();
    match number {
        Some(n) if by_key.is_empty() => [1, 0].into_iter().filter_map(|b| at(n, b)).collect(),
        _ => by_key,
    }
}

/// Where record numbers start, when every record has a status and each status's reference is
/// its position (from 1 or from 0): then a numbered refusal names one row.
fn numbering_base(outcome: &SaveOutcome, sent: usize) -> Option<usize> {
    if outcome.statuses.len() != sent {
        return None;
    }
    [1, 0].into_iter().find(|base| {
        outcome
            .statuses
            .iter()
            .enumerate()
            .all(|(i, s)| s.reference.trim() == (i + base).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peoplevox::RecordStatus;

    /// Orders 0 (A: items X, Y) and 1 (B: item X), as item rows.
    fn item_rows() -> Vec<SentRow> {
        let row = |order: usize, number: &str, item: &str| SentRow {
            order,
            keys: vec![number.into(), item.into()],
        };
        vec![row(0, "A", "X"), row(0, "A", "Y"), row(1, "B", "X")]
    }

    fn answer(statuses: &[(&str, bool)], saved: i64) -> SaveOutcome {
        let failed = statuses.iter().any(|(_, ok)| !ok);
        SaveOutcome {
            saved,
            statuses: statuses
                .iter()
                .map(|(reference, success)| RecordStatus {
                    reference: reference.to_string(),
                    success: *success,
                })
                .collect(),
            error_detail: failed.then(|| "Item code does not exist".into()),
        }
    }

    /// No order read back from Peoplevox.
    fn none() -> BTreeSet<usize> {
        BTreeSet::new()
    }

    #[test]
    fn a_refusal_is_its_orders_by_number_or_by_an_item_only_it_carries() {
        let rows = item_rows();
        let by_number = answer(&[("A", true), ("A", false), ("B", true)], 2);
        assert_eq!(
            refused_orders(&rows, &by_number, &none()),
            Ok(BTreeSet::from([0]))
        );
        let by_item = answer(&[("X", true), ("Y", false), ("X", true)], 2);
        assert_eq!(
            refused_orders(&rows, &by_item, &none()),
            Ok(BTreeSet::from([0]))
        );
        let all_saved = answer(&[("A", true), ("A", true), ("B", true)], 3);
        assert_eq!(
            refused_orders(&rows, &all_saved, &none()),
            Ok(BTreeSet::new())
        );
        // Both rows of X refused: both orders were.
        let both = answer(&[("X", false), ("Y", true), ("X", false)], 1);
        assert_eq!(
            refused_orders(&rows, &both, &none()),
            Ok(BTreeSet::from([0, 1]))
        );
    }

    #[test]
    fn an_item_code_several_orders_carry_fails_the_chunk() {
        let rows = item_rows();
        let one_of_two = answer(&[("X", false)], 2);
        let e = refused_orders(&rows, &one_of_two, &none()).unwrap_err();
        assert!(e.contains("rows of 2 orders"), "{e}");
        let stranger = answer(&[("Z", false)], 2);
        let e = refused_orders(&rows, &stranger, &none()).unwrap_err();
        assert!(e.contains("names no row"), "{e}");
    }

    #[test]
    fn record_numbers_are_attributed_when_their_base_is_known_or_does_not_matter() {
        let rows = item_rows();
        // Every record numbered from 1: record 3 is B's.
        let numbered = answer(&[("1", true), ("2", true), ("3", false)], 2);
        assert_eq!(
            refused_orders(&rows, &numbered, &none()),
            Ok(BTreeSet::from([1]))
        );
        // Only failures listed: record 2 is row 2 (from 1) or row 3 (from 0), A's or B's.
        let failures_only = answer(&[("2", false)], 2);
        assert!(refused_orders(&rows, &failures_only, &none()).is_err());
        // ... but record 1 is A's either way.
        let either_way = answer(&[("1", false)], 2);
        assert_eq!(
            refused_orders(&rows, &either_way, &none()),
            Ok(BTreeSet::from([0]))
        );
    }

    #[test]
    fn fewer_saved_than_sent_fails_the_chunk_unless_it_is_one_order_read_back() {
        let rows = item_rows();
        let silent = answer(&[], 2);
        let e = refused_orders(&rows, &silent, &none()).unwrap_err();
        assert!(e.contains("saved 2 of 3 records and refused 0"), "{e}");
        let unnamed = SaveOutcome {
            saved: 3,
            statuses: Vec::new(),
            error_detail: Some("Record 2: something".into()),
        };
        assert!(refused_orders(&rows, &unnamed, &none()).is_err());
        let one_order: Vec<SentRow> = rows.into_iter().filter(|r| r.order == 0).collect();
        let read_back = BTreeSet::from([0]);
        // One order's shortfall: read Peoplevox back first (its count may mean something
        // else), then it is that order's.
        assert!(refused_orders(&one_order, &answer(&[], 1), &none()).is_err());
        assert_eq!(
            refused_orders(&one_order, &answer(&[], 1), &read_back),
            Ok(BTreeSet::from([0]))
        );
        assert_eq!(
            refused_orders(&one_order, &answer(&[("Y", false)], 1), &none()),
            Ok(BTreeSet::from([0]))
        );
        assert_eq!(
            refused_orders(&one_order, &answer(&[], 2), &none()),
            Ok(BTreeSet::new())
        );
    }
}
