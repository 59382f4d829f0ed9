//! The durable link between a commercetools order and its Peoplevox sales order.
//!
//! It outlives idempotency records (which expire): `Sending` is written before SaveData, so a
//! worker that dies after SaveData leaves a trace that makes the next attempt check Peoplevox
//! before sending again; `Exported` is final.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::OtherOrders;
use crate::domain::HoldReason;
use crate::store::{AuditEntry, AuditLog, Condition, StateStore, StoreError, now_epoch_ms};

/// Partition of order links in the state store.
const PK: &str = "order-link";

/// Where an order stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum OrderLink {
    /// SaveData was (or is about to be) called; whether it landed is unknown.
    Sending {
        /// The Peoplevox sales order number (the first part's, when split).
        number: String,
        /// Every part's number, when the order is split over several addresses.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parts: Vec<String>,
    },
    /// In Peoplevox and marked in commercetools.
    Exported {
        /// The Peoplevox sales order number (the first part's, when split).
        number: String,
        /// Peoplevox site (the first part's).
        site: String,
        /// When, epoch ms.
        at_ms: i64,
        /// Every part's number, when the order is split over several addresses.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parts: Vec<String>,
    },
    /// Not exported, and why.
    Held {
        /// The order number, if known.
        number: Option<String>,
        /// Why.
        reason: HoldReason,
        /// Since when, epoch ms.
        since_ms: i64,
        /// Every part's number of a split order Peoplevox refused a part of: the others may be
        /// there, so the next attempt looks for them first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parts: Vec<String>,
    },
}

/// Reads the link of an order.
pub async fn load(state: &dyn StateStore, order_id: &str) -> Result<Option<OrderLink>, StoreError> {
    match state.get(PK, order_id).await? {
        None => Ok(None),
        Some(item) => serde_json::from_str(&item.data)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("order link {order_id}: {e}"))),
    }
}

/// Reads the links of many orders, in the order asked, in as few store calls as the store
/// allows (one BatchGetItem per 100 on DynamoDB).
pub async fn load_many(
    state: &dyn StateStore,
    order_ids: &[String],
) -> Result<Vec<Option<OrderLink>>, StoreError> {
    let keys: Vec<(String, String)> = order_ids
        .iter()
        .map(|id| (PK.to_string(), id.clone()))
        .collect();
    let items = state.get_many(&keys).await?;
    order_ids
        .iter()
        .zip(items)
        .map(|(id, item)| {
            item.map(|item| {
                serde_json::from_str(&item.data)
                    .map_err(|e| StoreError::Corrupt(format!("order link {id}: {e}")))
            })
            .transpose()
        })
        .collect()
}

/// Partition of the order-number index (Peoplevox number → commercetools order id).
const NUMBER_PK: &str = "order-number";

impl OrderLink {
    /// The Peoplevox sales order number (the first part's), when known.
    pub fn number(&self) -> Option<&str> {
        match self {
            Self::Sending { number, .. } | Self::Exported { number, .. } => Some(number),
            Self::Held { number, .. } => number.as_deref(),
        }
    }

    /// Every Peoplevox number of the order: each part's, or the one.
    pub fn numbers(&self) -> Vec<String> {
        match self {
            Self::Sending { parts, .. }
            | Self::Exported { parts, .. }
            | Self::Held { parts, .. }
                if !parts.is_empty() =>
            {
                parts.clone()
            }
            _ => self.number().map(str::to_string).into_iter().collect(),
        }
    }
}

/// The `parts` of a link for these numbers: empty for one (the `number` says it all).
pub fn parts_of(numbers: &[String]) -> Vec<String> {
    if numbers.len() > 1 {
        numbers.to_vec()
    } else {
        Vec::new()
    }
}

