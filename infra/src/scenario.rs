//! Generated orders and the messages that announce them, shaped like real commercetools
//! payloads (with hostile text in names and addresses on purpose).

use serde_json::{Value, json};

/// The item catalogue Peoplevox knows in generated scenarios.
pub fn catalog(size: usize) -> Vec<String> {
    let mut items: Vec<String> = (1..=size).map(|i| format!("SKU-{i:04}")).collect();
    items.push("SOCK".into());
    items
}

/// A deterministic order id for scenario order `i`.
pub fn order_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A deterministic order number for scenario order `i`.
pub fn order_number(i: usize) -> String {
    format!("D{i:07}")
}

/// Hostile-but-legal text that must survive CSV inside XML.
const STREETS: [&str; 5] = [
    "High St",
    "Rue de l'Église, \"Bât. B\"",
    "=HYPERLINK(\"http://x\") Road",
    "Smith & Sons <Yard>",
    "Line one\nLine two",
];

/// Key of the merchant's own order Type the scenario orders carry (with `giftMessage`).
pub const MERCHANT_ORDER_TYPE: &str = "shop-order";
/// Its id, as the orders reference it.
pub const MERCHANT_ORDER_TYPE_ID: &str = "t-1";

/// The merchant's order Type draft.
pub fn merchant_order_type() -> Value {
    json!({
        "key": MERCHANT_ORDER_TYPE,
        "name": {"en": "Shop order"},
        "resourceTypeIds": ["order"],
        "fieldDefinitions": [{
            "name": "giftMessage", "label": {"en": "Gift message"}, "required": false,
            "type": {"name": "String"}
        }]
    })
}

/// A commercetools order with `lines` lines drawn from `catalog`, its lines supplied from the
/// channel ids `ch-uk-dc` / `ch-eu-dc`.
pub fn order(i: usize, lines: usize, catalog: &[String]) -> Value {
    order_from(i, lines, catalog, |store| format!("ch-{store}-dc"))
}

/// Like [`order`], with the supply channel id of each store (`uk`, `eu`) from `channel_of`.
pub fn order_from(
    i: usize,
    lines: usize,
    catalog: &[String],
    channel_of: impl Fn(&str) -> String,
) -> Value {
    let store = if i.is_multiple_of(2) { "uk" } else { "eu" };
    let channel = channel_of(store);
    let line_items: Vec<Value> = (0..lines)
        .map(|l| {
            let sku = &catalog[(i * 7 + l * 13) % catalog.len()];
            json!({
                "id": format!("li-{i}-{l}"), "productId": format!("p-{l}"),
                "name": {"en": format!("Product {sku}, size \"M\" & more")},
                "variant": {"id": 1, "sku": sku},
                "quantity": 1 + ((i + l) % 3),
                "price": {"value": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 1999, "fractionDigits": 2}},
                "supplyChannel": {"typeId": "channel", "id": channel}
            })
        })
        .collect();
    json!({
        "id": order_id(i), "version": 1, "orderNumber": order_number(i),
        "customerEmail": format!("customer{i}@example.com"),
        "orderState": "Open", "shipmentState": "Pending", "inventoryMode": "ReserveOnOrder",
        "createdAt": now_iso(),
        "store": {"typeId": "store", "key": store},
        "totalPrice": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 1999 * lines as i64, "fractionDigits": 2},
        "lineItems": line_items,
        "shippingAddress": {"firstName": "Jane", "lastName": format!("O'Doe-{i}"), "streetName": STREETS[i % STREETS.len()],
            "streetNumber": (i % 200 + 1).to_string(), "postalCode": "SW1A 1AA", "city": "London", "country": "GB",
            "phone": "+44 20 7946 0000"},
        "shippingInfo": {"shippingMethodName": if i.is_multiple_of(3) { "Next Day" } else { "Standard" },
            "price": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 499, "fractionDigits": 2}},
        "custom": {"type": {"typeId": "type", "id": MERCHANT_ORDER_TYPE_ID}, "fields": {"giftMessage": format!("Happy day #{i}, \"friend\" & co")}}
    })
}

/// Now, as commercetools writes timestamps (orders count as unallocated for a window of days
/// back from now, so generated orders are created now).
fn now_iso() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The OrderCreated Message (Platform format) carrying `order`.
pub fn platform_message(order: &Value, message_id: &str) -> String {
    message_value(order, message_id).to_string()
}

fn message_value(order: &Value, message_id: &str) -> Value {
    json!({
        "notificationType": "Message", "projectKey": "ctpvx-sim", "id": message_id, "version": 1,
        "sequenceNumber": 1, "resource": {"typeId": "order", "id": order["id"]}, "resourceVersion": 1,
        "resourceUserProvidedIdentifiers": {"orderNumber": order["orderNumber"]},
        "type": "OrderCreated", "createdAt": "2026-11-26T09:00:00.000Z", "lastModifiedAt": "2026-11-26T09:00:00.000Z",
        "order": order
    })
}

/// The same Message wrapped in a CloudEvent.
pub fn cloud_event(order: &Value, message_id: &str) -> String {
    let data = message_value(order, message_id);
    json!({
        "specversion": "1.0", "id": message_id, "type": "com.commercetools.order.message.OrderCreated",
        "source": "/ctpvx-sim/orders", "subject": order["id"], "time": "2026-11-26T09:00:00.000Z",
        "sequence": "1", "sequencetype": "Integer", "dataref": format!("/ctpvx-sim/messages/{message_id}"),
        "data": data
    })
    .to_string()
}
