//! Where an order goes: one Peoplevox sales order has one shipping address, so an order whose
//! units go to several addresses is held, naming how, never flattened onto one of them.
//!
//! [R] = commercetools/commercetools-api-reference, `api-specs/api/types/`:
//! - `cart/ShippingMode.raml`: `Single` (default) or `Multiple`; in Multiple mode the addresses
//!   are in `shipping[]` (`cart/Shipping.raml`: `shippingKey`, `shippingAddress`, `shippingInfo`);
//! - `order/Order.raml`, `itemShippingAddresses?`, and `cart/ItemShippingDetails.raml` /
//!   `ItemShippingTarget.raml`: a line's `shippingDetails.targets` send `quantity` units to the
//!   address with `addressKey`, also in Single mode.

use crate::commercetools::types::{Address, ItemShippingDetails, Order};
use crate::domain::HoldReason;

/// The one address the order ships to, or the reason it has not one.
pub(super) fn single_destination(order: &Order) -> Result<&Address, HoldReason> {
    if order
        .shipping_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("Multiple"))
    {
        let keys: Vec<&str> = order
            .shipping
            .iter()
            .map(|s| s.shipping_key.as_str())
            .collect();
        return Err(HoldReason::invalid(format!(
            "shippingMode Multiple: the order has {} shipping(s) ({}), each with its own address \
             in shipping[]; one Peoplevox order has one address, so it is held rather than sent \
             to one of them",
            keys.len(),
            if keys.is_empty() {
                "none listed".to_string()
            } else {
                keys.join(", ")
            }
        )));
    }
    let main = order
        .shipping_address
        .as_ref()
        .ok_or_else(|| HoldReason::invalid("order has no shippingAddress"))?;
    let elsewhere = units_elsewhere(order, main);
    if !elsewhere.is_empty() {
        return Err(HoldReason::invalid(format!(
            "line items ship to several addresses (itemShippingAddresses): {}; one Peoplevox \
             order has one address, so it is held rather than flattened",
            elsewhere.join("; ")
        )));
    }
    Ok(main)
}

/// Whether two addresses are the same place (their keys and ids aside).
fn same_place(a: &Address, b: &Address) -> bool {
    let unkeyed = |a: &Address| Address {
        key: None,
        ..a.clone()
    };
    unkeyed(a) == unkeyed(b)
}

/// "line li-1 sends 2 unit(s) to `office`" for each target that is not the main address.
fn units_elsewhere(order: &Order, main: &Address) -> Vec<String> {
    let lines = order
        .line_items
        .iter()
        .map(|li| ("line", li.id.as_str(), li.shipping_details.as_ref()))
        .chain(
            order
                .custom_line_items
                .iter()
                .map(|c| ("custom line", c.id.as_str(), c.shipping_details.as_ref())),
        );
    let mut found = Vec::new();
    for (kind, id, details) in lines {
        let Some(ItemShippingDetails { targets, .. }) = details else {
            continue;
        };
        for target in targets.iter().filter(|t| t.quantity > 0) {
            let address = order
                .item_shipping_addresses
                .iter()
                .find(|a| a.key.as_deref() == Some(target.address_key.as_str()));
            match address {
                Some(a) if same_place(a, main) => {}
                Some(_) => found.push(format!(
                    "{kind} {id} sends {} unit(s) to `{}`",
                    target.quantity, target.address_key
                )),
                None => found.push(format!(
                    "{kind} {id} sends {} unit(s) to `{}`, which itemShippingAddresses lacks",
                    target.quantity, target.address_key
                )),
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(json: serde_json::Value) -> Order {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn multiple_shipping_mode_is_held_naming_the_mode_and_the_keys() {
        let o = order(serde_json::json!({
            "id": "o", "version": 1, "shippingMode": "Multiple", "lineItems": [],
            "shipping": [
                {"shippingKey": "home", "shippingAddress": {"country": "GB", "city": "Leeds"}},
                {"shippingKey": "office", "shippingAddress": {"country": "GB", "city": "York"}}
            ]
        }));
        let e = single_destination(&o).unwrap_err().to_string();
        assert!(
            e.starts_with("shippingMode Multiple:") && e.contains("home, office"),
            "{e}"
        );
    }

    #[test]
    fn units_sent_to_another_item_shipping_address_are_held_and_the_main_one_is_fine() {
        let main = serde_json::json!({"country": "GB", "city": "Leeds", "streetName": "A St"});
        let mut same = main.clone();
        same["key"] = "main".into();
        let o = |key: &str| {
            order(serde_json::json!({
                "id": "o", "version": 1, "shippingMode": "Single", "shippingAddress": main,
                "itemShippingAddresses": [same, {"key": "gran", "country": "GB", "city": "York", "streetName": "B Rd"}],
                "lineItems": [{"id": "li-1", "quantity": 3, "variant": {"sku": "S"},
                    "shippingDetails": {"valid": true, "targets": [{"addressKey": key, "quantity": 2}, {"addressKey": "main", "quantity": 1}]}}]
            }))
        };
        assert!(single_destination(&o("main")).is_ok());
        let e = single_destination(&o("gran")).unwrap_err().to_string();
        assert!(
            e.starts_with("line items ship to several addresses (itemShippingAddresses): line li-1 sends 2 unit(s) to `gran`"),
            "{e}"
        );
        let e = single_destination(&o("nowhere")).unwrap_err().to_string();
        assert!(e.contains("which itemShippingAddresses lacks"), "{e}");
    }
}
