//! Deciding what a Peoplevox status means for one commercetools order, as it is now. Pure: the
//! flow reads the order, plans, and writes with the version read; on a conflict it reads and
//! plans again, so a concurrent or repeated event finds its work done.
//!
//! The rules, in order: Peoplevox may change fulfilment facts only once the order is exported
//! ([`peoplevox_may_change`]); the stage only moves forward ([`compare`]); after a cancellation
//! nothing but a cancellation applies; and no `shipmentState` write ever lowers its rank
//! ([`shipment_state_rank`]), whichever flow wrote it.

use serde_json::Value;

use super::fields::{self, OrderType};
use crate::commercetools::OrderUpdateAction;
use crate::commercetools::actions::{OrderState, ShipmentState, reference_by_key};
use crate::commercetools::types::Order;
use crate::config::{StatusMapping, StatusRules};
use crate::domain::status::{
    Field, Move, Stage, compare, order_state_rank, peoplevox_may_change, shipment_state_rank,
    stage_name, stage_of_order_state, stage_of_shipment_state,
};
use crate::setup::{FIELD_PVX_SHORT_PICKS, FIELD_PVX_STATUS};

/// A line Peoplevox did not despatch in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    /// The commercetools SKU.
    pub sku: String,
    /// Ordered, in commercetools units.
    pub ordered: i64,
    /// Despatched, in commercetools units.
    pub despatched: i64,
}

