//! A commercetools cancellation pushed to Peoplevox (`[status.cancel]`). Peoplevox documents no
//! cancel operation, so the order's header is re-imported with the cancelling status. Before
//! that, the order's current status is read from Peoplevox itself: the status callbacks may lag,
//! and an order the warehouse has started picking must become an exception for a person, not
//! be cancelled behind the pickers' backs.

use super::pvx_orders::{self, Orders, PvxOrder};
use crate::config::StatusRules;
use crate::domain::status::{Cancellation, Stage, cancellation};
use crate::peoplevox::{CsvTable, PvxClient, PvxError, SaveAction};

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Peoplevox has it cancelled now.
    Cancelled,
    /// It was cancelled in Peoplevox already.
    AlreadyCancelled,
    /// Not applied; the reason is for a person.
    Exception(String),
    /// Peoplevox has no sales order of that number: nothing to cancel there.
    NotInPeoplevox,
}

/// What a cancellation may do to one sales order, given what Peoplevox shows of it.
fn decide(number: &str, shown: Option<&PvxOrder>, rules: &StatusRules) -> Pushed {
    let Some(order) = shown else {
        return Pushed::NotInPeoplevox;
    };
    let status = order.status.clone();
    // A status nobody mapped is treated as work in progress: cancelling it is a person's call.
    let stage = match rules.resolve(&status) {
        Some(m) => Some(m.stage),
        None if status.is_empty() => Some(Stage::Received),
        None => {
            return Pushed::Exception(format!(
                "Peoplevox reports the unmapped status `{status}` for {number}: not cancelled; a person must decide"
            ));
        }
    };
    match cancellation(true, stage) {
        Cancellation::AlreadyCancelled => Pushed::AlreadyCancelled,
        Cancellation::Exception(reason) => Pushed::Exception(reason),
        // Still to cancel (reported as Cancelled once sent).
        Cancellation::LocalOnly | Cancellation::PushToPeoplevox => Pushed::Cancelled,
    }
}

/// What a cancellation does with an order's sales orders, given what Peoplevox shows of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Cancel these numbers (the ones not cancelled already).
    Cancel(Vec<String>),
    /// Nothing to send: the outcome is known.
    Ended(Pushed),
}

/// Decides with Peoplevox's statuses (`read`) of an order's sales orders (each part of a split
/// order): cancel them all only if every one may be cancelled. An order one of whose parts the
/// warehouse has started picking is an exception for a person, and nothing of it is cancelled
/// behind the pickers' backs.
pub fn plan(numbers: &[String], read: &Orders, rules: &StatusRules) -> Plan {
    let decided: Vec<(&String, Pushed)> = numbers
        .iter()
        .map(|n| (n, decide(n, read.orders.get(n), rules)))
        .collect();
    if let Some((_, refused)) = decided
        .iter()
        .find(|(_, d)| matches!(d, Pushed::Exception(_) | Pushed::NotInPeoplevox))
    {
        return Plan::Ended(refused.clone());
    }
    let to_cancel: Vec<String> = decided
        .iter()
        .filter(|(_, d)| *d == Pushed::Cancelled)
        .map(|(n, _)| (*n).clone())
        .collect();
    if to_cancel.is_empty() {
        Plan::Ended(Pushed::AlreadyCancelled)
    } else {
        Plan::Cancel(to_cancel)
    }
}

/// Reads the statuses of one order's sales orders in Peoplevox, decides ([`plan`]) and
/// cancels them.
pub async fn push(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[String],
) -> Result<Pushed, PvxError> {
    let read = pvx_orders::read(pvx, rules, numbers).await?;
    match plan(numbers, &read, rules) {
        Plan::Ended(pushed) => Ok(pushed),
        Plan::Cancel(to_cancel) => save_one(pvx, rules, &to_cancel).await,
    }
}

/// Sales orders cancelled by one SaveData at most: a status batch's cancellations (100 records)
/// go in one request, as the budget allows about one request a second.
pub const MAX_ROWS_PER_SAVE: usize = 100;

