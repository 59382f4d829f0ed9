//! The test handle's side of returns: booking one in (which fires the `Returns` callbacks
//! before the call returns) and reading back what came back, for a scenario's checks.

use super::PvxSim;
use super::returns::{ReturnLine, SimReturn};

impl PvxSim {
    /// Books a customer return of goods despatched on a sales order, at the order's site
    /// and on the simulator's clock; returns its code (`RET-000001`, ...).
    ///
    /// Refused (and nothing is recorded or announced): an unknown order, no lines, a line
    /// with no units, an item not despatched on the order, or more units of an item (summed
    /// over the call's lines) than were despatched and not returned already.
    ///
    /// Stock does not move: putting returned goods away is a separate goods-in
    /// ([`PvxSim::goods_in`]) the scenario decides on. Fires `Returns`; the lines show in
    /// the "Return summary" report.
    pub fn record_return(
        &self,
        order_number: &str,
        lines: &[ReturnLine],
    ) -> anyhow::Result<String> {
        self.moving(|d| d.record_return(order_number, lines))
            .map(|r| r.code)
    }

    /// Every return, by code.
    pub fn returns(&self) -> Vec<SimReturn> {
        self.data().returns.values().cloned().collect()
    }
}
