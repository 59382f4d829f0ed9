//! The fulfilment lifecycle of an order in the warehouse, ranked so that it only moves
//! forward, and the ownership rules that decide which system may change what. Pure, no I/O.
//!
//! Peoplevox's status vocabulary is only partly documented (New, Despatched, Closed, Cancelled
//! are confirmed; Picking, Packed, Backorder... are UNCONFIRMED and tenant-specific), so names
//! reach a [`Stage`] through configuration, and a name nobody mapped is reported, never guessed.

use serde::Deserialize;

/// Where an order stands in the warehouse. The order of the variants is the rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Imported, waiting (New, Allocated, Awaiting...).
    Received,
    /// Waiting for stock.
    Backorder,
    /// Being picked.
    Picking,
    /// Picked, being packed or packed.
    Packed,
    /// Part of it has left.
    PartiallyDespatched,
    /// All of it has left.
    Despatched,
    /// Finished in the warehouse.
    Closed,
    /// Cancelled: nothing moves it any more.
    Cancelled,
}

impl Stage {
    /// Whether the warehouse has started work a cancellation can no longer undo quietly.
    pub fn picking_started(self) -> bool {
        self >= Stage::Picking && self != Stage::Cancelled
    }
}

/// How a reported stage relates to the one applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Further on: apply.
    Forward,
    /// The same stage again (a duplicate): nothing to do.
    Same,
    /// Earlier than what is applied (late or reordered): ignore, and count it.
    Backward,
    /// After a cancellation only a cancellation is meaningful: a conflict for a person.
    AfterCancel,
}

/// Compares a reported stage with the applied one (`None`: nothing applied yet).
pub fn compare(applied: Option<Stage>, reported: Stage) -> Move {
    match applied {
        None => Move::Forward,
        Some(Stage::Cancelled) if reported == Stage::Cancelled => Move::Same,
        Some(Stage::Cancelled) => Move::AfterCancel,
        Some(current) if reported > current => Move::Forward,
        Some(current) if reported == current => Move::Same,
        Some(_) => Move::Backward,
    }
}

/// What may happen to a commercetools cancellation of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancellation {
    /// Not exported yet: commercetools owns the order; nothing to tell Peoplevox.
    LocalOnly,
    /// Exported, not picked: cancel it in Peoplevox too.
    PushToPeoplevox,
    /// Picking has started (or the goods left): an exception for a person, not applied.
    Exception(String),
    /// Peoplevox cancelled it already.
    AlreadyCancelled,
}

/// The one place that decides a commercetools-side cancellation.
pub fn cancellation(exported: bool, stage: Option<Stage>) -> Cancellation {
    match (exported, stage) {
        (false, _) => Cancellation::LocalOnly,
        (true, Some(Stage::Cancelled)) => Cancellation::AlreadyCancelled,
        (true, Some(s)) if s.picking_started() => Cancellation::Exception(format!(
            "cancelled in commercetools while the warehouse is at `{}`: not applied; a person must decide",
            stage_name(s)
        )),
        (true, _) => Cancellation::PushToPeoplevox,
    }
}

/// Fields whose owner changes with the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `shipmentState`, deliveries and pick exceptions.
    Fulfilment,
    /// Lines, addresses, shipping method: what the customer bought.
    OrderContent,
}

/// Which system owns a field: commercetools before export, Peoplevox after it for fulfilment
/// facts; the order's content stays commercetools'.
pub fn peoplevox_may_change(exported: bool, field: Field) -> Result<(), String> {
    match (exported, field) {
        (true, Field::Fulfilment) => Ok(()),
        (false, Field::Fulfilment) => {
            Err("the order is not exported: commercetools owns it until Peoplevox has it".into())
        }
        (_, Field::OrderContent) => Err("the order's content is owned by commercetools".into()),
    }
}

/// How far a commercetools `shipmentState` is along, so that no flow ever moves it back once
/// goods have left. The waiting states (Pending, Ready, Backorder, Delayed) share the lowest
/// rank: an order moves between them as stock arrives and holds are lifted, and which of them
/// applies is decided by the ranked [`Stage`], not here.
pub fn shipment_state_rank(state: &str) -> u8 {
    match state {
        "Partial" => 1,
        "Shipped" => 2,
        "Delivered" => 3,
        "Canceled" => 4,
        _ => 0,
    }
}

/// How far a commercetools `orderState` is along: Open < Confirmed < Complete < Cancelled. No
/// flow writes a lower one.
pub fn order_state_rank(state: &str) -> u8 {
    match state {
        "Confirmed" => 1,
        "Complete" => 2,
        "Cancelled" => 3,
        _ => 0,
    }
}

/// The stage commercetools' own `shipmentState` shows the warehouse reached (the shipment flow
/// sets Partial and Shipped from deliveries, possibly before the status callback arrives).
pub fn stage_of_shipment_state(state: Option<&str>) -> Option<Stage> {
    match state? {
        "Backorder" => Some(Stage::Backorder),
        "Partial" => Some(Stage::PartiallyDespatched),
        "Shipped" | "Delivered" => Some(Stage::Despatched),
        "Canceled" => Some(Stage::Cancelled),
        _ => None,
    }
}

