use super::*;
use crate::commercetools::message::{Parsed, parse};
use crate::config::{RoutingRule, UnitOfMeasure};
use crate::mapping::SalesOrderLayout;

fn fixture_order() -> Order {
    match parse(include_bytes!("../../../fixtures/order-created.json")).unwrap() {
        Parsed::OrderCreated(event) => event.order.unwrap(),
        other => panic!("fixture not read as an order: {other:?}"),
    }
}

/// The one sales order of an order that ships to one address.
fn map_one(order: &Order, rules: &OrderRules) -> Result<SalesOrder, HoldReason> {
    map_order(order, rules).map(|mut parts| {
        assert_eq!(parts.len(), 1, "{parts:?}");
        parts.remove(0)
    })
}

fn rules() -> OrderRules {
    let mut rules = OrderRules::default();
    rules.routing.push(RoutingRule {
        store: Some("uk".into()),
        supply_channel: None,
        country: None,
        site: "UK-DC".into(),
    });
    rules
        .shipping_methods
        .insert("Next Day".into(), "NEXTDAY".into());
    rules.units_of_measure.insert(
        "SOCK-3PK".into(),
        UnitOfMeasure {
            item_code: Some("SOCK".into()),
            factor: 3,
        },
    );
    rules
        .custom_fields
        .insert("giftMessage".into(), "Notes".into());
    rules
}

#[test]
fn maps_header_lines_and_metadata() {
    let so = map_one(&fixture_order(), &rules()).unwrap();
    assert_eq!(so.number.as_str(), "10001");
    assert_eq!(so.site, "UK-DC");
    assert_eq!(so.field("ShippingAddressLine1"), Some("1 High St"));
    assert_eq!(so.field("ShippingAddressLine2"), Some("Flat 2"));
    assert_eq!(
        so.field("InvoiceAddressCity"),
        Some("London"),
        "billing falls back to shipping"
    );
    assert_eq!(so.field("ServiceType"), Some("NEXTDAY"));
    assert_eq!(so.field("TotalSale"), Some("54.97"));
    assert_eq!(so.field("ShippingCost"), Some("5.99"));
    assert_eq!(so.field("ChannelName"), Some("uk"));
    assert_eq!(so.field("CreatedDate"), Some("2026-08-30 09:00:00"));
    assert_eq!(so.field("Email"), Some("jane@example.com"));
    assert_eq!(
        so.custom_fields,
        vec![(
            "Notes".to_string(),
            "Happy birthday, \"Sam\"! Love, J & K".to_string()
        )]
    );
    assert_eq!(so.lines.len(), 2);
    assert_eq!(
        (so.lines[1].item_code.as_str(), so.lines[1].quantity.get()),
        ("SOCK", 3)
    );
    assert_eq!(
        so.lines[1].sale_price.as_deref(),
        Some("3.00"),
        "pack price spread over units"
    );
    assert_eq!(so.lines[0].line, 1);
}

#[test]
fn holds_name_the_problem() {
    let rules = rules();
    let mut o = fixture_order();
    o.order_number = None;
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("orderNumber")
    );

    let mut o = fixture_order();
    o.line_items[0].quantity = 0;
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("li-1")
    );

    let mut o = fixture_order();
    o.shipping_address.as_mut().unwrap().city = None;
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("shippingAddress.city")
    );

    let mut o = fixture_order();
    o.shipping_info.as_mut().unwrap().shipping_method_name = Some("Teleport".into());
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("Teleport")
    );

    let mut o = fixture_order();
    o.line_items[1].supply_channel.as_mut().unwrap().id = Some("ch-other".into());
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("supply channels")
    );

    let mut o = fixture_order();
    o.shipping_address.as_mut().unwrap().street_name = Some("x".repeat(120));
    assert!(
        map_one(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("longer than 100")
    );
}

#[test]
fn routing_falls_back_to_default_site() {
    let mut o = fixture_order();
    o.store = None;
    assert_eq!(map_one(&o, &rules()).unwrap().site, "PrimarySite");
    let mut no_default = rules();
    no_default.default_site = None;
    assert!(
        map_one(&o, &no_default)
            .unwrap_err()
            .to_string()
            .contains("default_site")
    );
}

