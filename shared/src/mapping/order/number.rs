//! The Peoplevox number of an order: its `orderNumber` when that fits Peoplevox, otherwise,
//! as `[orders.numbering]` says, a number derived from the order id, a wait for commercetools
//! to set one, or a hold.
//!
//! `orderNumber` is optional and has no documented length ([R] `types/order/Order.raml`:
//! `orderNumber?: string`), while Peoplevox takes at most 30 characters (Zynk
//! `Peoplevox-Sales-Order-XML.md`: `SalesOrderNumber string(30)`). A derived number is recorded
//! as the syncInfo `externalId` of the export mark, where callbacks find the order again
//! ([`crate::commercetools::CtClient::orders_by_peoplevox_number`]).

use sha2::{Digest, Sha256};

use crate::commercetools::types::Order;
use crate::config::{MissingNumber, OrderNumbering, TooLongNumber};
use crate::domain::ids::SALES_ORDER_NUMBER_MAX;
use crate::domain::{HoldReason, SalesOrderNumber};

/// The chosen number, and a note when it is not the order's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenNumber {
    /// The Peoplevox sales order number.
    pub number: SalesOrderNumber,
    /// Why the number is derived, for the audit entry.
    pub note: Option<String>,
}

/// The number derived from an order id: `prefix` + the first hex digits of SHA-256(id).
pub fn derived_number(
    order_id: &str,
    numbering: &OrderNumbering,
) -> Result<SalesOrderNumber, String> {
    let hash = hex::encode(Sha256::digest(order_id.as_bytes()));
    let digits = numbering.hex_digits().min(hash.len());
    SalesOrderNumber::parse(&format!("{}{}", numbering.prefix, &hash[..digits]))
}

/// The numbers of an order's `count` parts (see [`super::destinations`]): the chosen number
/// when there is one part; otherwise the chosen number with `-1`, `-2`, … appended, or, when
/// that would not fit Peoplevox's 30 characters, a number derived from the order id short
/// enough to take the suffix. Each comes with a note when it is not simply the chosen number.
pub fn part_numbers(
    order: &Order,
    chosen: &ChosenNumber,
    count: usize,
    numbering: &OrderNumbering,
) -> Result<Vec<(SalesOrderNumber, Option<String>)>, String> {
    if count <= 1 {
        return Ok(vec![(chosen.number.clone(), None)]);
    }
    let widest = format!("-{count}").len();
    let own = chosen.number.as_str();
    let (base, derived) = if own.chars().count() + widest <= SALES_ORDER_NUMBER_MAX {
        (own.to_string(), false)
    } else {
        let hash = hex::encode(Sha256::digest(order.id.as_bytes()));
        let room = SALES_ORDER_NUMBER_MAX
            .saturating_sub(widest)
            .saturating_sub(numbering.prefix.chars().count())
            .min(numbering.hex_digits())
            .min(hash.len());
        (format!("{}{}", numbering.prefix, &hash[..room]), true)
    };
    (1..=count)
        .map(|i| {
            let number = SalesOrderNumber::parse(&format!("{base}-{i}"))?;
            let note = derived.then(|| {
                format!(
                    "part numbers derived from the order id: {own} with a part suffix would be \
                     longer than {SALES_ORDER_NUMBER_MAX} characters"
                )
            });
            Ok((number, note))
        })
        .collect()
}

