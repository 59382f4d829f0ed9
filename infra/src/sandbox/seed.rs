//! The sandbox's opening state: every item stocked at both sites in Peoplevox, commercetools
//! inventory as a sync of yesterday left it (a few entries off, for the reconciliation to find),
//! and some orders that never reached Peoplevox.

use std::collections::BTreeMap;

use anyhow::Context;

use super::SITES;
use crate::scenario;
use crate::testbed::Testbed;

/// `stock.safety_buffer` of the sandbox.
pub const SAFETY_BUFFER: u32 = 2;

/// Every how many items commercetools' entry is off.
const DRIFT_EVERY: usize = 25;

/// What seeding left behind.
pub struct Seeded {
    /// The scenario index of the next order the storefront places.
    pub next_order: usize,
}

/// Seeds `bed`: stock for `catalog` at both sites, the inventory entries, `orders` orders.
pub fn seed(bed: &Testbed, catalog: &[String], orders: usize) -> anyhow::Result<Seeded> {
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    for (site_no, (site, _)) in SITES.iter().enumerate() {
        let channel = bed
            .site_channels
            .get(*site)
            .with_context(|| format!("no supply channel for {site}"))?;
        for (i, item) in catalog.iter().enumerate() {
            // Deterministic and varied: 4 to 48 units.
            let available = i64::try_from(4 + (i * 7 + site_no * 11) % 45)?;
            rows.push((site.to_string(), item.clone(), available, available));
            let sellable = (available - i64::from(SAFETY_BUFFER)).max(0);
            let off = if i % DRIFT_EVERY == 0 { 3 } else { 0 };
            entries.push((item.clone(), Some(channel.clone()), sellable + off));
        }
    }
    bed.pvx.set_stock_bulk(rows);
    bed.ct
        .insert_inventory_bulk(entries)
        .context("seeding commercetools inventory")?;
    // Placed two hours ago: past the reconciliation's grace for orders still on their way.
    let placed = (time::OffsetDateTime::now_utc() - time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)?;
    for i in 1..=orders {
        let mut order = order(bed, i, catalog);
        order["createdAt"] = placed.as_str().into();
        order["lastModifiedAt"] = placed.as_str().into();
        bed.ct
            .insert_order_json(order)
            .with_context(|| format!("seeding order {}", scenario::order_number(i)))?;
    }
    Ok(Seeded {
        next_order: orders + 1,
    })
}

/// Scenario order `i`, supplied from the sandbox's channels (`uk` → UK-DC, `eu` → EU-DC).
pub fn order(bed: &Testbed, i: usize, catalog: &[String]) -> serde_json::Value {
    let channel_of: BTreeMap<&str, String> = [("uk", "UK-DC"), ("eu", "EU-DC")]
        .into_iter()
        .filter_map(|(store, site)| Some((store, bed.site_channels.get(site)?.clone())))
        .collect();
    scenario::order_from(i, 1 + i % 3, catalog, |store| {
        channel_of.get(store).cloned().unwrap_or_default()
    })
}