#[test]
fn csv_quotes_and_neutralises_hostile_text() {
    let mut o = fixture_order();
    let a = o.shipping_address.as_mut().unwrap();
    a.street_name = Some("=cmd|' /C calc'!A0, \"quoted\"\r\nnext".into());
    let so = map_one(&o, &rules()).unwrap();
    let config =
        crate::config::Config::from_toml(include_str!("../../../fixtures/config-test.toml"))
            .unwrap();
    let layout = SalesOrderLayout::standard(&config.peoplevox, &["Notes".to_string()]).unwrap();
    let tables = layout.tables(&[so]);
    let csv = tables.orders.to_csv();
    let back = crate::peoplevox::csv_table::CsvTable::parse(&csv).unwrap();
    assert_eq!(
        back.rows.len(),
        1,
        "one order is one row, whatever the text: {csv}"
    );
    let line1 = back.value(&back.rows[0], "ShippingAddressLine1").unwrap();
    assert_eq!(line1, "1 =cmd|' /C calc'!A0, \"quoted\" next");
    assert!(
        back.value(&back.rows[0], "Notes")
            .unwrap()
            .contains("\"Sam\"")
    );
    assert_eq!(tables.items.rows.len(), 2);
}

#[test]
fn layout_checks_tenant_header() {
    let config =
        crate::config::Config::from_toml(include_str!("../../../fixtures/config-test.toml"))
            .unwrap();
    let orders: Vec<String> = [
        "SalesOrderNumber",
        "ShipTo1",
        "ShippingAddressCity",
        "ShippingAddressCountry",
        "ServiceType",
    ]
    .map(String::from)
    .to_vec();
    let items: Vec<String> = ["SalesOrderNumber", "ItemCode", "QuantityOrdered", "Line"]
        .map(String::from)
        .to_vec();
    let e = SalesOrderLayout::from_headers(&config.peoplevox, orders.clone(), items.clone(), &[])
        .unwrap_err();
    assert!(e.contains("ShippingAddressLine1"), "{e}");
    let mut renamed = config.peoplevox.clone();
    renamed
        .field_names
        .entry("Sales orders".into())
        .or_default()
        .insert("ShippingAddressLine1".into(), "ShipTo1".into());
    let layout = SalesOrderLayout::from_headers(&renamed, orders, items, &[]).unwrap();
    let so = map_one(&fixture_order(), &rules()).unwrap();
    let t = layout.tables(&[so]);
    assert_eq!(
        t.orders.value(&t.orders.rows[0], "ShipTo1"),
        Some("1 High St")
    );
    assert!(layout.unused_fields.contains(&"Email".to_string()));
}

#[test]
fn customer_is_never_longer_than_50_characters() {
    let mut o = fixture_order();
    o.customer_email = Some(format!("{}@example.com", "a".repeat(488)));
    let so = map_one(&o, &rules()).unwrap();
    assert_eq!(so.field("Customer"), Some("Jane Doe"), "the contact name");
    assert_eq!(
        so.field("Email").map(str::len),
        Some(500),
        "the e-mail stays whole"
    );
    let a = o.shipping_address.as_mut().unwrap();
    a.first_name = Some("Maximiliane Josephine Theresia Aurelia".into());
    a.last_name = Some("von und zu Hohenberg-Liechtenstein".into());
    let so = map_one(&o, &rules()).unwrap();
    let customer = so.field("Customer").unwrap();
    assert!(customer.chars().count() <= 50, "{customer}");
    assert_eq!(
        customer,
        "Maximiliane Josephine Theresia Aurelia von und zu"
    );
    assert!(
        so.notes[0].starts_with("Customer (the contact name"),
        "{:?}",
        so.notes
    );
    assert_eq!(
        so.field("ContactName"),
        Some("Maximiliane Josephine Theresia Aurelia von und zu Hohenberg-Liechtenstein")
    );
    o.customer_email = Some(format!("{}@example.com", "a".repeat(489)));
    let e = map_one(&o, &rules()).unwrap_err().to_string();
    assert!(e.contains("customerEmail is longer than 500"), "{e}");
}