/// The Peoplevox number of `order` under `numbering`.
pub fn choose(order: &Order, numbering: &OrderNumbering) -> Result<ChosenNumber, HoldReason> {
    let derive = |why: String| {
        let number = derived_number(&order.id, numbering)
            .map_err(|e| HoldReason::invalid(format!("deriving an order number: {e}")))?;
        let note = format!("Peoplevox number {number} derived from the order id: {why}");
        Ok(ChosenNumber {
            number,
            note: Some(note),
        })
    };
    match order
        .order_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        None => match numbering.missing {
            MissingNumber::Wait => Err(HoldReason::AwaitingOrderNumber),
            MissingNumber::Derive => derive("the order has no orderNumber".into()),
        },
        Some(own) => match SalesOrderNumber::parse(own) {
            Ok(number) => Ok(ChosenNumber { number, note: None }),
            Err(problem) => match numbering.too_long {
                TooLongNumber::Derive => derive(format!("orderNumber does not fit: {problem}")),
                TooLongNumber::Hold => Err(HoldReason::invalid(format!(
                    "{problem}; orders.numbering.too_long = \"derive\" would export it under a \
                     number derived from the order id"
                ))),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(number: Option<&str>) -> Order {
        Order {
            id: "3f1c2b7e-1d2a-4c55-9a77-8f1a2b3c4d5e".into(),
            order_number: number.map(String::from),
            ..Order::default()
        }
    }

    #[test]
    fn a_number_that_fits_is_used_as_it_is() {
        let chosen = choose(&order(Some("10001")), &OrderNumbering::default()).unwrap();
        assert_eq!((chosen.number.as_str(), chosen.note), ("10001", None));
    }

    #[test]
    fn a_uuid_order_number_gets_a_deterministic_number_of_at_most_30_characters() {
        let uuid = "0b5c1a9e-6f0e-4f7e-9a55-3c2d1e0f9a8b";
        let a = choose(&order(Some(uuid)), &OrderNumbering::default()).unwrap();
        let b = choose(&order(Some(uuid)), &OrderNumbering::default()).unwrap();
        assert_eq!(a, b, "deterministic");
        assert!(a.number.as_str().starts_with("CT-"), "{a:?}");
        assert_eq!(a.number.as_str().len(), 27);
        assert!(a.note.unwrap().contains("longer than 30"));
        let held = OrderNumbering {
            too_long: TooLongNumber::Hold,
            ..OrderNumbering::default()
        };
        let e = choose(&order(Some(uuid)), &held).unwrap_err();
        assert!(e.to_string().contains("longer than 30"), "{e}");
    }

    #[test]
    fn parts_are_numbered_with_a_suffix_within_30_characters() {
        let numbering = OrderNumbering::default();
        let o = order(Some("10001"));
        let chosen = choose(&o, &numbering).unwrap();
        let one = part_numbers(&o, &chosen, 1, &numbering).unwrap();
        assert_eq!(one, [(chosen.number.clone(), None)]);
        let three = part_numbers(&o, &chosen, 3, &numbering).unwrap();
        let numbers: Vec<&str> = three.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(numbers, ["10001-1", "10001-2", "10001-3"]);
        assert!(three.iter().all(|(_, note)| note.is_none()));
        // 29 characters leave no room for "-1": the parts take a shorter derived number.
        let long = order(Some(&"9".repeat(29)));
        let chosen = choose(&long, &numbering).unwrap();
        let parts = part_numbers(&long, &chosen, 12, &numbering).unwrap();
        assert_eq!(parts.len(), 12);
        for (i, (n, note)) in parts.iter().enumerate() {
            assert!(n.as_str().starts_with("CT-"), "{n}");
            assert!(n.as_str().ends_with(&format!("-{}", i + 1)), "{n}");
            assert!(n.as_str().chars().count() <= 30, "{n}");
            assert!(note.as_deref().unwrap().contains("longer than 30"));
        }
        assert_eq!(parts, part_numbers(&long, &chosen, 12, &numbering).unwrap());
    }

    #[test]
    fn a_missing_number_waits_or_is_derived() {
        assert_eq!(
            choose(&order(None), &OrderNumbering::default()),
            Err(HoldReason::AwaitingOrderNumber)
        );
        assert_eq!(
            choose(&order(Some("  ")), &OrderNumbering::default()),
            Err(HoldReason::AwaitingOrderNumber)
        );
        let derive = OrderNumbering {
            missing: MissingNumber::Derive,
            prefix: "SHOP-EU-2026-".into(),
            ..OrderNumbering::default()
        };
        let chosen = choose(&order(None), &derive).unwrap();
        assert_eq!(chosen.number.as_str().chars().count(), 30);
        assert!(chosen.number.as_str().starts_with("SHOP-EU-2026-"));
    }
}
