//! commercetools order messages and the order mapping.
//!
//! Input: a body as it comes from the webhook or the commercetools queue: an `OrderCreated`
//! Message (Platform format), the same in a CloudEvent, a bare Order, an `OrderStateChanged`
//! Message or any other notification. A parsed order goes on through what `ctpvx map-order`
//! and the order-export flow do with it: `mapping::map_order` with the example configuration,
//! the two Peoplevox CSV tables, and the `SaveData` envelope that would carry them.
//!
//! Checks, besides "never panics": an order announcement names an order id that agrees with
//! the order it carries; the CSV tables are rectangular; an `OrderStateChanged` becomes a
//! status-queue message that reads back as itself.

#![no_main]

use std::sync::LazyLock;

use ctpvx_shared::commercetools::message::{self, Parsed};
use ctpvx_shared::config::Config;
use ctpvx_shared::domain::StatusMessage;
use ctpvx_shared::mapping::{SalesOrderLayout, map_order};
use ctpvx_shared::peoplevox::SaveAction;
use ctpvx_shared::peoplevox::envelope::{self, Credentials};
use libfuzzer_sys::fuzz_target;

const EXAMPLE_CONFIG: &str = include_str!("../../infra/config/ctpvx.example.toml");

static SETUP: LazyLock<(Config, SalesOrderLayout)> = LazyLock::new(|| {
    let config = Config::from_toml(EXAMPLE_CONFIG).expect("example configuration loads");
    let custom: Vec<String> = config.orders.custom_fields.values().cloned().collect();
    let layout = SalesOrderLayout::standard(&config.peoplevox, &custom).expect("layout");
    (config, layout)
});

const CREDS: Credentials<'static> = Credentials {
    client_id: "acme",
    session_id: "S-1",
};

fuzz_target!(|data: &[u8]| {
    let (config, layout) = &*SETUP;
    match message::parse(data) {
        Ok(Parsed::OrderCreated(event)) => {
            assert!(!event.order_id.trim().is_empty() || event.order.is_some());
            let Some(order) = event.order else { return };
            assert_eq!(
                order.id, event.order_id,
                "order id disagrees with the message"
            );
            let _ = order.sync_info_for("ch-1");
            let Ok(sales_order) = map_order(&order, &config.orders) else {
                return;
            };
            let tables = layout.tables(std::slice::from_ref(&sales_order));
            for table in [&tables.orders, &tables.items] {
                for row in &table.rows {
                    assert_eq!(row.len(), table.headers.len(), "ragged CSV table");
                }
                let csv = table.to_csv();
                // The request that would carry the CSV; a refusal is an error, not a panic.
                let _ = envelope::save_data(CREDS, "Sales orders", &csv, SaveAction::Upsert);
            }
        }
        Ok(Parsed::OrderStateChanged(change)) => {
            // What the webhook enqueues for a cancellation must read back.
            let message = StatusMessage::CommercetoolsOrderState {
                message_id: change.message_id,
                order_id: change.order_id,
                order_number: change.order_number,
                order_state: change.order_state,
                old_order_state: change.old_order_state,
            };
            let json = message.to_json();
            let back: StatusMessage =
                serde_json::from_str(&json).expect("status message reads back");
            assert_eq!(back, message);
        }
        Ok(Parsed::Ignored(_)) | Err(_) => {}
    }
});
