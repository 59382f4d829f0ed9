//! The inventory side of the commercetools client, and order placement's effect on stock, against
//! the simulator over loopback HTTP.

use std::collections::BTreeSet;

use ctpvx_infra::sim::commercetools::{CtSim, CtSimConfig, OutOfStock};
use ctpvx_shared::commercetools::types::{Channel, ChannelRole, InventoryEntry};
use ctpvx_shared::commercetools::{CtClient, CtError, InventoryUpdateAction};
use serde_json::{Value, json};

const QUERY_INVENTORY: &str = "GET /{project}/inventory";
const QUERY_ORDERS: &str = "GET /{project}/orders";

struct Fixture {
    sim: CtSim,
    client: CtClient,
    warehouse: Channel,
}

async fn fixture() -> Fixture {
    let sim = CtSim::start(CtSimConfig::default()).await.unwrap();
    let warehouse = sim
        .ensure_channel("pvx-uk", &[ChannelRole::InventorySupply])
        .unwrap();
    let client = CtClient::new(sim.settings()).unwrap();
    Fixture {
        sim,
        client,
        warehouse,
    }
}

fn sku(i: usize) -> String {
    format!("SKU-{i:05}")
}

fn line(sku: &str, quantity: i64, channel: Option<&str>) -> Value {
    let mut line = json!({"id": uuid::Uuid::new_v4().to_string(), "productId": "p",
        "variant": {"id": 1, "sku": sku}, "quantity": quantity});
    if let Some(id) = channel {
        line["supplyChannel"] = json!({"typeId": "channel", "id": id});
    }
    line
}

fn order(mode: Option<&str>, lines: Vec<Value>) -> Value {
    let mut order = json!({"id": uuid::Uuid::new_v4().to_string(), "version": 1,
        "orderState": "Open", "lineItems": lines});
    if let Some(mode) = mode {
        order["inventoryMode"] = mode.into();
    }
    order
}

fn skus_of(entries: &[InventoryEntry]) -> BTreeSet<String> {
    entries.iter().map(|e| e.sku.clone()).collect()
}