/// The stage an `orderState` implies: a cancelled or completed order is past everything the
/// warehouse can report, short of a cancellation.
pub fn stage_of_order_state(state: Option<&str>) -> Option<Stage> {
    match state? {
        "Cancelled" => Some(Stage::Cancelled),
        "Complete" => Some(Stage::Closed),
        _ => None,
    }
}

/// A stage's configuration name.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Received => "received",
        Stage::Backorder => "backorder",
        Stage::Picking => "picking",
        Stage::Packed => "packed",
        Stage::PartiallyDespatched => "partially-despatched",
        Stage::Despatched => "despatched",
        Stage::Closed => "closed",
        Stage::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipment_states_rank_forward_and_imply_stages() {
        let order = ["Backorder", "Partial", "Shipped", "Delivered", "Canceled"];
        for pair in order.windows(2) {
            assert!(
                shipment_state_rank(pair[0]) < shipment_state_rank(pair[1]),
                "{pair:?}"
            );
        }
        assert_eq!(shipment_state_rank("Delayed"), shipment_state_rank("Ready"));
        assert_eq!(
            shipment_state_rank("Backorder"),
            shipment_state_rank("Pending")
        );
        assert_eq!(
            stage_of_shipment_state(Some("Shipped")),
            Some(Stage::Despatched)
        );
        assert_eq!(stage_of_shipment_state(Some("Ready")), None);
        assert_eq!(
            stage_of_order_state(Some("Cancelled")),
            Some(Stage::Cancelled)
        );
        assert_eq!(stage_of_order_state(Some("Open")), None);
    }

    const ALL: [Stage; 8] = [
        Stage::Received,
        Stage::Backorder,
        Stage::Picking,
        Stage::Packed,
        Stage::PartiallyDespatched,
        Stage::Despatched,
        Stage::Closed,
        Stage::Cancelled,
    ];

    /// Applies reported stages the way a flow would: only forward moves change anything.
    fn apply_all(order: &[Stage]) -> (Option<Stage>, usize) {
        let mut applied = None;
        let mut backwards = 0;
        for &s in order {
            match compare(applied, s) {
                Move::Forward => applied = Some(s),
                Move::Backward => backwards += 1,
                Move::Same | Move::AfterCancel => {}
            }
        }
        (applied, backwards)
    }

    fn permutations(items: &[Stage]) -> Vec<Vec<Stage>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut p in permutations(&rest) {
                p.insert(0, first);
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn every_permutation_ends_in_the_furthest_stage() {
        let lifecycle = [
            Stage::Received,
            Stage::Picking,
            Stage::Packed,
            Stage::PartiallyDespatched,
            Stage::Despatched,
            Stage::Closed,
        ];
        let all = permutations(&lifecycle);
        assert_eq!(all.len(), 720);
        for order in all {
            let (end, _) = apply_all(&order);
            assert_eq!(end, Some(Stage::Closed), "{order:?}");
        }
    }

    #[test]
    fn nothing_moves_a_cancelled_order_and_duplicates_are_no_ops() {
        for s in ALL {
            let expected = if s == Stage::Cancelled {
                Move::Same
            } else {
                Move::AfterCancel
            };
            assert_eq!(compare(Some(Stage::Cancelled), s), expected, "{s:?}");
        }
        assert_eq!(compare(Some(Stage::Packed), Stage::Packed), Move::Same);
        assert_eq!(
            compare(Some(Stage::Despatched), Stage::Picking),
            Move::Backward
        );
    }

    #[test]
    fn a_commercetools_cancellation_goes_to_peoplevox_only_before_picking() {
        assert_eq!(cancellation(false, None), Cancellation::LocalOnly);
        assert_eq!(cancellation(true, None), Cancellation::PushToPeoplevox);
        assert_eq!(
            cancellation(true, Some(Stage::Received)),
            Cancellation::PushToPeoplevox
        );
        assert_eq!(
            cancellation(true, Some(Stage::Backorder)),
            Cancellation::PushToPeoplevox
        );
        for s in [
            Stage::Picking,
            Stage::Packed,
            Stage::Despatched,
            Stage::Closed,
        ] {
            match cancellation(true, Some(s)) {
                Cancellation::Exception(reason) => {
                    assert!(reason.contains(stage_name(s)), "{reason}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
        assert_eq!(
            cancellation(true, Some(Stage::Cancelled)),
            Cancellation::AlreadyCancelled
        );
    }

    #[test]
    fn ownership_follows_the_export() {
        assert!(peoplevox_may_change(true, Field::Fulfilment).is_ok());
        assert!(peoplevox_may_change(false, Field::Fulfilment).is_err());
        assert!(peoplevox_may_change(true, Field::OrderContent).is_err());
    }
}
