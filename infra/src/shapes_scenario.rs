//! Orders shaped as the commercetools API reference documents them, which the storefront
//! scenario never makes: high-precision and discounted prices with a discounted shipping, custom
//! line items, an order without a number, a UUID order number, an OrderImported message, a
//! message whose order is empty, Multiple shipping and a long UK address with a long e-mail.
//! The reference's examples show none of these shapes, so they are composed from its types
//! (commercetools/commercetools-api-reference `api-specs/api/types/`: `common/
//! HighPrecisionMoney.raml`, `cart/LineItem.raml`, `cart/DiscountedLineItemPriceForQuantity.raml`,
//! `cart/ShippingInfo.raml`, `cart/CustomLineItem.raml`, `cart/Shipping.raml`,
//! `cart/ItemShippingDetails.raml`, `order/Order.raml`, `message/OrderImportedMessage.raml`).

use serde_json::{Value, json};

/// Which shape an order has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// A high-precision price, a cart discount spread per unit, a shipping discounted to 0.
    Discounted,
    /// A fee and a gift wrap as custom line items beside a product line.
    CustomLines,
    /// No `orderNumber` (none of the reference's example orders has one); numbered later.
    Unnumbered,
    /// A 36-character UUID `orderNumber`, longer than Peoplevox's 30.
    UuidNumber,
    /// Announced by an `OrderImported` message.
    Imported,
    /// An `OrderCreated` message whose `order` is `{}`.
    EmptyOrderMessage,
    /// `shippingMode: Multiple`: two shippings, the lines split between them by targets.
    MultipleShipping,
    /// A company, building, flat, a long delivery note and an e-mail of over 50 characters.
    LongUkAddress,
}

/// Every shape, in the order the demo places them.
pub const SHAPES: [Shape; 8] = [
    Shape::Discounted,
    Shape::CustomLines,
    Shape::Unnumbered,
    Shape::UuidNumber,
    Shape::Imported,
    Shape::EmptyOrderMessage,
    Shape::MultipleShipping,
    Shape::LongUkAddress,
];

/// One order of a shape and the body that announces it.
#[derive(Debug, Clone)]
pub struct ShapeOrder {
    /// Its shape.
    pub shape: Shape,
    /// The order as commercetools holds it.
    pub order: Value,
    /// The body posted to the orders webhook.
    pub message: String,
}

/// The order id of shape order `n`.
pub fn order_id(n: usize) -> String {
    format!("5ba9e0c2-7d1f-4e3a-9c44-{n:012}")
}

fn gbp(cents: i64) -> Value {
    json!({"type": "centPrecision", "currencyCode": "GBP", "centAmount": cents, "fractionDigits": 2})
}

fn line(id: &str, sku: &str, quantity: i64, unit_cents: i64) -> Value {
    json!({
        "id": id, "productId": format!("p-{sku}"), "name": {"en": format!("Product {sku}")},
        "productType": {"typeId": "product-type", "id": "pt-1"},
        "variant": {"id": 1, "sku": sku},
        "price": {"id": format!("price-{id}"), "value": gbp(unit_cents)},
        "quantity": quantity,
        "discountedPricePerQuantity": [],
        "taxedPricePortions": [], "state": [], "perMethodTaxRate": [],
        "priceMode": "Platform", "lineItemMode": "Standard",
        "totalPrice": gbp(unit_cents * quantity),
    })
}

fn address(key: Option<&str>, postcode: &str, street: &str) -> Value {
    let mut a = json!({
        "firstName": "Alex", "lastName": "Shopper", "streetName": street, "streetNumber": "12",
        "postalCode": postcode, "city": "London", "country": "GB",
    });
    if let Some(key) = key {
        a["key"] = key.into();
    }
    a
}

fn shipping_info(method: &str, cents: i64) -> Value {
    json!({
        "shippingMethodName": method, "price": gbp(cents),
        "shippingRate": {"price": gbp(cents), "tiers": []},
        "shippingMethodState": "MatchesCart", "deliveries": [],
    })
}

