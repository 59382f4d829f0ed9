//! Inventory queries at scale: answers identical to a straightforward evaluation (every
//! entry tested, the matches sorted, then paged), the index kept by create, and, ignored by
//! default, timings at the nightly reconcile's 300,000 entries.

use std::time::Instant;

use serde_json::{Value, json};

use super::channels::create_channel;
use super::inventory::{Inventory, create_entries, create_entry, find_entry};
use super::predicate::Predicate;
use super::query::PagedQuery;
use super::resource::Resource;
use super::sort::Sort;
use super::state::Store;

fn sku(n: usize) -> String {
    format!("SKU-{n:06}")
}

/// `skus` skus in each of 3 channels, plus channel-less entries for every 10th sku.
fn seeded(skus: usize) -> (Store, Vec<String>) {
    let mut store = Store::default();
    let channels: Vec<String> = (0..3)
        .map(|n| {
            let channel = create_channel(&mut store, &json!({"key": format!("wh-{n}")})).unwrap();
            channel["id"].as_str().unwrap().to_string()
        })
        .collect();
    let entries = channels
        .iter()
        .flat_map(|c| (0..skus).map(move |n| (sku(n), Some(c.clone()), (n % 40) as i64)))
        .chain((0..skus).step_by(10).map(|n| (sku(n), None, 1)));
    let entries: Vec<_> = entries.collect();
    create_entries(&mut store, entries).unwrap();
    (store, channels)
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// The answer as served: the resource's index, the id range, the early stop.
fn served(store: &Store, params: &[(String, String)]) -> Value {
    let query = PagedQuery::parse(params, Inventory::QUERY_FIELDS).unwrap();
    let candidates = Inventory::candidates(store, query.predicates());
    query.answer(&store.inventory, candidates)
}

/// The matches as a straightforward evaluation finds them: every entry tested against every
/// `where`, then sorted (stable).
fn straightforward<'s>(store: &'s Store, wheres: &[&str], sort: Option<&str>) -> Vec<&'s Value> {
    let fields = Inventory::QUERY_FIELDS;
    let predicates: Vec<Predicate> = wheres
        .iter()
        .map(|w| Predicate::parse(w, fields).unwrap())
        .collect();
    let sorts: Vec<Sort> = sort
        .map(|s| Sort::parse(s, fields).unwrap())
        .into_iter()
        .collect();
    let mut matching: Vec<&Value> = store
        .inventory
        .values()
        .filter(|r| predicates.iter().all(|p| p.matches(r)))
        .collect();
    matching.sort_by(|a, b| {
        sorts
            .iter()
            .map(|s| s.cmp(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    matching
}

/// A PagedQueryResult of `matching`.
fn paged(matching: &[&Value], limit: usize, offset: usize, with_total: bool) -> Value {
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| (*v).clone())
        .collect();
    let mut page =
        json!({"limit": limit, "offset": offset, "count": results.len(), "results": results});
    if with_total {
        page["total"] = matching.len().into();
    }
    page
}

/// The served answers of `wheres` and `sort`, for each (limit, offset, withTotal), are
/// those of a straightforward evaluation.
fn same(store: &Store, wheres: &[&str], sort: Option<&str>, pagings: &[(usize, usize, bool)]) {
    let matching = straightforward(store, wheres, sort);
    for &(limit, offset, with_total) in pagings {
        let (limit_text, offset_text) = (limit.to_string(), offset.to_string());
        let mut pairs: Vec<(&str, &str)> = wheres.iter().map(|w| ("where", *w)).collect();
        pairs.extend([
            ("limit", limit_text.as_str()),
            ("offset", offset_text.as_str()),
            ("withTotal", if with_total { "true" } else { "false" }),
        ]);
        pairs.extend(sort.map(|s| ("sort", s)));
        assert_eq!(
            served(store, &params(&pairs)),
            paged(&matching, limit, offset, with_total),
            "{pairs:?}"
        );
    }
}

fn ids(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

#[test]
fn walking_a_channel_by_id_ranges_reads_as_a_full_scan_does() {
    let (store, channels) = seeded(10_000);
    let channel = format!(r#"supplyChannel(id="{}")"#, channels[1]);
    // Pages of 500 by id from `from` (inclusive) up to `to` (exclusive), as a client
    // walking one part of the id space does; each page full but the last.
    let walk = |from: Option<&str>, to: Option<&str>| {
        let mut seen: Vec<String> = Vec::new();
        loop {
            let mut predicate = channel.clone();
            if let Some(from) = from {
                predicate += &format!(r#" and id >= "{from}""#);
            }
            if let Some(to) = to {
                predicate += &format!(r#" and id < "{to}""#);
            }
            if let Some(last) = seen.last() {
                predicate += &format!(r#" and id > "{last}""#);
            }
            let page = served(
                &store,
                &params(&[
                    ("where", &predicate),
                    ("sort", "id asc"),
                    ("limit", "500"),
                    ("withTotal", "false"),
                ]),
            );
            let page = ids(&page);
            seen.extend(page.iter().map(|id| id.to_string()));
            if page.len() < 500 {
                return seen;
            }
        }
    };
    let everything: Vec<String> = straightforward(&store, &[&channel], Some("id asc"))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(everything.len(), 10_000);
    assert_eq!(walk(None, None), everything);
    // Three parts of the id space, walked one after the other, cover the channel once.
    let mut parts = walk(None, Some("4"));
    parts.extend(walk(Some("4"), Some("8")));
    parts.extend(walk(Some("8"), None));
    assert_eq!(parts, everything);
    // A first page, a later one, and one with a total, each as a full scan answers.
    let later = format!(
        r#"{channel} and id >= "4" and id < "8" and id > "{}""#,
        everything[5_000]
    );
    let pagings = [(500, 0, false), (500, 0, true)];
    for wheres in [vec![channel.as_str()], vec![later.as_str()]] {
        same(&store, &wheres, Some("id asc"), &pagings);
    }
}

#[test]
fn every_query_shape_answers_as_a_straightforward_evaluation_does() {
    let (store, channels) = seeded(2_000);
    let channel = format!(r#"supplyChannel(id="{}")"#, channels[0]);
    let list: Vec<String> = (500..1_000).map(|n| format!("\"{}\"", sku(n))).collect();
    let in_list = format!("sku in ({})", list.join(", "));
    let some_id = store.inventory.keys().nth(1_234).unwrap().clone();
    let wheres = [
        format!("{channel} and {in_list}"),
        in_list.clone(),
        format!("supplyChannel is not defined and {in_list}"),
        format!("{in_list} or sku = \"SKU-001999\""),
        format!("not({in_list}) and {channel}"),
        format!("{channel} and sku not in ({})", list.join(", ")),
        format!("sku = \"{}\"", sku(30)),
        format!("{channel} and id >= \"{some_id}\" and id <= \"{some_id}\""),
        format!("id = \"{some_id}\""),
        format!("id > \"{some_id}\" and id < \"{some_id}\""),
        format!("id >= \"{some_id}\" and id < \"{some_id}\""),
        "id > \"f\" and id < \"a\"".to_string(),
        format!("{channel} and id > \"c\" and id <= \"d\" and id != \"c5\""),
        format!("{channel} and (id < \"1\" or id > \"e\")"),
        format!("{channel} and quantityOnStock > 30"),
        format!(
            "sku in (\"{}\", \"SKU-none\") and supplyChannel(id in (\"{}\", \"{}\"))",
            sku(7),
            channels[0],
            channels[2]
        ),
    ];
    let sorts = [
        None,
        Some("id asc"),
        Some("id desc"),
        Some("sku desc"),
        Some("quantityOnStock asc"),
    ];
    let pagings = [(500, 0, false), (20, 30, true), (7, 0, true)];
    for predicate in &wheres {
        for sort in sorts {
            same(&store, &[predicate], sort, &pagings);
        }
    }
    // Several `where`s are ANDed, and narrow together.
    same(&store, &[&in_list, &channel, "id > \"8\""], None, &pagings);
    // An `in` list finds what the `or` of its equalities finds.
    let ors: Vec<String> = list.iter().take(40).map(|s| format!("sku = {s}")).collect();
    let as_or = served(
        &store,
        &params(&[("where", &ors.join(" or ")), ("limit", "500")]),
    );
    let short_in = format!("sku in ({})", list[..40].join(", "));
    let as_in = served(&store, &params(&[("where", &short_in), ("limit", "500")]));
    assert_eq!(as_in, as_or);
    assert_eq!(as_in["count"], 40 * 3 + 4);
}

#[test]
fn the_index_follows_creates_and_refuses_duplicates() {
    let (mut store, channels) = seeded(100);
    let wh = channels[2].as_str();
    let entry = find_entry(&store, &sku(42), Some(wh)).unwrap();
    assert_eq!(entry["supplyChannel"]["id"], wh);
    assert_eq!(entry["sku"], sku(42));
    assert!(find_entry(&store, &sku(42), None).is_none());
    assert!(find_entry(&store, &sku(40), None).is_some());
    let duplicate = json!({"sku": sku(42), "quantityOnStock": 1,
                           "supplyChannel": {"typeId": "channel", "id": wh}});
    assert_eq!(
        create_entry(&mut store, &duplicate).unwrap_err().code(),
        "DuplicateField"
    );
    let keyed = json!({"sku": "NEW", "quantityOnStock": 1, "key": "new-1"});
    let created = create_entry(&mut store, &keyed).unwrap();
    assert_eq!(find_entry(&store, "NEW", None), Some(&created));
    assert_eq!(
        Inventory::id_by_alias(&store, "new-1").as_deref(),
        created["id"].as_str()
    );
    let same_key = json!({"sku": "OTHER", "quantityOnStock": 1, "key": "new-1"});
    assert_eq!(
        create_entry(&mut store, &same_key).unwrap_err().code(),
        "DuplicateField"
    );
    // A bulk create is all or nothing.
    let count = store.inventory.len();
    for refused in [
        vec![("A".to_string(), Some("no-such-channel".to_string()), 1)],
        vec![("A".to_string(), None, 1), ("A".to_string(), None, 2)],
        vec![
            ("B".to_string(), None, 1),
            (sku(42), Some(wh.to_string()), 2),
        ],
    ] {
        assert!(create_entries(&mut store, refused).is_err());
        assert_eq!(store.inventory.len(), count);
    }
    assert_eq!(
        create_entries(&mut store, vec![("A".into(), Some(wh.into()), 3)]),
        Ok(1)
    );
    assert_eq!(
        find_entry(&store, "A", Some(wh)).unwrap()["availableQuantity"],
        3
    );
}

#[tokio::test]
async fn bulk_seeding_creates_all_or_nothing() {
    use ctpvx_shared::commercetools::types::ChannelRole;
    let sim = super::CtSim::start(super::CtSimConfig::default())
        .await
        .unwrap();
    let wh = sim
        .ensure_channel("wh", &[ChannelRole::InventorySupply])
        .unwrap()
        .id;
    let entries = (0..1_000).map(|n| (sku(n), Some(wh.clone()), n as i64));
    assert_eq!(sim.insert_inventory_bulk(entries).unwrap(), 1_000);
    let entry = sim.inventory_entry(&sku(999), Some(&wh)).unwrap();
    assert_eq!(
        (entry.quantity_on_stock, entry.available_quantity),
        (999, 999)
    );
    let again = [(sku(5), None, 1), (sku(999), Some(wh.clone()), 1)];
    assert!(sim.insert_inventory_bulk(again).is_err());
    assert!(sim.inventory_entry(&sku(5), None).is_none());
    assert_eq!(sim.inventory_entries().len(), 1_000);
    sim.stop().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `f` `runs` times (after a warm-up) and prints the fastest and the median run: on a
/// shared machine the fastest is the simulator's own cost, the median what a client sees.
fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut out = f();
    let mut took = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "{label}: fastest {:?}, median {:?} per request",
        took[0],
        took[took.len() / 2]
    );
    out
}

/// A served query with its answer serialised, as the handler does.
fn timed_query(store: &Store, pairs: &[(&str, &str)]) -> Value {
    let page = served(store, &params(pairs));
    assert!(serde_json::to_vec(&page).is_ok());
    page
}

#[test]
#[ignore = "timings at 300,000 inventory entries; run in release with --nocapture"]
fn inventory_timings_at_300k_entries() {
    let before = rss_kib();
    let start = Instant::now();
    let mut store = Store::default();
    let channels: Vec<String> = (0..3)
        .map(|n| {
            let channel = create_channel(&mut store, &json!({"key": format!("wh-{n}")})).unwrap();
            channel["id"].as_str().unwrap().to_string()
        })
        .collect();
    let entries: Vec<_> = channels
        .iter()
        .flat_map(|c| (0..100_000).map(move |n| (sku(n), Some(c.clone()), 5)))
        .collect();
    create_entries(&mut store, entries).unwrap();
    let grown = rss_kib().saturating_sub(before);
    println!(
        "seeded 300,000 entries in {:?}; RSS +{grown} KiB = {} bytes per entry",
        start.elapsed(),
        grown * 1024 / 300_000
    );
    let channel = format!(r#"supplyChannel(id="{}")"#, channels[1]);
    let page = time("first page of 500", 15, || {
        timed_query(
            &store,
            &[
                ("where", &channel),
                ("sort", "id asc"),
                ("limit", "500"),
                ("withTotal", "false"),
            ],
        )
    });
    let last = ids(&page)[499].to_string();
    let next = format!(r#"{channel} and id > "{last}""#);
    time("next page of 500 (id >)", 15, || {
        timed_query(
            &store,
            &[
                ("where", &next),
                ("sort", "id asc"),
                ("limit", "500"),
                ("withTotal", "false"),
            ],
        )
    });
    let ranged = format!(r#"{channel} and id > "4" and id < "8""#);
    time("page of 500 in a range (id > and id <)", 15, || {
        timed_query(
            &store,
            &[
                ("where", &ranged),
                ("sort", "id asc"),
                ("limit", "500"),
                ("withTotal", "false"),
            ],
        )
    });
    let list: Vec<String> = (20_000..20_500)
        .map(|n| format!("\"{}\"", sku(n)))
        .collect();
    let by_skus = format!("{channel} and sku in ({})", list.join(", "));
    let page = time("sku in (500 skus)", 15, || {
        timed_query(
            &store,
            &[
                ("where", &by_skus),
                ("limit", "500"),
                ("withTotal", "false"),
            ],
        )
    });
    assert_eq!(page["count"], 500);
    time("find_entry", 15, || {
        find_entry(&store, &sku(99_999), Some(&channels[2])).is_some()
    });
    let mut n = 0;
    time("create_entry", 15, || {
        n += 1;
        create_entry(
            &mut store,
            &json!({"sku": format!("NEW-{n}"), "quantityOnStock": 1}),
        )
        .is_ok()
    });
}