#[tokio::test]
async fn a_query_over_1200_skus_is_chunked_and_keeps_to_one_channel() {
    let f = fixture().await;
    let other = f
        .sim
        .ensure_channel("pvx-de", &[ChannelRole::InventorySupply])
        .unwrap();
    let wh = f.warehouse.id.as_str();
    let mut expected = BTreeSet::new();
    for i in 0..1_200 {
        // Every tenth sku has no entry in the warehouse.
        if i % 10 != 0 {
            f.sim.insert_inventory(&sku(i), Some(wh), i as i64).unwrap();
            expected.insert(sku(i));
        }
        if i < 300 {
            f.sim.insert_inventory(&sku(i), Some(&other.id), 1).unwrap();
        }
        if i < 100 {
            f.sim.insert_inventory(&sku(i), None, 1).unwrap();
        }
    }
    let mut asked: Vec<String> = (0..1_200).map(sku).collect();
    asked.extend((0..50).map(sku));
    f.sim.reset_counters();

    let found = f.client.query_inventory(Some(wh), &asked).await.unwrap();
    assert_eq!(found.len(), 1_080);
    assert_eq!(skus_of(&found), expected);
    assert!(found.iter().all(|e| {
        e.supply_channel.as_ref().and_then(|c| c.id.as_deref()) == Some(wh)
            && e.quantity_on_stock == e.sku[4..].parse::<i64>().unwrap()
    }));
    // 500 + 500 + 200 skus.
    assert_eq!(f.sim.requests_to(QUERY_INVENTORY), 3);

    let channel_less = f.client.query_inventory(None, &asked).await.unwrap();
    assert_eq!(skus_of(&channel_less), (0..100).map(sku).collect());
    assert!(channel_less.iter().all(|e| e.supply_channel.is_none()));
    assert_eq!(f.sim.requests_to(QUERY_INVENTORY), 6);

    assert!(
        f.client
            .query_inventory(Some(wh), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.sim.requests_to(QUERY_INVENTORY), 6);
}

#[tokio::test]
async fn long_and_odd_skus_are_chunked_by_length_and_escaped() {
    let f = fixture().await;
    let wh = f.warehouse.id.as_str();
    // 60 characters each: 500 of them would be a predicate of 32,000 characters, which the
    // simulator refuses with 414, as the API does.
    let mut skus: Vec<String> = (0..1_200)
        .map(|i| format!("{:-<55}{i:05}", "LONG"))
        .collect();
    skus.push(r#"TEE "RED" \ M"#.into());
    for s in &skus {
        f.sim.insert_inventory(s, Some(wh), 2).unwrap();
    }
    f.sim.reset_counters();
    let found = f.client.query_inventory(Some(wh), &skus).await.unwrap();
    assert_eq!(skus_of(&found), skus.iter().cloned().collect());
    // About 124 skus of 64 quoted bytes fit in 8,000 characters.
    let requests = f.sim.requests_to(QUERY_INVENTORY);
    assert!((10..=11).contains(&requests), "{requests}");
}

#[tokio::test]
async fn an_entry_is_created_once_per_sku_and_channel() {
    let f = fixture().await;
    let wh = f.warehouse.id.as_str();
    let created = f
        .client
        .create_inventory("TEE", Some(wh), 10)
        .await
        .unwrap();
    assert_eq!(
        (created.quantity_on_stock, created.available_quantity),
        (10, 10)
    );
    assert_eq!(
        created.supply_channel.and_then(|c| c.id).as_deref(),
        Some(wh)
    );
    assert_eq!(
        f.client.get_inventory(&created.id).await.unwrap().sku,
        "TEE"
    );

    let err = f
        .client
        .create_inventory("TEE", Some(wh), 4)
        .await
        .unwrap_err();
    assert!(matches!(err, CtError::BadRequest { .. }), "{err:?}");
    assert!(err.has_code("DuplicateField"), "{err:?}");
    assert_eq!(
        f.sim
            .inventory_entry("TEE", Some(wh))
            .unwrap()
            .quantity_on_stock,
        10
    );

    // The same sku without a channel is another pair.
    let channel_less = f.client.create_inventory("TEE", None, 4).await.unwrap();
    assert!(channel_less.supply_channel.is_none());
    assert_eq!(f.sim.inventory_entries().len(), 2);
    let err = f.client.get_inventory("no-such-entry").await.unwrap_err();
    assert!(matches!(err, CtError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn updates_are_relative_or_absolute_and_versioned() {
    let f = fixture().await;
    let entry = f
        .client
        .create_inventory("TEE", Some(&f.warehouse.id), 10)
        .await
        .unwrap();
    let add_remove = [
        InventoryUpdateAction::AddQuantity { quantity: 5 },
        InventoryUpdateAction::RemoveQuantity { quantity: 8 },
    ];
    let updated = f
        .client
        .update_inventory(&entry.id, entry.version, &add_remove)
        .await
        .unwrap();
    assert_eq!((updated.quantity_on_stock, updated.version), (7, 2));

    let stale = f
        .client
        .update_inventory(&entry.id, entry.version, &add_remove)
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            CtError::ConcurrentModification {
                current_version: Some(2)
            }
        ),
        "{stale:?}"
    );

    // Another writer moves the version.
    let theirs = f
        .sim
        .apply_inventory_actions(
            &entry.id,
            vec![json!({"action": "changeQuantity", "quantity": 3})],
        )
        .unwrap();
    assert_eq!((theirs.quantity_on_stock, theirs.version), (3, 3));
    let stale = f
        .client
        .update_inventory(
            &entry.id,
            2,
            &[InventoryUpdateAction::ChangeQuantity { quantity: 9 }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            CtError::ConcurrentModification {
                current_version: Some(3)
            }
        ),
        "{stale:?}"
    );

    let below_zero = f
        .client
        .update_inventory(
            &entry.id,
            3,
            &[InventoryUpdateAction::RemoveQuantity { quantity: 10 }],
        )
        .await
        .unwrap();
    assert_eq!(
        (below_zero.quantity_on_stock, below_zero.available_quantity),
        (-7, -7)
    );
    assert_eq!(
        f.sim.inventory_entry("TEE", Some(&f.warehouse.id)).unwrap(),
        below_zero
    );
}

#[tokio::test]
async fn track_only_orders_deduct_stock_even_below_zero() {
    let f = fixture().await;
    let wh = f.warehouse.id.as_str();
    let before = f.sim.insert_inventory("TEE", Some(wh), 2).unwrap();
    f.sim.insert_inventory("TEE", None, 9).unwrap();

    let placed = f
        .sim
        .place_order(order(Some("TrackOnly"), vec![line("TEE", 3, Some(wh))]))
        .unwrap()
        .unwrap();
    assert!(f.sim.order(&placed.id).is_some());
    let after = f.sim.inventory_entry("TEE", Some(wh)).unwrap();
    assert_eq!(
        (after.quantity_on_stock, after.available_quantity),
        (-1, -1)
    );
    assert_eq!(after.version, before.version + 1);
    assert_ne!(after.last_modified_at, None);
    // The channel-less entry is another pair and did not move.
    assert_eq!(
        f.sim
            .inventory_entry("TEE", None)
            .unwrap()
            .quantity_on_stock,
        9
    );

    // Only a missing entry is out of stock.
    let missing = order(
        Some("TrackOnly"),
        vec![line("TEE", 1, Some(wh)), line("CAP", 1, Some(wh))],
    );
    let id = missing["id"].as_str().unwrap().to_owned();
    assert_eq!(
        f.sim.place_order(missing).unwrap(),
        Err(OutOfStock {
            skus: vec!["CAP".into()]
        })
    );
    assert!(f.sim.order(&id).is_none());
    assert_eq!(f.sim.inventory_entry("TEE", Some(wh)).unwrap(), after);
}

#[tokio::test]
async fn reserve_on_order_refuses_short_stock_atomically() {
    let f = fixture().await;
    let wh = f.warehouse.id.as_str();
    f.sim.insert_inventory("TEE", Some(wh), 5).unwrap();
    f.sim.insert_inventory("CAP", Some(wh), 1).unwrap();
    let before = f.sim.inventory_entries();

    let short = order(
        Some("ReserveOnOrder"),
        vec![
            line("TEE", 2, Some(wh)),
            line("CAP", 2, Some(wh)),
            line("BAG", 1, Some(wh)),
        ],
    );
    let id = short["id"].as_str().unwrap().to_owned();
    let refused = f.sim.place_order(short).unwrap().unwrap_err();
    assert_eq!(refused.skus, ["CAP", "BAG"]);
    assert_eq!(f.sim.inventory_entries(), before);
    assert!(f.sim.order(&id).is_none());
    assert!(f.sim.orders().is_empty());

    // A line's own mode wins: the short CAP line, tracked only, no longer blocks.
    let mut cap = line("CAP", 2, Some(wh));
    cap["inventoryMode"] = "TrackOnly".into();
    let fits = order(Some("ReserveOnOrder"), vec![line("TEE", 5, Some(wh)), cap]);
    f.sim.place_order(fits).unwrap().unwrap();
    assert_eq!(
        f.sim
            .inventory_entry("TEE", Some(wh))
            .unwrap()
            .available_quantity,
        0
    );
    assert_eq!(
        f.sim
            .inventory_entry("CAP", Some(wh))
            .unwrap()
            .available_quantity,
        -1
    );
    assert_eq!(f.sim.orders().len(), 1);
}

#[tokio::test]
async fn orders_without_a_tracking_mode_leave_stock_alone() {
    let f = fixture().await;
    let wh = f.warehouse.id.as_str();
    f.sim.insert_inventory("TEE", Some(wh), 1).unwrap();
    let before = f.sim.inventory_entries();
    for mode in [None, Some("None")] {
        let placed = f.sim.place_order(order(
            mode,
            vec![line("TEE", 4, Some(wh)), line("CAP", 1, None)],
        ));
        assert!(placed.unwrap().is_ok());
    }
    // insert_order_json never touches stock, whatever the mode says.
    f.sim
        .insert_order_json(order(Some("TrackOnly"), vec![line("TEE", 4, Some(wh))]))
        .unwrap();
    assert_eq!(f.sim.inventory_entries(), before);
    assert_eq!(f.sim.orders().len(), 3);
}

#[tokio::test]
async fn unexported_orders_are_found_across_chunks_and_pages() {
    let f = fixture().await;
    let export = f
        .sim
        .ensure_channel("pvx-export", &[ChannelRole::OrderExport])
        .unwrap();
    let elsewhere = f
        .sim
        .ensure_channel("erp-export", &[ChannelRole::OrderExport])
        .unwrap();
    let since = "2026-08-01T00:00:00.000Z";
    let skus: Vec<String> = (0..1_200).map(sku).collect();
    let synced_to = |channel: &str| {
        json!([{"channel": {"typeId": "channel", "id": channel},
            "externalId": "X", "syncedAt": "2026-08-02T00:00:00.000Z"}])
    };
    let after = "2026-08-05T10:00:00.000Z";
    let raw = |skus: &[&str], created: &str| {
        let lines = skus.iter().map(|s| line(s, 1, None)).collect();
        let mut order = order(Some("TrackOnly"), lines);
        order["createdAt"] = created.into();
        order
    };
    let mut wanted = Vec::new();
    for i in 0..600 {
        wanted.push(raw(&[&sku(i % 500)], after));
    }
    // Lines in the first and the last chunk: found by two chunks, reported once.
    for _ in 0..30 {
        wanted.push(raw(&[&sku(1), &sku(1_100)], after));
    }
    // Synced with another channel only: still unexported.
    for _ in 0..20 {
        let mut synced_elsewhere = raw(&[&sku(7)], after);
        synced_elsewhere["syncInfo"] = synced_to(&elsewhere.id);
        wanted.push(synced_elsewhere);
    }
    let mut unwanted = Vec::new();
    for _ in 0..20 {
        let mut exported = raw(&[&sku(3)], after);
        exported["syncInfo"] = synced_to(&export.id);
        let mut cancelled = raw(&[&sku(3)], after);
        cancelled["orderState"] = "Cancelled".into();
        // createdAt must be strictly after the date.
        let too_old = raw(&[&sku(3)], since);
        let other_skus = raw(&["OTHER"], after);
        unwanted.extend([exported, cancelled, too_old, other_skus]);
    }
    let expected: BTreeSet<String> = wanted
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    for order in wanted.into_iter().chain(unwanted) {
        f.sim.insert_order_json(order).unwrap();
    }
    f.sim.reset_counters();

    let found = f
        .client
        .query_unexported_orders(&export.id, &skus, since, None)
        .await
        .unwrap();
    let ids: Vec<String> = found.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids.len(), 650);
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "sorted by id, each once"
    );
    // Chunk 1: 650 orders in pages of 500 and 150; chunks 2 and 3: one page each.
    assert_eq!(f.sim.requests_to(QUERY_ORDERS), 4);
}

#[tokio::test]
async fn the_update_hook_sees_each_applied_http_update_once() {
    use std::sync::{Arc, Mutex};

    let f = fixture().await;
    let entry = f
        .client
        .create_inventory("HOOK", Some(&f.warehouse.id), 10)
        .await
        .unwrap();
    let seen: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let record = seen.clone();
    f.sim.on_update(Some(Arc::new(move |after: &Value| {
        let sku = after["sku"].as_str().unwrap_or_default().to_string();
        let quantity = after["quantityOnStock"].as_i64().unwrap_or_default();
        record.lock().unwrap().push((sku, quantity));
    })));
    let change = [InventoryUpdateAction::ChangeQuantity { quantity: 4 }];
    f.client
        .update_inventory(&entry.id, entry.version, &change)
        .await
        .unwrap();
    // A refused update and the simulator's own changes are not HTTP updates that landed.
    f.client
        .update_inventory(&entry.id, entry.version, &change)
        .await
        .unwrap_err();
    f.sim
        .apply_inventory_actions(
            &entry.id,
            vec![json!({"action": "changeQuantity", "quantity": 3})],
        )
        .unwrap();
    f.sim.on_update(None);
    f.client
        .update_inventory(&entry.id, 3, &change)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [("HOOK".to_string(), 4)]);
}
