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
    let so = map_order(&fixture_order(), &rules()).unwrap();
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
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("orderNumber")
    );

    let mut o = fixture_order();
    o.line_items[0].quantity = 0;
    assert!(
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("li-1")
    );

    let mut o = fixture_order();
    o.shipping_address.as_mut().unwrap().city = None;
    assert!(
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("shippingAddress.city")
    );

    let mut o = fixture_order();
    o.shipping_info.as_mut().unwrap().shipping_method_name = Some("Teleport".into());
    assert!(
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("Teleport")
    );

    let mut o = fixture_order();
    o.line_items[1].supply_channel.as_mut().unwrap().id = Some("ch-other".into());
    assert!(
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("supply channels")
    );

    let mut o = fixture_order();
    o.shipping_address.as_mut().unwrap().street_name = Some("x".repeat(120));
    assert!(
        map_order(&o, &rules)
            .unwrap_err()
            .to_string()
            .contains("longer than 100")
    );
}

#[test]
fn routing_falls_back_to_default_site() {
    let mut o = fixture_order();
    o.store = None;
    assert_eq!(map_order(&o, &rules()).unwrap().site, "PrimarySite");
    let mut no_default = rules();
    no_default.default_site = None;
    assert!(
        map_order(&o, &no_default)
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
    let so = map_order(&o, &rules()).unwrap();
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
    let so = map_order(&fixture_order(), &rules()).unwrap();
    let t = layout.tables(&[so]);
    assert_eq!(
        t.orders.value(&t.orders.rows[0], "ShipTo1"),
        Some("1 High St")
    );
    assert!(layout.unused_fields.contains(&"Email".to_string()));
}