/// Cancels the numbers of several orders (each as [`plan`] chose them) in as few SaveData
/// requests as [`MAX_ROWS_PER_SAVE`] allows. Of a request Peoplevox refuses in part, the orders
/// it named as refused are sent again one at a time, so that each gets its own answer (all of
/// them when its answer names no rows; the upsert of a status is the same however often it
/// lands). `Err` only when a shared request failed: it tells every order of that request why.
pub async fn save_all(
    pvx: &PvxClient,
    rules: &StatusRules,
    orders: &[Vec<String>],
) -> Vec<Result<Pushed, std::sync::Arc<PvxError>>> {
    let mut out = Vec::with_capacity(orders.len());
    for group in groups(orders, MAX_ROWS_PER_SAVE) {
        if group.len() == 1 {
            out.push(save_one(pvx, rules, &group[0]).await.map_err(Into::into));
            continue;
        }
        let rows: Vec<String> = group.iter().flatten().cloned().collect();
        match save_rows(pvx, rules, &rows).await {
            Ok(Saved::All) => out.extend(group.iter().map(|_| Ok(Pushed::Cancelled))),
            // Only the orders Peoplevox named as refused are sent again, each on its own (the
            // others were cancelled); with no per-record answer, every order is.
            Ok(Saved::Refused { failed, .. }) => {
                for numbers in group {
                    let clean = failed
                        .as_ref()
                        .is_some_and(|failed| numbers.iter().all(|n| !failed.contains(n)));
                    out.push(if clean {
                        Ok(Pushed::Cancelled)
                    } else {
                        save_one(pvx, rules, numbers).await.map_err(Into::into)
                    });
                }
            }
            Err(e) => {
                let e = std::sync::Arc::new(e);
                out.extend(group.iter().map(|_| Err(e.clone())));
            }
        }
    }
    out
}

/// Consecutive runs of `orders` holding at most `max_rows` numbers together (an order with
/// more is a run of its own).
fn groups(orders: &[Vec<String>], max_rows: usize) -> Vec<&[Vec<String>]> {
    let mut out = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, numbers) in orders.iter().enumerate() {
        if i > start && rows + numbers.len() > max_rows {
            out.push(&orders[start..i]);
            (start, rows) = (i, 0);
        }
        rows += numbers.len();
    }
    if start < orders.len() {
        out.push(&orders[start..]);
    }
    out
}

/// Cancels one order's numbers in one SaveData.
async fn save_one(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[String],
) -> Result<Pushed, PvxError> {
    Ok(match save_rows(pvx, rules, numbers).await? {
        Saved::All => Pushed::Cancelled,
        Saved::Refused { reason, .. } => {
            Pushed::Exception(format!("Peoplevox refused the cancellation: {reason}"))
        }
    })
}

/// How one SaveData of cancellations ended.
enum Saved {
    /// Every row saved.
    All,
    /// Not every row saved: Peoplevox's reason, and the numbers it said it refused when its
    /// answer names every row (`None`: a count only, or rows it did not mention).
    Refused {
        reason: String,
        failed: Option<std::collections::BTreeSet<String>>,
    },
}

/// Sends the cancelling status of `numbers` in one SaveData.
async fn save_rows(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[String],
) -> Result<Saved, PvxError> {
    let cancel = &rules.cancel;
    let mut table = CsvTable::new(vec![
        "SalesOrderNumber".to_string(),
        cancel.status_field.clone(),
    ]);
    for number in numbers {
        table
            .rows
            .push(vec![number.to_string(), cancel.value.clone()]);
    }
    let outcome = pvx
        .save_data(&cancel.template, &table, SaveAction::Upsert)
        .await?;
    // A tenant may answer with a count only: a record missing from it was not saved.
    if outcome.all_succeeded() && outcome.saved >= table.rows.len() as i64 {
        return Ok(Saved::All);
    }
    let named: std::collections::BTreeSet<&str> = outcome
        .statuses
        .iter()
        .map(|s| s.reference.trim())
        .collect();
    let failed = numbers.iter().all(|n| named.contains(n.as_str())).then(|| {
        outcome
            .statuses
            .iter()
            .filter(|s| !s.success)
            .map(|s| s.reference.trim().to_string())
            .collect()
    });
    Ok(Saved::Refused {
        reason: outcome
            .error_detail
            .unwrap_or_else(|| "no reason given".into()),
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(numbers: &[&str]) -> Vec<String> {
        numbers.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn groups_keep_orders_whole_and_under_the_row_limit() {
        let orders = vec![
            order(&["a"]),
            order(&["b", "c"]),
            order(&["d"]),
            order(&["e", "f", "g"]),
        ];
        let lens: Vec<usize> = groups(&orders, 3).iter().map(|g| g.len()).collect();
        assert_eq!(lens, vec![2, 1, 1]);
        assert!(groups(&[], 3).is_empty());
        // An order larger than the limit is a group of its own.
        let big = vec![order(&["a", "b", "c", "d"]), order(&["e"])];
        let lens: Vec<usize> = groups(&big, 3).iter().map(|g| g.len()).collect();
        assert_eq!(lens, vec![1, 1]);
    }
}
