//! `ctpvx setup` against the commercetools simulator over loopback HTTP: it creates what the
//! configuration needs, completes what is partly there, writes nothing on a re-run or a dry
//! run, and never deletes.

use ctpvx_infra::sim::commercetools::{CtSim, CtSimConfig};
use ctpvx_infra::testbed::{Testbed, TestbedOptions};
use ctpvx_shared::commercetools::CtClient;
use ctpvx_shared::commercetools::types::ChannelRole;
use ctpvx_shared::config::{Config, StockSite};
use ctpvx_shared::setup::{
    DELIVERY_TYPE_KEY, FIELD_DESPATCHED_AT, ORDER_TYPE_KEY, Outcome, SetupReport, apply,
};
use serde_json::{Value, json};

/// A configuration for `sim` with the export channel `pvx-export` and two stock sites.
fn config_for(sim: &CtSim) -> Config {
    Config::from_toml(&format!(
        r#"
[commercetools]
auth_url = "{api}"
api_url = "{api}"
project_key = "{project}"
client_id = "{client}"
order_export_channel = "pvx-export"

[peoplevox]
endpoint = "http://127.0.0.1:9/integrationservicev4.asmx"
client_id = "c1"
username = "integration"

[stock.sites."UK-DC"]
channel = "pvx-uk-dc"

[stock.sites."EU-DC"]
channel = "pvx-eu-dc"
"#,
        api = sim.api_url(),
        project = sim.config().project_key,
        client = sim.config().client_id,
    ))
    .expect("test configuration")
}

async fn fresh() -> (CtSim, CtClient, Config) {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    let client = CtClient::new(sim.settings()).unwrap();
    let config = config_for(&sim);
    (sim, client, config)
}

/// Requests that change something (every POST but the token's).
fn writes(sim: &CtSim) -> u64 {
    sim.requests_by_route()
        .iter()
        .filter(|(route, _)| route.starts_with("POST /{project}"))
        .map(|(_, n)| n)
        .sum()
}

/// The field names of a stored Type, in order.
fn field_names(stored: &Value) -> Vec<String> {
    stored["fieldDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Channels and Types as stored, to compare before and after.
async fn snapshot(sim: &CtSim, client: &CtClient, keys: &[&str]) -> (Vec<Value>, Vec<String>) {
    let mut channels = Vec::new();
    for key in keys {
        let channel = client.get_channel_by_key(key).await.unwrap();
        channels.push(format!("{channel:?}"));
    }
    (sim.types(), channels)
}

fn outcome<'a>(report: &'a SetupReport, key: &str) -> &'a Outcome {
    &report
        .items
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no item {key} in {report:?}"))
        .outcome
}

