//! Closing a part-despatched order short: the warehouse could not find the rest, so it ships
//! what it has and closes the order. What the order still held goes back to stock (as a
//! cancellation would free it), the missing units count as done (no later despatch or
//! second close), and the order reads `Despatched`, although fewer units left than were
//! ordered: the connector has to notice the short units from the despatches.
//! UNCONFIRMED: real tenants may close such an order with another status or keep it open.

use std::collections::BTreeMap;

use anyhow::{Context as _, ensure};

use super::PvxSim;
use super::order_status::STATUS_DESPATCHED;
use super::state::Data;

impl Data {
    /// Closes an order short, see [`PvxSim::finish_short`].
    pub fn finish_short(&mut self, order_number: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        let order = self
            .orders
            .get(order_number)
            .with_context(|| format!("Sales order '{order_number}' does not exist"))?;
        ensure!(
            self.despatches
                .values()
                .any(|d| d.order_number == order_number),
            "Sales order '{order_number}' has no despatch: it cannot be finished short"
        );
        let short: BTreeMap<String, i64> = self
            .undespatched(order)?
            .into_iter()
            .filter(|(_, units)| *units > 0)
            .collect();
        ensure!(
            !short.is_empty(),
            "Sales order '{order_number}' has nothing left to despatch: it cannot be finished short"
        );
        self.release_remaining(order_number);
        // Counted as done, so that the order can neither be despatched nor closed again.
        self.closed_short
            .insert(order_number.to_string(), short.clone());
        self.set_order_status(order_number, STATUS_DESPATCHED);
        Ok(short)
    }
}

impl PvxSim {
    /// The warehouse could not find the rest of a part-despatched order and closes it: what
    /// the order still holds allocated goes back to stock (availability callbacks), its
    /// status becomes `Despatched` (SalesOrderStatusChanges), and the units that never left
    /// are returned per item code; they count as done, so the order takes no further
    /// despatch. Refused (and nothing changes): an unknown order, an order without a
    /// despatch, or one with nothing left to despatch.
    pub fn finish_short(&self, order_number: &str) -> anyhow::Result<BTreeMap<String, i64>> {
        self.moving(|d| d.finish_short(order_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::despatch::{DespatchPlan, PackagePlan};
    use crate::sim::peoplevox::order_status::STATUS_FIELD;
    use crate::sim::peoplevox::state::SimStock;

    fn data() -> Data {
        let mut data = crate::sim::peoplevox::state::one_order(&[("1", "A", "3"), ("2", "B", "2")]);
        data.take_events();
        data
    }

    fn despatch(data: &mut Data, lines: &[(&str, i64)]) {
        let plan = DespatchPlan {
            lines: lines.iter().map(|(i, n)| ((*i).to_string(), *n)).collect(),
            ..DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()])
        };
        data.despatch("SO-1", plan).unwrap();
        data.take_events();
    }

    #[test]
    fn the_rest_goes_back_to_stock_and_the_order_reads_despatched() {
        let mut data = data();
        despatch(&mut data, &[("A", 1)]);
        let short = data.finish_short("SO-1").unwrap();
        assert_eq!(
            short,
            BTreeMap::from([("A".to_string(), 2), ("B".to_string(), 2)])
        );
        assert_eq!(data.orders["SO-1"].fields[STATUS_FIELD], STATUS_DESPATCHED);
        assert_eq!(data.position("S", "A"), SimStock::new(9, 0));
        assert_eq!(data.position("S", "B"), SimStock::new(10, 0));
        let types = data.take_event_types();
        assert_eq!(
            types,
            vec![
                "AvailabilityChanges",
                "AvailabilityChanges",
                "SalesOrderStatusChanges"
            ]
        );
        let err = data.finish_short("SO-1").unwrap_err().to_string();
        assert!(err.contains("nothing left"), "{err}");
        let plan = DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()]);
        let err = data.despatch("SO-1", plan).unwrap_err().to_string();
        assert!(
            err.contains("nothing left"),
            "a closed order ships no more: {err}"
        );
    }

    #[test]
    fn refused_without_a_despatch_or_an_order() {
        let mut data = data();
        let err = data.finish_short("SO-1").unwrap_err().to_string();
        assert!(err.contains("'SO-1' has no despatch"), "{err}");
        let err = data.finish_short("SO-9").unwrap_err().to_string();
        assert!(err.contains("'SO-9' does not exist"), "{err}");
        assert_eq!(data.allocated_for("SO-1"), 5);
        assert!(data.take_events().is_empty());

        despatch(&mut data, &[]);
        let err = data.finish_short("SO-1").unwrap_err().to_string();
        assert!(err.contains("nothing left"), "{err}");
    }
}