#[test]
fn the_delivery_note_goes_whole_to_its_field_joined_with_custom_fields() {
    let mut o = fixture_order();
    let note = "Leave with the concierge; the side gate code is 4471. ".repeat(6);
    o.shipping_address.as_mut().unwrap().additional_address_info = Some(note.clone());
    let so = map_one(&o, &rules()).unwrap();
    let expected = format!("{} | Happy birthday, \"Sam\"! Love, J & K", note.trim());
    assert_eq!(so.custom_fields, vec![("Notes".to_string(), expected)]);
    assert!(so.notes.is_empty(), "{:?}", so.notes);

    let mut capped = rules();
    capped.delivery_note_max_chars = Some(120);
    let so = map_one(&o, &capped).unwrap();
    assert_eq!(so.custom_fields[0].1.chars().count(), 120);
    assert!(
        so.notes[0].starts_with("Notes cut to 120 of"),
        "{:?}",
        so.notes
    );

    let mut off = rules();
    off.delivery_note_field = String::new();
    let so = map_one(&o, &off).unwrap();
    assert!(
        so.notes[0].contains("orders.delivery_note_field is empty"),
        "{:?}",
        so.notes
    );

    // A template without the field: the value is noted, not sent.
    let config =
        crate::config::Config::from_toml(include_str!("../../../fixtures/config-test.toml"))
            .unwrap();
    let zynk_standard: Vec<String> = crate::mapping::sales_order_csv::DEFAULT_SALES_ORDER_FIELDS
        .iter()
        .filter(|f| **f != "Notes")
        .map(|f| f.to_string())
        .collect();
    let items = crate::mapping::sales_order_csv::DEFAULT_SALES_ORDER_ITEM_FIELDS
        .iter()
        .map(|f| f.to_string())
        .collect();
    let layout =
        SalesOrderLayout::from_headers(&config.peoplevox, zynk_standard, items, &[]).unwrap();
    let mut so = map_one(&o, &rules()).unwrap();
    layout.fit(&mut so);
    assert!(so.custom_fields.is_empty());
    assert!(
        so.notes[0]
            .contains("not sent: the tenant's \"Sales orders\" template has no field `Notes`"),
        "{:?}",
        so.notes
    );
}

#[test]
fn channel_names_and_item_codes_are_checked_against_their_50_characters() {
    let mut o = fixture_order();
    o.store.as_mut().unwrap().key = Some("k".repeat(60));
    let mut r = rules();
    r.routing.clear();
    let so = map_one(&o, &r).unwrap();
    assert_eq!(so.field("ChannelName").map(str::len), Some(50));
    assert!(
        so.notes[0].starts_with("ChannelName (the store key) cut to 50"),
        "{:?}",
        so.notes
    );

    let mut o = fixture_order();
    o.line_items[0].variant.sku = Some("S".repeat(51));
    let e = map_one(&o, &rules()).unwrap_err().to_string();
    assert!(
        e.contains("ItemCode") && e.contains("longer than 50"),
        "{e}"
    );
}

#[test]
fn custom_line_items_are_exported_under_their_code_or_held_without_one() {
    let mut o = fixture_order();
    o.custom_line_items = serde_json::from_value(serde_json::json!([
        {"id": "cli-1", "slug": "gift-wrap", "name": {"en": "Gift wrap"}, "quantity": 2,
         "money": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 250, "fractionDigits": 2},
         "totalPrice": {"type": "centPrecision", "currencyCode": "GBP", "centAmount": 500, "fractionDigits": 2}}
    ]))
    .unwrap();
    let so = map_one(&o, &rules()).unwrap();
    assert_eq!(so.lines.len(), 2, "left out by default");
    assert!(
        so.notes[0].contains("`gift-wrap` (Gift wrap) ×2, 5.00 GBP left out"),
        "{:?}",
        so.notes
    );

    let mut export = rules();
    export.custom_line_items = crate::config::CustomLineItems::Export;
    let e = map_one(&o, &export).unwrap_err().to_string();
    assert!(
        e.contains("custom line item `gift-wrap` has no item code"),
        "{e}"
    );
    export
        .custom_line_item_codes
        .insert("gift-wrap".into(), "WRAP".into());
    let so = map_one(&o, &export).unwrap();
    let last = so.lines.last().unwrap();
    assert_eq!(
        (
            last.line,
            last.item_code.as_str(),
            last.quantity.get(),
            last.sale_price.as_deref()
        ),
        (3, "WRAP", 2, Some("2.50"))
    );
    assert_eq!(last.ct_line_item_id, "cli-1");

    o.line_items.clear();
    let e = map_one(&o, &rules()).unwrap_err().to_string();
    assert!(
        e.starts_with("order holds only custom line items (`gift-wrap`"),
        "{e}"
    );
    assert!(map_one(&o, &export).is_ok(), "exported, they are lines");
}

