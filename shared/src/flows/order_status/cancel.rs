//! A commercetools cancellation pushed to Peoplevox (`[status.cancel]`). Peoplevox documents no
//! cancel operation, so the order's header is re-imported with the cancelling status. Before
//! that, the order's current status is read from Peoplevox itself: the status callbacks may lag,
//! and an order the warehouse has started picking must become an exception for a person, not
//! be cancelled behind the pickers' backs.

use super::pvx_orders::{self, PvxOrder};
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

/// Whether Peoplevox has a sales order of any of these numbers (one read of the cancel
/// template per 100).
pub async fn any_found(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[String],
) -> Result<bool, PvxError> {
    let read = pvx_orders::read(pvx, rules, numbers).await?;
    Ok(numbers.iter().any(|n| read.orders.contains_key(n)))
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

/// Reads the statuses of an order's sales orders (each part of a split order) in Peoplevox,
/// decides with them, and cancels them all only if every one may be cancelled: an order one of
/// whose parts the warehouse has started picking is an exception for a person, and nothing of
/// it is cancelled behind the pickers' backs.
pub async fn push(
    pvx: &PvxClient,
    rules: &StatusRules,
    numbers: &[String],
) -> Result<Pushed, PvxError> {
    let read = pvx_orders::read(pvx, rules, numbers).await?;
    let decided: Vec<(&String, Pushed)> = numbers
        .iter()
        .map(|n| (n, decide(n, read.orders.get(n), rules)))
        .collect();
    if let Some((_, refused)) = decided
        .iter()
        .find(|(_, d)| matches!(d, Pushed::Exception(_) | Pushed::NotInPeoplevox))
    {
        return Ok(refused.clone());
    }
    let to_cancel: Vec<&String> = decided
        .iter()
        .filter(|(_, d)| *d == Pushed::Cancelled)
        .map(|(n, _)| *n)
        .collect();
    if to_cancel.is_empty() {
        return Ok(Pushed::AlreadyCancelled);
    }
    let cancel = &rules.cancel;
    let mut table = CsvTable::new(vec![
        "SalesOrderNumber".to_string(),
        cancel.status_field.clone(),
    ]);
    for number in to_cancel {
        table
            .rows
            .push(vec![number.to_string(), cancel.value.clone()]);
    }
    let outcome = pvx
        .save_data(&cancel.template, &table, SaveAction::Upsert)
        .await?;
    // A tenant may answer with a count only: a record missing from it was not saved.
    if outcome.all_succeeded() && outcome.saved >= table.rows.len() as i64 {
        Ok(Pushed::Cancelled)
    } else {
        Ok(Pushed::Exception(format!(
            "Peoplevox refused the cancellation: {}",
            outcome
                .error_detail
                .unwrap_or_else(|| "no reason given".into())
        )))
    }
}