/// Writes the link of an order (the idempotency claim makes this worker its only writer), and
/// indexes it by order number so that operators can look an order up by the number they see.
pub async fn save(
    state: &dyn StateStore,
    order_id: &str,
    link: &OrderLink,
) -> Result<(), StoreError> {
    let data = serde_json::to_string(link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    state
        .put(PK, order_id, &data, Condition::Always, None)
        .await?;
    for number in link.numbers() {
        state
            .put(NUMBER_PK, &number, order_id, Condition::Always, None)
            .await?;
    }
    Ok(())
}

/// The ids among `order_ids` of orders the export leaves alone by configuration (imports while
/// `orders.export_imported` is false): never going to Peoplevox, they hold no stock there.
pub async fn left_alone(
    state: &dyn StateStore,
    order_ids: &[String],
) -> Result<BTreeSet<String>, StoreError> {
    let keys: Vec<(String, String)> = order_ids
        .iter()
        .map(|id| (PK.to_string(), id.clone()))
        .collect();
    let items = state.get_many(&keys).await?;
    Ok(order_ids
        .iter()
        .zip(items)
        .filter_map(|(id, item)| {
            let link: OrderLink = serde_json::from_str(&item?.data).ok()?;
            matches!(
                link,
                OrderLink::Held {
                    reason: HoldReason::ImportNotExported,
                    ..
                }
            )
            .then(|| id.clone())
        })
        .collect())
}

/// The commercetools order id the order-number index gives each of these numbers it has.
pub async fn owners(
    state: &dyn StateStore,
    numbers: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    let keys: Vec<(String, String)> = numbers
        .iter()
        .map(|n| (NUMBER_PK.to_string(), n.clone()))
        .collect();
    let items = state.get_many(&keys).await?;
    Ok(numbers
        .iter()
        .zip(items)
        .filter_map(|(n, item)| Some((n.clone(), item?.data)))
        .collect())
}

/// Where callbacks for numbers that are not ours go: skipped with an audit entry on the
/// number's trail, or parked (`orders.other_orders`).
pub struct NotOurs<'a> {
    /// The state store, whose order-number index tells an export in flight from a stranger.
    pub state: &'a dyn StateStore,
    /// Where a skip is recorded.
    pub audit: &'a dyn AuditLog,
    /// The flow that skips.
    pub flow: &'static str,
    /// Skip or park.
    pub policy: OtherOrders,
}

/// What becomes of callbacks naming Peoplevox numbers commercetools has no order for: a number
/// the order-number index gives an order is that order's export in flight (its numbers are
/// indexed before SaveData, its mark, which callbacks find it by, is written after), so they are
/// retried; any other is not ours (another sales channel on the tenant): done, with an audit
/// entry `skipped-not-ours`, or parked with `reason(number)`, as configured. An index that
/// cannot be read retries them all. Only a skip ends `Done`.
pub async fn unknown_numbers(
    not_ours: &NotOurs<'_>,
    numbers: &[String],
    reason: impl Fn(&str) -> String,
) -> BTreeMap<String, crate::flows::batch::RecordOutcome> {
    use crate::flows::batch::RecordOutcome;
    let owners = owners(not_ours.state, numbers).await;
    let mut out = BTreeMap::new();
    for n in numbers {
        let outcome = match &owners {
            Ok(owners) => match owners.get(n) {
                Some(order_id) => RecordOutcome::Retry(format!(
                    "order {order_id} is being exported: Peoplevox number {n} is not on it yet"
                )),
                None if not_ours.policy == OtherOrders::Park => {
                    RecordOutcome::DeadLetter(reason(n))
                }
                None => {
                    skip(not_ours, n, reason(n)).await;
                    RecordOutcome::Done
                }
            },
            Err(e) => RecordOutcome::Retry(format!("reading the order-number index: {e}")),
        };
        out.insert(n.clone(), outcome);
    }
    out
}

/// Records a skipped number; a failed append is logged, never a retry.
async fn skip(not_ours: &NotOurs<'_>, number: &str, reason: String) {
    let entry = AuditEntry {
        entity: format!("pvx-order#{number}"),
        at_ms: now_epoch_ms(),
        flow: not_ours.flow.into(),
        outcome: "skipped-not-ours".into(),
        reason: Some(reason),
        detail: serde_json::json!({ "number": number }),
    };
    if let Err(e) = not_ours.audit.append(&entry).await {
        tracing::error!(%number, error = %e, "audit append failed");
    }
}