#[tokio::test]
async fn first_run_creates_everything_and_a_second_run_only_reads() {
    let (sim, client, config) = fresh().await;
    let report = apply(&client, &config, false).await.unwrap();
    assert_eq!(
        report.lines(),
        [
            "created channel pvx-export (OrderExport)",
            "created channel pvx-eu-dc (InventorySupply)",
            "created channel pvx-uk-dc (InventorySupply)",
            "created type ctpvx-delivery (order-delivery: despatchNumber, despatchedAt, pvxCarrier, pvxService)",
            "created type ctpvx-order (order: pvxOrderNumber, pvxStatus, pvxShortPicks, pvxException)",
        ]
    );
    let export = client
        .get_channel_by_key("pvx-export")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(export.roles, ["OrderExport"]);
    let uk = client
        .get_channel_by_key("pvx-uk-dc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uk.roles, ["InventorySupply"]);
    let delivery = sim.type_by_key(DELIVERY_TYPE_KEY).unwrap();
    assert_eq!(delivery["resourceTypeIds"], json!(["order-delivery"]));
    assert_eq!(delivery["fieldDefinitions"][1]["type"]["name"], "DateTime");
    let order = sim.type_by_key(ORDER_TYPE_KEY).unwrap();
    assert_eq!(
        field_names(&order),
        [
            "pvxOrderNumber",
            "pvxStatus",
            "pvxShortPicks",
            "pvxException"
        ]
    );

    sim.reset_counters();
    let again = apply(&client, &config, false).await.unwrap();
    assert!(!again.changed(), "{again:?}");
    assert!(
        again.items.iter().all(|i| i.outcome == Outcome::Unchanged),
        "{again:?}"
    );
    assert_eq!(again.lines()[4], "unchanged type ctpvx-order");
    assert_eq!(writes(&sim), 0, "{:?}", sim.requests_by_route());
    // One read per item, and nothing else.
    assert_eq!(sim.requests_to("GET /{project}/channels/key={key}"), 3);
    assert_eq!(sim.requests_to("GET /{project}/types/key={key}"), 2);
}

#[tokio::test]
async fn a_type_missing_a_field_gets_exactly_that_field() {
    let (sim, client, config) = fresh().await;
    let field = |name: &str| json!({"type": {"name": "String"}, "name": name, "label": {"en": name}, "required": false});
    sim.create_type_json(json!({
        "key": DELIVERY_TYPE_KEY, "name": {"en": "Made by hand"},
        "resourceTypeIds": ["order-delivery"],
        "fieldDefinitions": [field("despatchNumber"), field("pvxCarrier"), field("pvxService"),
            field("merchantNote")],
    }))
    .unwrap();
    let report = apply(&client, &config, false).await.unwrap();
    assert_eq!(
        outcome(&report, DELIVERY_TYPE_KEY),
        &Outcome::Updated(format!("fields {FIELD_DESPATCHED_AT}"))
    );
    assert!(
        report
            .lines()
            .contains(&"added fields despatchedAt to type ctpvx-delivery".to_string())
    );
    let stored = sim.type_by_key(DELIVERY_TYPE_KEY).unwrap();
    // Appended, the merchant's own field kept, the name not touched, one update.
    assert_eq!(
        field_names(&stored),
        [
            "despatchNumber",
            "pvxCarrier",
            "pvxService",
            "merchantNote",
            "despatchedAt"
        ]
    );
    assert_eq!(stored["fieldDefinitions"][4]["type"]["name"], "DateTime");
    assert_eq!(stored["name"]["en"], "Made by hand");
    assert_eq!(stored["version"], 2);
    assert_eq!(sim.requests_to("POST /{project}/types/{id}"), 1);
}

#[tokio::test]
async fn a_channel_missing_a_role_gets_it_and_keeps_its_others() {
    let bed = Testbed::start(TestbedOptions::default()).await.unwrap();
    let client = CtClient::new(bed.ct.settings()).unwrap();
    bed.ct
        .ensure_channel("pvx-new", &[ChannelRole::ProductDistribution])
        .unwrap();
    let mut config = bed.config.clone();
    config.stock.sites.insert(
        "NEW".into(),
        StockSite {
            channel: "pvx-new".into(),
            safety_buffer: None,
        },
    );
    // The export channel is also the UK site's: one item that needs both roles.
    config.commercetools.order_export_channel = "pvx-uk-dc".into();
    let report = apply(&client, &config, false).await.unwrap();
    assert_eq!(
        outcome(&report, "pvx-new"),
        &Outcome::Updated("roles InventorySupply".into())
    );
    assert_eq!(
        outcome(&report, "pvx-uk-dc"),
        &Outcome::Updated("roles OrderExport".into())
    );
    assert!(
        report
            .lines()
            .contains(&"added roles OrderExport to channel pvx-uk-dc".to_string())
    );
    assert_eq!(outcome(&report, "pvx-eu-dc"), &Outcome::Unchanged);
    assert_eq!(
        report.items.iter().filter(|i| i.key == "pvx-uk-dc").count(),
        1
    );
    let new = client.get_channel_by_key("pvx-new").await.unwrap().unwrap();
    assert_eq!(new.roles, ["ProductDistribution", "InventorySupply"]);
    assert_eq!(new.version, 2);
    let uk = client
        .get_channel_by_key("pvx-uk-dc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uk.roles, ["InventorySupply", "OrderExport"]);
    assert_eq!(bed.ct.requests_to("POST /{project}/channels/{id}"), 2);
    assert_eq!(bed.ct.requests_to("POST /{project}/channels"), 0);
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_predicts_the_real_run() {
    let (sim, client, config) = fresh().await;
    sim.ensure_channel("pvx-uk-dc", &[ChannelRole::Primary])
        .unwrap();
    sim.create_type_json(json!({
        "key": ORDER_TYPE_KEY, "name": {"en": "Order"}, "resourceTypeIds": ["order"],
        "fieldDefinitions": [{"type": {"name": "String"}, "name": "pvxStatus",
            "label": {"en": "Status"}, "required": false}],
    }))
    .unwrap();
    let keys = ["pvx-export", "pvx-eu-dc", "pvx-uk-dc"];
    let before = snapshot(&sim, &client, &keys).await;
    sim.reset_counters();
    let dry = apply(&client, &config, true).await.unwrap();
    assert_eq!(writes(&sim), 0, "{:?}", sim.requests_by_route());
    assert_eq!(snapshot(&sim, &client, &keys).await, before);
    assert!(dry.dry_run && dry.changed());
    assert_eq!(
        dry.lines(),
        [
            "would create channel pvx-export (OrderExport)",
            "would create channel pvx-eu-dc (InventorySupply)",
            "would add roles InventorySupply to channel pvx-uk-dc",
            "would create type ctpvx-delivery (order-delivery: despatchNumber, despatchedAt, pvxCarrier, pvxService)",
            "would add fields pvxOrderNumber, pvxShortPicks, pvxException to type ctpvx-order",
        ]
    );
    let real = apply(&client, &config, false).await.unwrap();
    assert!(!real.dry_run);
    assert_eq!(real.items, dry.items);
    assert_ne!(snapshot(&sim, &client, &keys).await, before);
}

#[tokio::test]
async fn a_conflicting_type_is_reported_and_left_alone() {
    let (sim, client, config) = fresh().await;
    sim.create_type_json(json!({
        "key": ORDER_TYPE_KEY, "name": {"en": "Order"}, "resourceTypeIds": ["order"],
        "fieldDefinitions": [{"type": {"name": "Number"}, "name": "pvxStatus",
            "label": {"en": "Status"}, "required": false}],
    }))
    .unwrap();
    let report = apply(&client, &config, false).await.unwrap();
    let Outcome::Conflict(why) = outcome(&report, ORDER_TYPE_KEY) else {
        panic!("expected a conflict: {report:?}");
    };
    assert!(why.contains("pvxStatus is Number, not String"), "{why}");
    assert_eq!(report.conflicts().count(), 1);
    let stored = sim.type_by_key(ORDER_TYPE_KEY).unwrap();
    assert_eq!(stored["version"], 1);
    assert_eq!(field_names(&stored), ["pvxStatus"]);
}

#[tokio::test]
async fn deliveries_can_use_the_delivery_type_only_after_setup() {
    let (sim, client, config) = fresh().await;
    let order = sim
        .insert_order_json(json!({
            "id": "o-1", "orderNumber": "10001", "orderState": "Open",
            "lineItems": [{"id": "li-1", "quantity": 1, "variant": {"id": 1, "sku": "TEE"}}],
            "shippingInfo": {"shippingMethodName": "Next Day"},
        }))
        .unwrap();
    let delivery = |key: &str| {
        json!({"action": "addDelivery", "deliveryKey": key,
            "items": [{"id": "li-1", "quantity": 1}],
            "custom": {"type": {"typeId": "type", "key": DELIVERY_TYPE_KEY},
                "fields": {FIELD_DESPATCHED_AT: "2026-08-30T09:00:00.000Z"}}})
    };
    let refused = sim
        .apply_order_actions(&order.id, vec![delivery("pvx-d-1")])
        .unwrap_err();
    assert!(
        refused.to_string().contains("ReferencedResourceNotFound"),
        "{refused}"
    );
    apply(&client, &config, false).await.unwrap();
    sim.apply_order_actions(&order.id, vec![delivery("pvx-d-1")])
        .unwrap();
    let stored = sim.order_json(&order.id).unwrap();
    let type_id = &sim.type_by_key(DELIVERY_TYPE_KEY).unwrap()["id"];
    let custom = &stored["shippingInfo"]["deliveries"][0]["custom"];
    assert_eq!(custom["type"]["id"], *type_id);
    assert_eq!(
        custom["fields"][FIELD_DESPATCHED_AT],
        "2026-08-30T09:00:00.000Z"
    );
}