#[test]
fn a_missing_number_waits_for_the_sweep_after_every_other_check() {
    let mut o = fixture_order();
    o.order_number = None;
    assert_eq!(map_one(&o, &rules()), Err(HoldReason::AwaitingOrderNumber));
    o.shipping_address.as_mut().unwrap().city = None;
    let e = map_one(&o, &rules()).unwrap_err();
    assert!(e.to_string().contains("shippingAddress.city"), "{e}");
}

#[test]
fn the_parts_of_a_split_order_add_up_to_what_the_customer_pays() {
    let eur = |cents: i64| serde_json::json!({"currencyCode": "EUR", "centAmount": cents, "fractionDigits": 2});
    let shipping = |key: &str, city: &str, method: &str, cents: i64| {
        serde_json::json!({"shippingKey": key,
            "shippingAddress": {"key": key, "country": "DE", "city": city, "streetName": "A Str."},
            "shippingInfo": {"shippingMethodName": method, "price": eur(cents)}})
    };
    let target = |key: &str, n: i64| serde_json::json!({"addressKey": key, "quantity": n, "shippingMethodKey": key});
    let order: Order = serde_json::from_value(serde_json::json!({
        "id": "o-split", "version": 1, "orderNumber": "S1", "shippingMode": "Multiple",
        "shipping": [shipping("home", "Berlin", "Next Day", 499), shipping("office", "Bonn", "Next Day", 799)],
        "lineItems": [
            {"id": "li-1", "quantity": 3, "variant": {"sku": "A"}, "totalPrice": eur(3000),
             "shippingDetails": {"valid": true, "targets": [target("home", 1), target("office", 2)]}},
        ],
        "customLineItems": [{"id": "c-1", "slug": "gift-wrap", "quantity": 1, "totalPrice": eur(300),
             "shippingDetails": {"valid": true, "targets": [target("office", 1)]}}],
        "totalPrice": eur(3000 + 300 + 499 + 799 - 300),
        "discountOnTotalPrice": {"discountedAmount": eur(300)},
    }))
    .unwrap();
    let totals = |rules: &OrderRules| -> Vec<(String, String)> {
        map_order(&order, rules)
            .unwrap()
            .iter()
            .map(|so| {
                (
                    so.field("TotalSale").unwrap_or("").to_string(),
                    so.field("Discount").unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    // Lines 10.00 and 20.00: the 3.00 discount goes 1.00 and 2.00.
    assert_eq!(
        totals(&rules()),
        [
            ("13.99".into(), "1.00".into()),
            ("25.99".into(), "2.00".into())
        ]
    );
    // Exported, the gift wrap is part 2's: 10.00 : 23.00 shares 3.00 as 0.91 and 2.09.
    let mut export = rules();
    export.custom_line_items = crate::config::CustomLineItems::Export;
    export.custom_line_item_code = Some("WRAP".into());
    let t = totals(&export);
    assert_eq!(
        t,
        [
            ("14.08".into(), "0.91".into()),
            ("28.90".into(), "2.09".into())
        ]
    );
    let sum: f64 = t
        .iter()
        .map(|(total, _)| total.parse::<f64>().unwrap())
        .sum();
    assert!(
        (sum - 42.98).abs() < 1e-9,
        "{sum}: the parts add up to the order's 42.98"
    );
}