/// The short lines as customer service reads them in `pvxShortPicks`.
pub fn describe_shorts(shorts: &[ShortLine]) -> String {
    shorts
        .iter()
        .map(|s| {
            format!(
                "{}: {} of {} not despatched",
                s.sku,
                s.ordered - s.despatched,
                s.ordered
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What Peoplevox reported about the order.
#[derive(Debug, Clone)]
pub struct Reported<'a> {
    /// The status name, as Peoplevox spells it.
    pub name: &'a str,
    /// What it maps to.
    pub mapping: &'a StatusMapping,
    /// The on-hold flag, when the event carried it.
    pub on_hold: Option<bool>,
    /// Lines short after the final despatch (empty: none, or not checked).
    pub shorts: &'a [ShortLine],
    /// Peoplevox's despatch report shows goods of the order despatched (read for a
    /// cancellation, whose despatch may not have reached commercetools yet).
    pub despatched: bool,
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Send these. `moved` is false when only the hold or the short lines changed.
    Apply {
        /// The actions.
        actions: Vec<OrderUpdateAction>,
        /// The stage moved forward.
        moved: bool,
        /// A field could not be written (named), the states were still planned.
        warning: Option<String>,
    },
    /// The order already shows it.
    Same,
    /// Late or reordered: the order is further on; nothing is applied.
    Backward(Stage),
    /// Refused under the ownership rules; a person must look (or, not exported yet, later).
    Refused(String),
    /// After a cancellation: recorded for a person, not applied.
    Conflict(String),
}

/// The stage the order shows: the furthest of our `pvxStatus` field, the `shipmentState` the
/// shipment flow may have set first, and the `orderState`.
pub fn applied_stage(order: &Order, rules: &StatusRules) -> Option<Stage> {
    warehouse_stage(order, rules).max(stage_of_order_state(order.order_state.as_deref()))
}

/// The stage the warehouse reached as far as commercetools knows (its own cancellation of the
/// order left out, which is what decides whether that cancellation may go to Peoplevox).
pub fn warehouse_stage(order: &Order, rules: &StatusRules) -> Option<Stage> {
    let from_field = fields::current_text(order, FIELD_PVX_STATUS)
        .and_then(|name| rules.resolve(name))
        .map(|m| m.stage);
    // The on-hold state shows a hold, not a stage: were it Backorder, a held order would rank
    // as backordered and its release would read as a move back.
    let shown = order
        .shipment_state
        .as_deref()
        .filter(|s| *s != rules.on_hold_shipment_state.as_str());
    from_field.max(stage_of_shipment_state(shown))
}

/// Whether goods of the order have left: it has a delivery, or it stands at part-despatched or
/// further (short of a cancellation).
pub(super) fn goods_left(order: &Order, applied: Option<Stage>) -> bool {
    order.deliveries().next().is_some()
        || applied.is_some_and(|s| s >= Stage::PartiallyDespatched && s != Stage::Cancelled)
}

/// Plans one reported status against the order. `applied` is the stage to compare with
/// (normally [`applied_stage`]).
pub fn plan(
    order: &Order,
    applied: Option<Stage>,
    exported: bool,
    reported: &Reported<'_>,
    rules: &StatusRules,
    ours: &OrderType,
) -> Verdict {
    if let Err(reason) = peoplevox_may_change(exported, Field::Fulfilment) {
        return Verdict::Refused(reason);
    }
    let stage = reported.mapping.stage;
    // A warehouse cancellation once goods have left would show a shipped order as cancelled,
    // which refund automations act on: Cancelled ranks highest, so it is stopped here.
    if stage == Stage::Cancelled && (reported.despatched || goods_left(order, applied)) {
        return Verdict::Conflict(format!(
            "Peoplevox reports `{}` (cancelled) for an order whose goods have left the warehouse: not applied; a person must decide",
            reported.name
        ));
    }
    let moved = match compare(applied, stage) {
        Move::AfterCancel => {
            return Verdict::Conflict(format!(
                "Peoplevox reports `{}` ({}) for an order that is cancelled: not applied; a person must decide",
                reported.name,
                stage_name(stage)
            ));
        }
        // A late stage moves nothing, but its hold flag (ordered apart from the stage, by
        // Peoplevox's time) still counts: a release must not be lost with it.
        Move::Backward => {
            let Some(applied) = applied else {
                return Verdict::Backward(stage);
            };
            return match hold_change(order, applied, reported.on_hold, rules) {
                Some(shipment_state) => Verdict::Apply {
                    actions: vec![OrderUpdateAction::ChangeShipmentState { shipment_state }],
                    moved: false,
                    warning: None,
                },
                None => Verdict::Backward(applied),
            };
        }
        Move::Forward => true,
        Move::Same => false,
    };
    let mut actions = Vec::new();
    let current_shipment = order.shipment_state.as_deref().unwrap_or("Pending");
    let mut shipment = if moved {
        reported.mapping.shipment_state
    } else {
        None
    };
    match reported.on_hold {
        Some(true) if stage < Stage::PartiallyDespatched => {
            shipment = Some(rules.on_hold_shipment_state);
        }
        Some(false) if current_shipment == rules.on_hold_shipment_state.as_str() => {
            shipment = Some(release_state(reported.mapping.shipment_state, rules));
        }
        _ => {}
    }
    // Short lines found now, or recorded before (Closed after a short Despatched): Shipped
    // would hide them.
    let short_before =
        fields::current_text(order, FIELD_PVX_SHORT_PICKS).is_some_and(|s| !s.is_empty());
    if !reported.shorts.is_empty() || (short_before && shipment == Some(ShipmentState::Shipped)) {
        shipment = Some(ShipmentState::Partial);
    }
    if let Some(target) = shipment
        && target.as_str() != current_shipment
        && shipment_state_rank(target.as_str()) >= shipment_state_rank(current_shipment)
    {
        actions.push(OrderUpdateAction::ChangeShipmentState {
            shipment_state: target,
        });
    }
    if moved
        && let Some(target) = reported.mapping.order_state
        && higher_order_state(order, target)
    {
        actions.push(OrderUpdateAction::ChangeOrderState {
            order_state: target,
        });
    }
    if moved && let Some(key) = &reported.mapping.state {
        // The merchant's workflow (its States' transitions: a fraud hold, say) is respected
        // unless configured otherwise; a refused move is planned again without it.
        actions.push(OrderUpdateAction::TransitionState {
            state: reference_by_key("state", key),
            force: rules.force_transitions.then_some(true),
        });
    }
    let mut wanted: Vec<(&str, Value)> = Vec::new();
    if moved {
        wanted.push((FIELD_PVX_STATUS, reported.name.into()));
    }
    if !reported.shorts.is_empty() {
        wanted.push((
            FIELD_PVX_SHORT_PICKS,
            describe_shorts(reported.shorts).into(),
        ));
    }
    let warning = match fields::set(order, ours, &wanted) {
        Ok(field_actions) => {
            actions.extend(field_actions);
            None
        }
        Err(reason) => Some(reason),
    };
    if actions.is_empty() {
        return Verdict::Same;
    }
    Verdict::Apply {
        actions,
        moved,
        warning,
    }
}

/// The state a release restores: the stage's own, unless that is the on-hold state itself.
fn release_state(own: Option<ShipmentState>, rules: &StatusRules) -> ShipmentState {
    own.filter(|s| *s != rules.on_hold_shipment_state)
        .unwrap_or(ShipmentState::Ready)
}

/// The shipment state a hold flag alone asks for, at the order's applied stage: a hold shows
/// while nothing has left; lifting it restores the shown stage's own state. `None`: no change.
fn hold_change(
    order: &Order,
    applied: Stage,
    on_hold: Option<bool>,
    rules: &StatusRules,
) -> Option<ShipmentState> {
    let current = order.shipment_state.as_deref().unwrap_or("Pending");
    let held = rules.on_hold_shipment_state;
    let target = match on_hold? {
        true if applied < Stage::PartiallyDespatched => held,
        false if current == held.as_str() => {
            let own = fields::current_text(order, FIELD_PVX_STATUS)
                .and_then(|name| rules.resolve(name))
                .and_then(|m| m.shipment_state);
            release_state(own, rules)
        }
        _ => return None,
    };
    (target.as_str() != current
        && shipment_state_rank(target.as_str()) >= shipment_state_rank(current))
    .then_some(target)
}

fn higher_order_state(order: &Order, target: OrderState) -> bool {
    let current = order.order_state.as_deref().unwrap_or("Open");
    order_state_rank(target.as_str()) > order_state_rank(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(shipment: &str, order_state: &str, pvx_status: Option<&str>) -> Order {
        let custom = match pvx_status {
            Some(s) => {
                serde_json::json!({"type": {"typeId": "type", "id": "t"}, "fields": {"pvxStatus": s}})
            }
            None => Value::Null,
        };
        serde_json::from_value(serde_json::json!({
            "id": "o", "version": 3, "orderNumber": "N1",
            "orderState": order_state, "shipmentState": shipment,
            "lineItems": [{"id": "l1", "variant": {"sku": "A"}, "quantity": 2}],
            "custom": custom,
        }))
        .unwrap()
    }

    fn ours() -> OrderType {
        OrderType {
            key: "ctpvx-order".into(),
            id: "t".into(),
        }
    }

    fn run(o: &Order, name: &str, on_hold: Option<bool>, shorts: &[ShortLine]) -> Verdict {
        let rules = StatusRules::default();
        let mapping = rules.resolve(name).unwrap();
        let reported = Reported {
            name,
            mapping: &mapping,
            on_hold,
            shorts,
            despatched: false,
        };
        plan(
            o,
            applied_stage(o, &rules),
            true,
            &reported,
            &rules,
            &ours(),
        )
    }

    fn names(v: &Verdict) -> Vec<&'static str> {
        match v {
            Verdict::Apply { actions, .. } => actions.iter().map(|a| a.name()).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn forward_moves_set_states_and_the_status_field() {
        let v = run(&order("Pending", "Open", None), "Picking", None, &[]);
        assert_eq!(
            names(&v),
            ["changeShipmentState", "changeOrderState", "setCustomType"]
        );
        let v = run(
            &order("Ready", "Confirmed", Some("Picking")),
            "Despatched",
            None,
            &[],
        );
        let Verdict::Apply { actions, moved, .. } = &v else {
            panic!("{v:?}")
        };
        assert!(moved);
        let json = serde_json::to_value(actions).unwrap();
        assert_eq!(json[0]["shipmentState"], "Shipped");
        assert_eq!(json[1]["name"], "pvxStatus");
    }

    #[test]
    fn late_events_never_move_back_and_shipment_states_never_drop() {
        let despatched = order("Shipped", "Confirmed", Some("Despatched"));
        assert_eq!(
            run(&despatched, "Picking", None, &[]),
            Verdict::Backward(Stage::Despatched)
        );
        // The shipment flow set Shipped before any status arrived: Partial is behind it.
        let shipped_first = order("Shipped", "Open", None);
        assert_eq!(
            run(&shipped_first, "Partially despatched", None, &[]),
            Verdict::Backward(Stage::Despatched)
        );
        assert_eq!(
            run(
                &order("Ready", "Confirmed", Some("Picking")),
                "picking",
                None,
                &[]
            ),
            Verdict::Same
        );
    }

    #[test]
    fn after_a_cancellation_only_conflicts() {
        let cancelled = order("Pending", "Cancelled", None);
        assert!(matches!(
            run(&cancelled, "Picking", None, &[]),
            Verdict::Conflict(reason) if reason.contains("cancelled")
        ));
        assert_eq!(run(&cancelled, "Cancelled", None, &[]), Verdict::Same);
    }

    #[test]
    fn not_exported_is_refused() {
        let rules = StatusRules::default();
        let mapping = rules.resolve("Picking").unwrap();
        let o = order("Pending", "Open", None);
        let reported = Reported {
            name: "Picking",
            mapping: &mapping,
            on_hold: None,
            shorts: &[],
            despatched: false,
        };
        assert!(matches!(
            plan(&o, None, false, &reported, &rules, &ours()),
            Verdict::Refused(_)
        ));
    }

    #[test]
    fn holds_show_and_lift_and_short_picks_go_partial_with_the_lines_named() {
        let v = run(&order("Ready", "Open", Some("New")), "New", Some(true), &[]);
        let json = serde_json::to_value(match &v {
            Verdict::Apply {
                actions,
                moved: false,
                ..
            } => actions,
            other => panic!("{other:?}"),
        })
        .unwrap();
        assert_eq!(json[0]["shipmentState"], "Delayed");
        let v = run(
            &order("Delayed", "Open", Some("New")),
            "New",
            Some(false),
            &[],
        );
        assert_eq!(names(&v), ["changeShipmentState"]);
        let shorts = [ShortLine {
            sku: "A".into(),
            ordered: 2,
            despatched: 1,
        }];
        let v = run(
            &order("Ready", "Confirmed", Some("Packed")),
            "Despatched",
            None,
            &shorts,
        );
        let Verdict::Apply { actions, .. } = &v else {
            panic!("{v:?}")
        };
        let json = serde_json::to_value(actions).unwrap();
        assert_eq!(json[0]["shipmentState"], "Partial");
        assert_eq!(json[2]["value"], "A: 1 of 2 not despatched");
    }

    /// Issue 22 item 9: Peoplevox cancelling an order after its goods left (a delivery, or a
    /// despatched stage) is a conflict for a person; before that it is applied.
    #[test]
    fn a_warehouse_cancellation_after_despatch_is_a_conflict() {
        let shipped = order("Shipped", "Confirmed", Some("Despatched"));
        assert!(
            matches!(run(&shipped, "Cancelled", None, &[]), Verdict::Conflict(r) if r.contains("goods have left")),
        );
        let mut delivered: Order = serde_json::from_value(serde_json::json!({
            "id": "o", "version": 3, "orderNumber": "N1",
            "orderState": "Open", "shipmentState": "Pending",
            "lineItems": [{"id": "l1", "variant": {"sku": "A"}, "quantity": 2}],
            "shippingInfo": {"deliveries": [{"id": "d1", "key": "pvx-D1", "items": [], "parcels": []}]},
        }))
        .unwrap();
        assert!(matches!(
            run(&delivered, "Cancelled", None, &[]),
            Verdict::Conflict(_)
        ));
        delivered.shipping_info = None;
        assert!(matches!(
            run(&delivered, "Cancelled", None, &[]),
            Verdict::Apply { moved: true, .. }
        ));
        let packed = order("Ready", "Confirmed", Some("Packed"));
        assert!(matches!(
            run(&packed, "Cancelled", None, &[]),
            Verdict::Apply { moved: true, .. }
        ));
    }

    /// Issue 22 item 5 (fourth bullet): the hold is kept apart from the stage rank. With
    /// Backorder as the on-hold state, a held order is not ranked as backordered, so its
    /// release is no move back; and a late stage still carries its release.
    #[test]
    fn a_release_is_never_lost_to_the_stage_rank() {
        let rules = StatusRules {
            on_hold_shipment_state: ShipmentState::Backorder,
            ..StatusRules::default()
        };
        let held = order("Backorder", "Open", Some("New"));
        assert_eq!(warehouse_stage(&held, &rules), Some(Stage::Received));
        let mapping = rules.resolve("New").unwrap();
        let release = Reported {
            name: "New",
            mapping: &mapping,
            on_hold: Some(false),
            shorts: &[],
            despatched: false,
        };
        let v = plan(
            &held,
            applied_stage(&held, &rules),
            true,
            &release,
            &rules,
            &ours(),
        );
        let Verdict::Apply { actions, .. } = &v else {
            panic!("{v:?}")
        };
        assert_eq!(
            serde_json::to_value(actions).unwrap()[0]["shipmentState"],
            "Ready"
        );

        // Packed and held; a late Picking carries the release: the hold lifts, the stage stays.
        let packed_held = order("Delayed", "Confirmed", Some("Packed"));
        let v = run(&packed_held, "Picking", Some(false), &[]);
        let Verdict::Apply { actions, moved, .. } = &v else {
            panic!("{v:?}")
        };
        assert!(!moved);
        assert_eq!(names(&v), ["changeShipmentState"]);
        assert_eq!(
            serde_json::to_value(actions).unwrap()[0]["shipmentState"],
            "Ready"
        );
        // Without a hold change a late stage is still ignored.
        assert_eq!(
            run(&packed_held, "Picking", Some(true), &[]),
            Verdict::Backward(Stage::Packed)
        );
    }
}
