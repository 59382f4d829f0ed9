//! The test handle's side of despatches: despatching orders, tracking numbers arriving
//! late, and reading back what left the warehouse. Each call fires the callbacks Peoplevox
//! would (stock, package, tracking and order status events) before it returns.

use std::collections::BTreeMap;

use super::PvxSim;
use super::despatch::{DespatchPlan, SimDespatch};

impl PvxSim {
    /// Despatches (part of) a sales order at the order's site, on the simulator's clock.
    ///
    /// Empty `plan.lines` means everything the order still has to despatch. Refused (and
    /// nothing changes): an unknown order, no packages, a blank carrier, a bad weight, an
    /// item not on the order, non-positive units, more units than are left to despatch,
    /// nothing left at all, or an order line whose quantity is not whole units.
    ///
    /// The units leave the shelf from the order's allocations (`on_hand` and `allocated`
    /// drop, `available` stays; IncrementalChanges with reason `Despatch`); the order's
    /// `Status` becomes `Despatched` or `Partially despatched` (SalesOrderStatusChanges when
    /// it changed); every package fires DespatchPackageDespatched, every tracked package
    /// DespatchPackageTrackingNumberReceived, and a despatch with any tracking number
    /// TrackingNumberReceived.
    pub fn despatch(&self, order_number: &str, plan: DespatchPlan) -> anyhow::Result<SimDespatch> {
        self.moving(|d| d.despatch(order_number, plan))
    }

    /// A package's tracking number arrives after despatch (or is corrected): fires
    /// DespatchPackageTrackingNumberReceived and TrackingNumberReceived with the new
    /// number. Setting the number a package already has changes and fires nothing. Refused:
    /// an unknown despatch or package, a blank number.
    pub fn set_package_tracking(
        &self,
        despatch_number: &str,
        package: u32,
        tracking: &str,
    ) -> anyhow::Result<()> {
        self.moving(|d| d.set_package_tracking(despatch_number, package, tracking))
    }

    /// Every despatch, by number.
    pub fn despatches(&self) -> Vec<SimDespatch> {
        self.data().despatches.values().cloned().collect()
    }

    /// One despatch.
    pub fn despatch_by_number(&self, number: &str) -> Option<SimDespatch> {
        self.data().despatches.get(number).cloned()
    }

    /// Units of an order despatched so far, by item code.
    pub fn despatched_units(&self, order_number: &str) -> BTreeMap<String, i64> {
        self.data().despatched_units(order_number)
    }
}