/// A base order: one product line per `(sku, quantity)` at £10.00, Single mode.
fn base(n: usize, number: Option<String>, lines: &[(&str, i64)]) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (sku, q))| line(&format!("sli-{n}-{i}"), sku, *q, 1000))
        .collect();
    let total: i64 = lines.iter().map(|(_, q)| q * 1000).sum::<i64>() + 499;
    let mut order = json!({
        "id": order_id(n), "version": 1,
        "customerEmail": format!("shape{n}@example.com"),
        "orderState": "Open", "shipmentState": "Pending", "inventoryMode": "None",
        "shippingMode": "Single", "shipping": [], "itemShippingAddresses": [],
        "store": {"typeId": "store", "key": "uk"},
        "totalPrice": gbp(total),
        "lineItems": items, "customLineItems": [],
        "shippingAddress": address(None, "SW1A 1AA", "Downing Street"),
        "shippingInfo": shipping_info("Standard", 499),
        "syncInfo": [], "returnInfo": [],
    });
    if let Some(number) = number {
        order["orderNumber"] = number.into();
    }
    order
}

/// The shape orders, numbered from `first` (ids and numbers do not collide with the
/// storefront's), with items drawn from `catalog` (at least two codes Peoplevox knows).
pub fn orders(first: usize, catalog: &[String]) -> Vec<ShapeOrder> {
    let (a, b) = (catalog[0].as_str(), catalog[1].as_str());
    SHAPES
        .iter()
        .enumerate()
        .map(|(i, shape)| {
            let n = first + i;
            let number = Some(format!("S{n:07}"));
            let mut order = base(n, number, &[(a, 2), (b, 1)]);
            let mut message_type = "OrderCreated";
            let mut empty_order = false;
            match shape {
                Shape::Discounted => {
                    // £19.995 per unit at 4 digits (centAmount half-even: 2000), a cart discount
                    // to £18.00 per unit on 2 units; the shipping discounted to £0.00.
                    let l = &mut order["lineItems"][0];
                    l["price"]["value"] = json!({"type": "highPrecision", "currencyCode": "GBP",
                        "centAmount": 2000, "preciseAmount": 199950, "fractionDigits": 4});
                    l["discountedPricePerQuantity"] = json!([{"quantity": 2, "discountedPrice": {
                        "value": gbp(1800),
                        "includedDiscounts": [{"discount": {"typeId": "cart-discount", "id": "cd-1"},
                            "discountedAmount": gbp(200)}]}}]);
                    l["totalPrice"] = gbp(3600);
                    order["shippingInfo"]["discountedPrice"] = json!({"value": gbp(0),
                        "includedDiscounts": [{"discount": {"typeId": "cart-discount", "id": "cd-2"},
                            "discountedAmount": gbp(499)}]});
                    order["totalPrice"] = gbp(3600 + 1000);
                }
                Shape::CustomLines => {
                    order["customLineItems"] = json!([
                        {"id": format!("cli-{n}-0"), "name": {"en": "Gift wrap"}, "slug": "gift-wrap",
                         "money": gbp(250), "totalPrice": gbp(250), "quantity": 1,
                         "discountedPricePerQuantity": [], "taxedPricePortions": [], "state": [],
                         "perMethodTaxRate": [], "priceMode": "Standard"},
                        {"id": format!("cli-{n}-1"), "name": {"en": "Small order fee"}, "slug": "small-order-fee",
                         "money": gbp(150), "totalPrice": gbp(150), "quantity": 1,
                         "discountedPricePerQuantity": [], "taxedPricePortions": [], "state": [],
                         "perMethodTaxRate": [], "priceMode": "Standard"}
                    ]);
                    order["totalPrice"] = gbp(3000 + 499 + 400);
                }
                Shape::Unnumbered => {
                    if let Some(o) = order.as_object_mut() {
                        o.remove("orderNumber");
                    }
                }
                Shape::UuidNumber => {
                    order["orderNumber"] = order_id(n + 1_000).into();
                }
                Shape::Imported => message_type = "OrderImported",
                Shape::EmptyOrderMessage => empty_order = true,
                Shape::MultipleShipping => {
                    // Two of `a` and one of `b`: one `a` to home, the rest to the office.
                    order["shippingMode"] = "Multiple".into();
                    if let Some(o) = order.as_object_mut() {
                        o.remove("shippingInfo");
                        o.remove("shippingAddress");
                    }
                    order["shipping"] = json!([
                        {"shippingKey": "home", "shippingInfo": shipping_info("Standard", 499),
                         "shippingAddress": address(Some("home"), "SW1A 1AA", "Downing Street")},
                        {"shippingKey": "office", "shippingInfo": shipping_info("Next Day", 699),
                         "shippingAddress": address(Some("office"), "EC2N 2DB", "Threadneedle Street")}
                    ]);
                    order["itemShippingAddresses"] = json!([
                        address(Some("home"), "SW1A 1AA", "Downing Street"),
                        address(Some("office"), "EC2N 2DB", "Threadneedle Street")
                    ]);
                    order["lineItems"][0]["shippingDetails"] = json!({"valid": true, "targets": [
                        {"addressKey": "home", "quantity": 1, "shippingMethodKey": "home"},
                        {"addressKey": "office", "quantity": 1, "shippingMethodKey": "office"}]});
                    order["lineItems"][1]["shippingDetails"] = json!({"valid": true, "targets": [
                        {"addressKey": "office", "quantity": 1, "shippingMethodKey": "office"}]});
                    order["totalPrice"] = gbp(3000 + 499 + 699);
                }
                Shape::LongUkAddress => {
                    order["customerEmail"] =
                        format!("alexandra.montgomery-fairweather.shape{n}@customer-mail.example.co.uk")
                            .into();
                    order["shippingAddress"] = json!({
                        "firstName": "Alexandra", "lastName": "Montgomery-Fairweather",
                        "company": "Fairweather & Montgomery Architectural Salvage Holdings Ltd",
                        "building": "Riverside Wharf Warehouse Conversion (North Block)",
                        "apartment": "Flat 14B, Third Floor",
                        "streetNumber": "221", "streetName": "Shad Thames",
                        "additionalStreetInfo": "Entrance via the service yard off Gainsford Street",
                        "postalCode": "SE1 2YB", "city": "London", "country": "GB",
                        "phone": "+44 20 7946 0018",
                        "additionalAddressInfo": "If nobody answers, please leave the parcel with the concierge at the main reception desk, never outside the door: parcels left outside have been stolen twice this month.",
                    });
                }
            }
            let message = message(&order, &format!("shape-m-{n}"), message_type, empty_order);
            ShapeOrder {
                shape: *shape,
                order,
                message,
            }
        })
        .collect()
}

