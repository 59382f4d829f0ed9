//! Bringing one commercetools inventory entry to its target: compare, then write the
//! difference as `addQuantity` / `removeQuantity` with the version read. On a conflict, a lost
//! answer or a concurrent create, re-read the entry and then what the target depends on (the
//! pending orders: a 409 is most often an order placed since the first reads, which both
//! lowered the entry and joined the pending orders), and plan again from the absolute target,
//! so a retry after a write that did land plans nothing.

use std::future::Future;

use crate::commercetools::types::InventoryEntry;
use crate::commercetools::{CtClient, CtError, InventoryUpdateAction};
use crate::domain::{StockWrite, plan_write};

/// Attempts before giving up on one entry for this batch.
const ATTEMPTS: u32 = 6;

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Applied {
    /// Already at the target.
    Unchanged { quantity: i64 },
    /// Moved from `old` to `new`.
    Written { old: i64, new: i64 },
    /// Created at `new`.
    Created { new: i64 },
}

/// Why an entry was not brought in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NotApplied {
    /// May pass on another delivery.
    Retry(String),
    /// Will not pass as configured.
    Refused(String),
}

/// One entry to bring in line.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) channel_id: String,
    pub(super) sku: String,
    pub(super) quantity: i64,
    pub(super) entry: Option<InventoryEntry>,
}

/// A target planned again after a conflict, from the pending units read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retarget {
    pub(super) pending: i64,
    pub(super) quantity: i64,
}

/// The outcome plus the conflicts met on the way.
pub(super) struct Attempted {
    pub(super) result: Result<Applied, NotApplied>,
    pub(super) conflicts: u32,
    /// The last target planned again, if a conflict made us.
    pub(super) retargeted: Option<Retarget>,
}

fn retry(sku: &str, e: &CtError) -> NotApplied {
    NotApplied::Retry(format!("commercetools inventory of {sku}: {e}"))
}

/// Brings one entry to `target.quantity`; after a conflict, to what `retarget` (which reads
/// the pending orders again) says once the entry was read again.
pub(super) async fn apply<R, F>(
    ct: &CtClient,
    target: Target,
    create_missing: bool,
    retarget: R,
) -> Attempted
where
    R: Fn() -> F,
    F: Future<Output = Result<Retarget, String>>,
{
    let Target {
        channel_id,
        sku,
        mut quantity,
        mut entry,
    } = target;
    let mut conflicts = 0;
    let mut retargeted = None;
    // Set by a conflict once the entry was read again: the pending orders are read after it,
    // in the order the first reads took.
    let mut plan_again = false;
    for _ in 0..ATTEMPTS {
        if std::mem::take(&mut plan_again) {
            match retarget().await {
                Ok(again) => {
                    quantity = again.quantity;
                    retargeted = Some(again);
                }
                Err(reason) => {
                    return Attempted {
                        result: Err(NotApplied::Retry(reason)),
                        conflicts,
                        retargeted,
                    };
                }
            }
        }
        let current = entry.as_ref().map(|e| e.quantity_on_stock);
        let action = match plan_write(current, quantity) {
            StockWrite::Unchanged => {
                return Attempted {
                    result: Ok(Applied::Unchanged { quantity }),
                    conflicts,
                    retargeted,
                };
            }
            StockWrite::Create(new) => {
                if !create_missing {
                    return Attempted {
                        result: Err(NotApplied::Refused(format!(
                            "no commercetools inventory entry for {sku} at channel {channel_id}, and stock.create_missing_entries is off"
                        ))),
                        conflicts,
                        retargeted,
                    };
                }
                match ct.create_inventory(&sku, Some(&channel_id), new).await {
                    Ok(_) => {
                        return Attempted {
                            result: Ok(Applied::Created { new }),
                            conflicts,
                            retargeted,
                        };
                    }
                    // Created meanwhile (or by our own lost request): read it and plan again.
                    Err(e) if e.has_code("DuplicateField") || e.outcome_unknown() => {
                        conflicts += 1;
                        match read_one(ct, &channel_id, &sku).await {
                            Ok(found) => entry = found,
                            Err(e) => return failed(&sku, &e, conflicts, retargeted),
                        }
                        plan_again = true;
                        continue;
                    }
                    Err(e) => return failed(&sku, &e, conflicts, retargeted),
                }
            }
            StockWrite::Add(n) => InventoryUpdateAction::AddQuantity { quantity: n },
            StockWrite::Remove(n) => InventoryUpdateAction::RemoveQuantity { quantity: n },
        };
        let Some(current_entry) = entry.as_ref() else {
            continue;
        };
        let old = current_entry.quantity_on_stock;
        match ct
            .update_inventory(&current_entry.id, current_entry.version, &[action])
            .await
        {
            Ok(updated) => {
                return Attempted {
                    result: Ok(Applied::Written {
                        old,
                        new: updated.quantity_on_stock,
                    }),
                    conflicts,
                    retargeted,
                };
            }
            // Someone else wrote (an order, another worker), or our write may have landed:
            // either way the absolute target decides again from what is there now. An order
            // placed since our reads lowered the entry *and* joined the pending orders, so
            // the target is planned again too: keeping the old one would write its units back.
            Err(e)
                if matches!(e, CtError::ConcurrentModification { .. }) || e.outcome_unknown() =>
            {
                conflicts += 1;
                match ct.get_inventory(&current_entry.id).await {
                    Ok(fresh) => entry = Some(fresh),
                    Err(CtError::NotFound { .. }) => entry = None,
                    Err(e) => return failed(&sku, &e, conflicts, retargeted),
                }
                plan_again = true;
            }
            Err(e) => return failed(&sku, &e, conflicts, retargeted),
        }
    }
    Attempted {
        result: Err(NotApplied::Retry(format!(
            "commercetools inventory of {sku} kept changing under us ({conflicts} conflicts)"
        ))),
        conflicts,
        retargeted,
    }
}

fn failed(sku: &str, e: &CtError, conflicts: u32, retargeted: Option<Retarget>) -> Attempted {
    let result = if e.is_retryable() || e.outcome_unknown() {
        Err(retry(sku, e))
    } else {
        Err(NotApplied::Refused(format!(
            "commercetools refused the inventory write of {sku}: {e}"
        )))
    };
    Attempted {
        result,
        conflicts,
        retargeted,
    }
}

async fn read_one(
    ct: &CtClient,
    channel_id: &str,
    sku: &str,
) -> Result<Option<InventoryEntry>, CtError> {
    let found = ct
        .query_inventory(Some(channel_id), &[sku.to_string()])
        .await?;
    Ok(found.into_iter().find(|e| e.sku == sku))
}