/// [`unknown_numbers`] for the numbers of a batch that commercetools returned no order for.
pub async fn orders_not_found<'a, V>(
    not_ours: &NotOurs<'_>,
    numbers: impl IntoIterator<Item = &'a String>,
    found: &BTreeMap<String, V>,
) -> BTreeMap<String, crate::flows::batch::RecordOutcome> {
    let missing: Vec<String> = numbers
        .into_iter()
        .filter(|n| !found.contains_key(*n))
        .cloned()
        .collect();
    unknown_numbers(not_ours, &missing, |n| {
        format!("unknown order number `{n}`: commercetools has no such order (not ours?)")
    })
    .await
}

/// The commercetools order id behind a sales order number the flow has seen.
pub async fn order_id_by_number(
    state: &dyn StateStore,
    number: &str,
) -> Result<Option<String>, StoreError> {
    Ok(state.get(NUMBER_PK, number).await?.map(|item| item.data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedStore;

    #[tokio::test]
    async fn only_imports_left_alone_are_left_alone_and_every_part_is_indexed() {
        let store = EmbeddedStore::in_memory().unwrap();
        let held = |reason| OrderLink::Held {
            number: None,
            reason,
            since_ms: 1,
            parts: Vec::new(),
        };
        save(
            store.as_ref(),
            "o-import",
            &held(HoldReason::ImportNotExported),
        )
        .await
        .unwrap();
        save(
            store.as_ref(),
            "o-waiting",
            &held(HoldReason::AwaitingOrderNumber),
        )
        .await
        .unwrap();
        let split = OrderLink::Exported {
            number: "N-1".into(),
            site: "S".into(),
            at_ms: 1,
            parts: parts_of(&["N-1".into(), "N-2".into()]),
        };
        save(store.as_ref(), "o-split", &split).await.unwrap();
        let ids = ["o-import", "o-waiting", "o-split", "o-unknown"].map(String::from);
        let alone = left_alone(store.as_ref(), &ids).await.unwrap();
        assert_eq!(alone, BTreeSet::from(["o-import".to_string()]));
        for number in ["N-1", "N-2"] {
            assert_eq!(
                order_id_by_number(store.as_ref(), number).await.unwrap(),
                Some("o-split".into())
            );
        }
        assert_eq!(split.numbers(), ["N-1", "N-2"]);
        assert!(parts_of(&["N".into()]).is_empty());
        // Links written before parts existed read as they did.
        let old: OrderLink =
            serde_json::from_str(r#"{"state":"exported","number":"N","site":"S","at_ms":1}"#)
                .unwrap();
        assert_eq!(old.numbers(), ["N"]);
    }

    #[tokio::test]
    async fn a_callback_for_an_export_in_flight_is_retried_and_a_strangers_parked() {
        use crate::flows::batch::RecordOutcome;
        let store = EmbeddedStore::in_memory().unwrap();
        let sending = OrderLink::Sending {
            number: "N-1".into(),
            parts: parts_of(&["N-1".into(), "N-2".into()]),
        };
        save(store.as_ref(), "o-1", &sending).await.unwrap();
        let numbers = ["N-2", "OTHER"].map(String::from);
        let not_ours = |policy| NotOurs {
            state: store.as_ref(),
            audit: store.as_ref(),
            flow: "test",
            policy,
        };
        let outcomes = unknown_numbers(&not_ours(OtherOrders::Park), &numbers, |n| {
            format!("unknown {n}")
        })
        .await;
        assert!(
            matches!(&outcomes["N-2"], RecordOutcome::Retry(r) if r.contains("order o-1 is being exported")),
            "{outcomes:?}"
        );
        assert_eq!(
            outcomes["OTHER"],
            RecordOutcome::DeadLetter("unknown OTHER".into())
        );
        // Skipped by default: done, with an audit entry on the number's trail.
        let outcomes = unknown_numbers(&not_ours(OtherOrders::Skip), &numbers, |n| {
            format!("unknown {n}")
        })
        .await;
        assert_eq!(outcomes["OTHER"], RecordOutcome::Done);
        let trail = store.list("pvx-order#OTHER", 10).await.unwrap();
        assert_eq!(trail[0].outcome, "skipped-not-ours");
    }
}
