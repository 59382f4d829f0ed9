//! A commercetools cancellation pushed to Peoplevox (`[status.cancel]`). Peoplevox documents no
//! cancel operation, so the order's header is re-imported with the cancelling status. Before
//! that, the order's current status is read from Peoplevox itself: the status callbacks may lag,
//! and an order the warehouse has started picking must become an exception for a person, not
//! be cancelled behind the pickers' backs.

use super::pvx_orders;
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

/// Whether Peoplevox has a sales order of this number (one read of the cancel template).
pub async fn find(pvx: &PvxClient, rules: &StatusRules, number: &str) -> Result<bool, PvxError> {
    let read = pvx_orders::read(pvx, rules, &[number]).await?;
    Ok(read.orders.contains_key(number))
}

/// Reads the order's status in Peoplevox, decides again with it, and cancels if still allowed.
pub async fn push(pvx: &PvxClient, rules: &StatusRules, number: &str) -> Result<Pushed, PvxError> {
    let cancel = &rules.cancel;
    let read = pvx_orders::read(pvx, rules, &[number]).await?;
    let Some(order) = read.orders.get(number) else {
        return Ok(Pushed::NotInPeoplevox);
    };
    let status = order.status.clone();
    // A status nobody mapped is treated as work in progress: cancelling it is a person's call.
    let stage = match rules.resolve(&status) {
        Some(m) => Some(m.stage),
        None if status.is_empty() => Some(Stage::Received),
        None => {
            return Ok(Pushed::Exception(format!(
                "Peoplevox reports the unmapped status `{status}`: not cancelled; a person must decide"
            )));
        }
    };
    match cancellation(true, stage) {
        Cancellation::AlreadyCancelled => return Ok(Pushed::AlreadyCancelled),
        Cancellation::Exception(reason) => return Ok(Pushed::Exception(reason)),
        Cancellation::LocalOnly | Cancellation::PushToPeoplevox => {}
    }
    let mut table = CsvTable::new(vec![
        "SalesOrderNumber".to_string(),
        cancel.status_field.clone(),
    ]);
    table
        .rows
        .push(vec![number.to_string(), cancel.value.clone()]);
    let outcome = pvx
        .save_data(&cancel.template, &table, SaveAction::Upsert)
        .await?;
    if outcome.all_succeeded() {
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