/// A Platform-format Message of `message_type` carrying `order` (or `{}`).
fn message(order: &Value, id: &str, message_type: &str, empty_order: bool) -> String {
    let mut identifiers = json!({});
    if let Some(number) = order.get("orderNumber") {
        identifiers["orderNumber"] = number.clone();
    }
    json!({
        "notificationType": "Message", "projectKey": "ctpvx-sim", "id": id, "version": 1,
        "sequenceNumber": 1, "resource": {"typeId": "order", "id": order["id"]}, "resourceVersion": 1,
        "resourceUserProvidedIdentifiers": identifiers,
        "type": message_type, "createdAt": "2026-11-26T09:00:00.000Z",
        "lastModifiedAt": "2026-11-26T09:00:00.000Z",
        "order": if empty_order { json!({}) } else { order.clone() },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_is_made_once_with_its_own_id() {
        let catalog = vec!["A".to_string(), "B".to_string()];
        let made = orders(900, &catalog);
        assert_eq!(made.len(), SHAPES.len());
        let mut ids: Vec<&str> = made
            .iter()
            .map(|s| s.order["id"].as_str().unwrap())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), SHAPES.len());
        let unnumbered = &made[2];
        assert_eq!(unnumbered.shape, Shape::Unnumbered);
        assert!(unnumbered.order.get("orderNumber").is_none());
        assert!(made[3].order["orderNumber"].as_str().unwrap().len() > 30);
        let empty: Value = serde_json::from_str(&made[5].message).unwrap();
        assert_eq!(empty["order"], json!({}));
        let imported: Value = serde_json::from_str(&made[4].message).unwrap();
        assert_eq!(imported["type"], "OrderImported");
    }
}
