//! Shapes a real warehouse makes that the soak's warehouse needs too (issue 22): another sales
//! channel's order on the tenant, a tracking number whose callbacks are lost, and a hold whose
//! release overtakes it on the way to the connector.

use std::collections::BTreeMap;
use std::time::Duration;

use super::PvxSim;
use super::event::{SimEvent, timestamp};
use super::state::{SimOrderItem, SimSalesOrder};

impl PvxSim {
    /// A sales order of another sales channel sharing the tenant (an `AMZ-…` number, say):
    /// commercetools never had it. Lines `(item, units)`. Returns whether it was added (an
    /// existing number is left alone).
    pub fn add_other_channel_order(&self, number: &str, site: &str, lines: &[(&str, i64)]) -> bool {
        self.moving(|d| {
            if d.orders.contains_key(number) {
                return false;
            }
            let items = lines
                .iter()
                .enumerate()
                .map(|(i, (item, units))| SimOrderItem {
                    line: (i + 1).to_string(),
                    item_code: item.to_string(),
                    quantity: units.to_string(),
                    fields: BTreeMap::new(),
                })
                .collect();
            d.orders.insert(
                number.to_string(),
                SimSalesOrder {
                    number: number.to_string(),
                    site: site.to_string(),
                    fields: BTreeMap::new(),
                    items,
                },
            );
            true
        })
    }

    /// A package's tracking number arrives days after despatch and its callbacks are lost:
    /// Peoplevox shows the number, no event fires. Refused as
    /// [`PvxSim::set_package_tracking`] refuses.
    pub fn set_package_tracking_unannounced(
        &self,
        despatch_number: &str,
        package: u32,
        tracking: &str,
    ) -> anyhow::Result<()> {
        self.moving(|d| {
            let before = d.events.len();
            let result = d.set_package_tracking(despatch_number, package, tracking);
            d.events.truncate(before);
            result
        })
    }

    /// The warehouse holds an order and releases it a minute later, and the release's
    /// callback is sent first: the hold's event (older `LastModificationTime`) follows it.
    /// The order ends released. Returns whether it was held (not already held, known).
    pub fn hold_then_release_out_of_order(&self, order_number: &str) -> bool {
        self.moving(|d| {
            let before = d.events.len();
            if !d.set_on_hold(order_number, true) {
                return false;
            }
            d.set_on_hold(order_number, false);
            let mut fired = d.events.split_off(before);
            let earlier = timestamp(d.clock.now() - Duration::from_secs(60));
            if let Some(SimEvent::Status(hold)) = fired.first_mut() {
                hold.at = earlier;
            }
            fired.reverse();
            d.events.extend(fired);
            true
        })
    }
}

impl PvxSim {
    /// Whether the order's hold flag is set now (`None`: unknown order).
    pub fn is_on_hold(&self, order_number: &str) -> Option<bool> {
        self.data()
            .orders
            .get(order_number)
            .map(super::on_hold::is_held)
    }
}
