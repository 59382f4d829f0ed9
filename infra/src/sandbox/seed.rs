//! The sandbox's opening state: every item stocked at both sites in Peoplevox, commercetools
//! inventory as a sync of yesterday left it (a few entries off, for the reconciliation to find),
//! and some orders that never reached Peoplevox.

use anyhow::Context;

use super::SITES;
use crate::scenario;
use crate::testbed::Testbed;

/// `stock.safety_buffer` of the sandbox.
pub const SAFETY_BUFFER: u32 = 2;

/// Every how many items commercetools' entry is off.
const DRIFT_EVERY: usize = 25;

/// Seeds `bed`: stock for `catalog` at both sites, the inventory entries, `orders` orders.
pub fn seed(bed: &Testbed, catalog: &[String], orders: usize) -> anyhow::Result<()> {
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
        let mut order = bed.order(i, catalog);
        order["createdAt"] = placed.as_str().into();
        order["lastModifiedAt"] = placed.as_str().into();
        bed.ct
            .insert_order_json(order)
            .with_context(|| format!("seeding order {}", scenario::order_number(i)))?;
    }
    Ok(())
}
