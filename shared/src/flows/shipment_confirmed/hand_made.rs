//! Deliveries made by hand: a person in the Merchant Center ships part of an order themselves,
//! or records a delivery before the warehouse's despatch comes in. ctpvx's own deliveries carry
//! the key `pvx-<despatch>` ([`super::deliveries::delivery_key`]); any other delivery is a
//! person's.
//!
//! A person's delivery never makes a Peoplevox despatch unbookable. The despatch is the fact
//! about what physically left, with its tracking numbers, so it is booked; the units that both
//! it and a person's delivery claim (the overlap) are left to a person to sort out. What a
//! despatch may take at most is bounded by ctpvx's own deliveries alone, so a despatch of more
//! units than the order has (counting despatches only) is still refused.
//!
//! The despatch's delivery carries all its units, the overlap included, rather than only the
//! units still open: commercetools checks a delivery's items against the order's line ids and
//! a quantity ≥ 0, not the sum of deliveries against the ordered quantity (API facts,
//! `addDelivery`: "The API does not check cumulative quantities against the ordered
//! quantities"; the simulator's `delivery_items` checks the same). So the order keeps what the
//! warehouse shipped, and the person who settles the overlap sees both claims whole.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::mapping::pack_split::{self, Open};

/// The prefix of every key [`super::deliveries::delivery_key`] makes.
const OUR_KEY_PREFIX: &str = "pvx-";

/// Whether ctpvx made `delivery` (from a Peoplevox despatch), by its key.
pub(super) fn is_ours(delivery: &Value) -> bool {
    delivery
        .get("key")
        .and_then(Value::as_str)
        .is_some_and(|key| key.starts_with(OUR_KEY_PREFIX))
}

/// Units delivered per line item: by every delivery, and by ctpvx's own deliveries alone.
#[derive(Debug, Default, Clone)]
pub(super) struct Delivered {
    /// Every delivery's units (a person's and ctpvx's).
    pub all: BTreeMap<String, i64>,
    /// The units of ctpvx's own deliveries.
    pub ours: BTreeMap<String, i64>,
}

impl Delivered {
    /// Counts the items of one delivery of the order.
    pub fn count(&mut self, delivery: &Value) {
        let ours = is_ours(delivery);
        for item in delivery["items"].as_array().into_iter().flatten() {
            if let (Some(id), Some(units)) = (item["id"].as_str(), item["quantity"].as_i64()) {
                *self.all.entry(id.to_string()).or_insert(0) += units;
                if ours {
                    *self.ours.entry(id.to_string()).or_insert(0) += units;
                }
            }
        }
    }

    /// Counts units a despatch of this plan takes (a delivery of ours).
    pub fn add(&mut self, line: &str, units: i64) {
        *self.all.entry(line.to_string()).or_insert(0) += units;
        *self.ours.entry(line.to_string()).or_insert(0) += units;
    }

    /// Units of `line` delivered by every delivery.
    pub fn all_of(&self, line: &str) -> i64 {
        self.all.get(line).copied().unwrap_or(0)
    }

    /// Units of `line` delivered by ctpvx's deliveries.
    pub fn ours_of(&self, line: &str) -> i64 {
        self.ours.get(line).copied().unwrap_or(0)
    }
}

/// What one line may still take: open counting every delivery, and open counting only ctpvx's
/// (never less: ctpvx's deliveries are some of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Room {
    /// Open units, every delivery counted.
    pub all: Open,
    /// Open units, only ctpvx's deliveries counted: the most a despatch may take.
    pub ours: Open,
}

/// How a despatch's units of one item go over its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    /// Units (of each line's own, packs as packs) each line takes.
    pub takes: Vec<i64>,
    /// Of those, the units a person's delivery had delivered already: the overlap.
    pub overlap: Vec<i64>,
}

/// Splits `units` over the lines: where it can, over units nobody has delivered (no overlap);
/// else as many as possible over those and the rest over units delivered by hand; `None` only
/// when even ctpvx's own deliveries leave no exact split (the despatch is refused).
pub(super) fn split(units: i64, rooms: &[Room]) -> Option<Split> {
    let all: Vec<Open> = rooms.iter().map(|r| r.all).collect();
    let ours: Vec<Open> = rooms.iter().map(|r| r.ours).collect();
    let takes = pack_split::exact(units, &all)
        .or_else(|| {
            // Cover what units nobody delivered yet can take, then place the rest over the
            // units a person delivered: the overlap is as small as packs allow.
            let (first, left) = pack_split::most(units, &all);
            let rest: Vec<Open> = ours
                .iter()
                .zip(&first)
                .map(|(open, taken)| Open {
                    units: open.units - taken,
                    factor: open.factor,
                })
                .collect();
            let second = pack_split::exact(left, &rest)?;
            Some(first.iter().zip(second).map(|(a, b)| a + b).collect())
        })
        // Packs that split only over the whole room (the two steps above can miss it).
        .or_else(|| pack_split::exact(units, &ours))?;
    let overlap = takes
        .iter()
        .zip(rooms)
        .map(|(take, room)| (take - room.all.units.max(0)).max(0))
        .collect();
    Some(Split { takes, overlap })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn room(all: i64, ours: i64, factor: u32) -> Room {
        Room {
            all: Open { units: all, factor },
            ours: Open {
                units: ours,
                factor,
            },
        }
    }

    #[test]
    fn our_deliveries_are_known_by_their_key() {
        assert!(is_ours(&json!({"key": "pvx-D1"})));
        assert!(!is_ours(&json!({"key": "hand-1"})));
        assert!(!is_ours(&json!({"id": "d"})));
    }

    #[test]
    fn a_person_s_delivery_counts_in_all_only() {
        let mut d = Delivered::default();
        d.count(&json!({"key": "pvx-D1", "items": [{"id": "l1", "quantity": 1}]}));
        d.count(&json!({"items": [{"id": "l1", "quantity": 2}, {"id": "l2", "quantity": 1}]}));
        assert_eq!((d.all_of("l1"), d.ours_of("l1")), (3, 1));
        assert_eq!((d.all_of("l2"), d.ours_of("l2")), (1, 0));
        d.add("l2", 1);
        assert_eq!((d.all_of("l2"), d.ours_of("l2")), (2, 1));
    }

    #[test]
    fn units_nobody_delivered_are_taken_first() {
        // l1: 2 ordered, both delivered by hand; l2: 2 ordered, open.
        let rooms = [room(0, 2, 1), room(2, 2, 1)];
        let s = split(2, &rooms).unwrap();
        assert_eq!((s.takes, s.overlap), (vec![0, 2], vec![0, 0]));
        let s = split(3, &rooms).unwrap();
        assert_eq!((s.takes, s.overlap), (vec![1, 2], vec![1, 0]));
    }

    #[test]
    fn packs_split_over_hand_delivered_units_when_they_must() {
        // A 3-pack line delivered by hand, a single-unit line with 1 open.
        let rooms = [room(0, 1, 3), room(1, 1, 1)];
        let s = split(4, &rooms).unwrap();
        assert_eq!((s.takes, s.overlap), (vec![1, 1], vec![1, 0]));
    }

    #[test]
    fn more_than_our_own_deliveries_leave_is_refused() {
        assert_eq!(split(3, &[room(0, 2, 1)]), None);
    }
}
