//! `ctpvx map-order` on orders composed from the commercetools API reference's types
//! (`tests/fixtures/commercetools/`): the SalePrice of high-precision and discounted lines, the
//! discounted shipping and the order discount; OrderImported mapped like OrderCreated; Multiple
//! shipping and per-line addresses held by name, never flattened; a Customer of at most 50
//! characters; a realistic UK business address exported, not held; the Peoplevox number and
//! the audit notes printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/commercetools")
        .join(name)
}

/// What one run printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn map_order(name: &str, config: Option<&Path>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ctpvx"));
    command.arg("map-order").arg(fixture(name));
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let out = command.env("NO_COLOR", "1").output().expect("ctpvx runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// The rows of one printed table (after its `# name` line), by header.
    fn table(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let start = self
            .stdout
            .find(&format!("# {name}"))
            .unwrap_or_else(|| panic!("no table {name}: {}", self.stdout));
        let text: String = self.stdout[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                header
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    fn order(&self) -> BTreeMap<String, String> {
        self.table("Sales orders (site").remove(0)
    }

    fn sale_prices(&self) -> Vec<(String, String)> {
        self.table("Sales order items")
            .into_iter()
            .map(|r| (r["ItemCode"].clone(), r["SalePrice"].clone()))
            .collect()
    }

    fn notes(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("# note: "))
            .collect()
    }
}

#[test]
fn high_precision_and_discounted_lines_go_out_at_what_the_customer_pays() {
    let run = map_order("order-discounted-high-precision.json", None);
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.contains("# Peoplevox number: DE-100234"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.sale_prices(),
        [
            // preciseAmount 339999 at 4 digits, charged 34.00 (not 0.3400).
            ("LAMP-OAK", "34.00"),
            // 1,000 units at 0.0123456, charged 12.35.
            ("SCREW-M4", "0.01235"),
            // One of two units cart-discounted from 19.99 to 14.99.
            ("MUG-BLUE", "17.49"),
            // Product-discounted from 25.00 to 20.00.
            ("TEE-RED-M", "20.00"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let order = run.order();
    assert_eq!(
        order["ShippingCost"], "0.00",
        "shipping discounted to nothing"
    );
    assert_eq!(order["Discount"], "5.00", "discountOnTotalPrice");
    assert_eq!(order["TotalSale"], "96.33");
}

#[test]
fn an_order_imported_message_is_mapped_like_order_created() {
    let run = map_order("order-imported.json", None);
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("# OrderImported message\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.order()["SalesOrderNumber"], "100000001");
    assert_eq!(run.sale_prices(), [("TEE-RED-M".into(), "19.99".into())]);
}

/// Each `# Peoplevox number:` section of a run: its number, shipping key, header and lines.
struct Printed {
    number: String,
    shipping_key: Option<String>,
    order: BTreeMap<String, String>,
    lines: Vec<BTreeMap<String, String>>,
}

fn parts(run: &Run) -> Vec<Printed> {
    run.stdout
        .split("# Peoplevox number: ")
        .skip(1)
        .map(|section| {
            let part = Run {
                ok: true,
                stdout: format!("# Peoplevox number: {section}"),
                stderr: String::new(),
            };
            Printed {
                number: section.lines().next().unwrap_or("").to_string(),
                shipping_key: section
                    .lines()
                    .find_map(|l| l.strip_prefix("# shipping key: "))
                    .map(str::to_string),
                order: part.order(),
                lines: part.table("Sales order items"),
            }
        })
        .collect()
}

#[test]
fn multiple_shipping_and_per_line_addresses_become_one_sales_order_per_address() {
    // Multiple mode: 1 tee to `home` (standard, 4.99), 2 to `office` (express, 7.99).
    let run = map_order("order-multiple-shipping.json", None);
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("# 2 Peoplevox sales orders: the order ships to 2 addresses"),
        "{}",
        run.stdout
    );
    let p = parts(&run);
    assert_eq!(p.len(), 2, "{}", run.stdout);
    let summary: Vec<_> = p
        .iter()
        .map(|p| {
            (
                p.number.as_str(),
                p.shipping_key.as_deref(),
                p.order["ServiceType"].as_str(),
                p.order["ShippingCost"].as_str(),
                p.order["TotalSale"].as_str(),
                p.lines[0]["QuantityOrdered"].as_str(),
                p.lines[0]["Line"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "DE-100240-1",
                Some("standard"),
                "STANDARD",
                "4.99",
                "14.99",
                "1",
                "1"
            ),
            (
                "DE-100240-2",
                Some("express"),
                "NEXTDAY",
                "7.99",
                "27.99",
                "2",
                "1"
            ),
        ]
    );
    // Nothing flattened: each part has its own address, and the parts add up to the order.
    assert_ne!(
        p[0].order["ShippingAddressLine1"],
        p[1].order["ShippingAddressLine1"]
    );
    assert!(
        run.notes()
            .contains(&"part 2 of 2: 2 unit(s) to shipping `express`")
    );

    // Single mode, one line sending 2 of its 3 units to `grandma`: the shipping is charged once.
    let run = map_order("order-item-shipping-addresses.json", None);
    assert!(run.ok, "{}", run.stderr);
    let p = parts(&run);
    let summary: Vec<_> = p
        .iter()
        .map(|p| {
            (
                p.order["ShippingAddressCity"].as_str(),
                p.lines[0]["QuantityOrdered"].as_str(),
                p.shipping_key.is_some(),
            )
        })
        .collect();
    assert_eq!(summary, [("Berlin", "1", false), ("München", "2", false)]);
    assert_eq!(p[1].order["ShippingCost"], "0.00");

    // `orders.split_destinations = "hold"`: held, naming the mode and what goes where.
    let dir = tempdir();
    let example = include_str!("../config/ctpvx.example.toml");
    let config = example.replacen("[orders]\n", "[orders]\nsplit_destinations = \"hold\"\n", 1);
    let path = dir.join("hold.toml");
    std::fs::write(&path, config).unwrap();
    let run = map_order("order-multiple-shipping.json", Some(&path));
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "order would be held: shippingMode Multiple: 1 unit(s) to shipping `standard`, 2 unit(s) to shipping `express`"
        ),
        "{}",
        run.stderr
    );
    let run = map_order("order-item-shipping-addresses.json", Some(&path));
    assert!(!run.ok, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "order would be held: line items ship to several addresses (itemShippingAddresses): 1 unit(s) to shippingAddress, 2 unit(s) to itemShippingAddresses `grandma`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn customer_is_never_longer_than_50_and_a_long_uk_address_is_exported_whole() {
    let run = map_order("order-uk-address.json", None);
    assert!(run.ok, "the realistic UK order is not held: {}", run.stderr);
    let order = run.order();
    // The 63-character e-mail stays the Email; Customer is the contact name.
    assert_eq!(order["Customer"], "Charlotte Whitfield-Pemberton");
    assert_eq!(
        order["Email"],
        "charlotte.whitfield-pemberton@pemberton-whitfield-salvage.co.uk"
    );
    let lines = format!(
        "{} | {}",
        order["ShippingAddressLine1"], order["ShippingAddressLine2"]
    );
    for part in [
        "14-16 Canal Wharf Approach",
        "Pemberton & Whitfield Architectural Salvage Ltd",
        "Suite 2B",
        "Unit 7, Riverside Trading Estate",
        "Rear loading bay",
        "Goods In",
    ] {
        assert!(lines.contains(part), "{part} missing from {lines}");
    }
    assert!(order["ShippingAddressLine1"].contains("Canal Wharf Approach"));
    for (field, value) in &order {
        let max = match field.as_str() {
            "Customer" | "ChannelName" | "CustomerPurchaseOrderReferenceNumber" => 50,
            f if f.contains("Address") => 100,
            _ => continue,
        };
        assert!(value.chars().count() <= max, "{field}: {value}");
    }
    // The delivery note goes whole to Notes, with the gift message mapped there too.
    assert!(
        order["Notes"].starts_with("Deliveries Mon-Fri 8am-4pm only.")
            && order["Notes"]
                .contains("Do not leave outside. | Congratulations on the new office!"),
        "{}",
        order["Notes"]
    );
    assert!(run.notes().is_empty(), "nothing was cut: {:?}", run.notes());
}

#[test]
fn custom_line_items_are_left_out_with_a_note_or_exported_under_their_code() {
    let run = map_order("order-custom-line-items.json", None);
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.sale_prices().len(), 1);
    assert_eq!(
        run.notes(),
        [
            "custom line item `gift-wrap` (Gift wrapping) ×1, 3.49 EUR left out (orders.custom_line_items = \"leave-out\")",
            "custom line item `assembly-service` (Assembly service) ×1, 3.00 EUR left out (orders.custom_line_items = \"leave-out\")",
        ]
    );
    let run = map_order("order-only-custom-line-items.json", None);
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("order holds only custom line items (`gift-card-printing`"),
        "{}",
        run.stderr
    );

    let dir = tempdir();
    let example = include_str!("../config/ctpvx.example.toml");
    let config = example.replacen(
        "[orders]\n",
        "[orders]\ncustom_line_items = \"export\"\ncustom_line_item_code = \"SERVICE\"\n",
        1,
    ) + "\n[orders.custom_line_item_codes]\n\"gift-wrap\" = \"GIFTWRAP\"\n";
    let path = dir.join("export.toml");
    std::fs::write(&path, config).unwrap();
    let run = map_order("order-custom-line-items.json", Some(&path));
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(
        run.sale_prices(),
        [
            ("TEE-RED-M", "25.00"),
            ("GIFTWRAP", "3.49"),
            ("SERVICE", "3.00")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(run.notes().is_empty(), "{:?}", run.notes());
}

#[test]
fn the_chosen_peoplevox_number_is_printed_and_a_uuid_number_is_derived() {
    let run = map_order("order-uuid-number.json", None);
    assert!(run.ok, "{}", run.stderr);
    let number = run.order()["SalesOrderNumber"].clone();
    assert!(number.starts_with("CT-") && number.len() == 27, "{number}");
    assert!(
        run.stdout
            .contains(&format!("# Peoplevox number: {number}\n"))
    );
    assert!(
        run.notes()[0].contains("0b5c1a9e-6f0e-4f7e-9a55-3c2d1e0f9a8b` is longer than 30"),
        "{:?}",
        run.notes()
    );
    let run = map_order("order-without-number.json", None);
    assert!(!run.ok);
    assert!(
        run.stderr.contains("order has no orderNumber yet"),
        "{}",
        run.stderr
    );
}

#[test]
fn unused_fields_of_odd_shapes_never_refuse_and_an_empty_order_is_fetched_by_id() {
    let run = map_order("order-relay-shapes.json", None);
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.order()["ShippingCost"], "4.99");
    let run = map_order("order-empty-embedded.json", None);
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("the worker would fetch order 1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"),
        "{}",
        run.stderr
    );
}

/// A fresh directory under the system's temporary one.
fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctpvx-map-order-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
