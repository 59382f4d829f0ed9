//! Customer returns as the warehouse books them in: against a sales order, per item, with
//! a reason and the condition the goods came back in. A return can only take back what
//! left on that order and was not returned already, so a scenario cannot book returns the
//! connector could never reconcile.
//!
//! Booking a return does not change stock: putting returned goods back on the shelf is a
//! separate goods-in (or adjustment) that warehouse staff decide on after inspecting the
//! condition, so a scenario that wants them sellable again calls `goods_in` itself.

use std::collections::BTreeMap;

use anyhow::{Context as _, ensure};
use time::OffsetDateTime;

use super::return_event::ReturnEvent;
use super::state::Data;

/// One returned item of a return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    /// Item code; must have been despatched on the order.
    pub item: String,
    /// Units returned, more than 0.
    pub quantity: i64,
    /// Why the customer sent it back, e.g. `Too small` (free text).
    pub reason: String,
    /// What state it came back in, e.g. `Resaleable` (free text).
    pub condition: String,
}

/// A return as the warehouse recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReturn {
    /// `RET-000001`, `RET-000002`, ...: unique and sequential per simulator. The real
    /// numbering scheme is UNCONFIRMED; consumers must treat it as opaque.
    pub code: String,
    /// The sales order the goods were despatched on.
    pub order_number: String,
    /// The order's site.
    pub site: String,
    /// When it was booked in: the simulator's clock, UTC.
    pub date: OffsetDateTime,
    /// Lines as given (several lines of one item stay apart: they may differ in reason).
    pub lines: Vec<ReturnLine>,
}

/// The return code for a sequence number.
pub fn return_code(sequence: u64) -> String {
    format!("RET-{sequence:06}")
}

impl Data {
    /// Books a return, see [`super::PvxSim::record_return`].
    pub fn record_return(
        &mut self,
        order_number: &str,
        lines: &[ReturnLine],
    ) -> anyhow::Result<SimReturn> {
        let site = self
            .orders
            .get(order_number)
            .map(|o| o.site.clone())
            .with_context(|| format!("Sales order '{order_number}' does not exist"))?;
        ensure!(
            !lines.is_empty(),
            "a return of sales order '{order_number}' needs at least one line"
        );
        let mut asked: BTreeMap<&str, i64> = BTreeMap::new();
        for line in lines {
            ensure!(
                line.quantity > 0,
                "cannot return {} units of '{}'",
                line.quantity,
                line.item
            );
            *asked.entry(line.item.as_str()).or_default() += line.quantity;
        }
        let despatched = self.despatched_units(order_number);
        let returned = self.returned_units(order_number);
        for (item, units) in asked {
            let sent = despatched.get(item).copied().unwrap_or_default();
            ensure!(
                sent > 0,
                "Item '{item}' was not despatched on sales order '{order_number}'"
            );
            let back = returned.get(item).copied().unwrap_or_default();
            ensure!(
                units <= sent - back,
                "Sales order '{order_number}' has {} units of '{item}' left to return \
                 ({sent} despatched, {back} returned), not {units}",
                sent - back
            );
        }

        // Checked: from here on nothing fails.
        self.last_return += 1;
        let record = SimReturn {
            code: return_code(self.last_return),
            order_number: order_number.to_string(),
            site,
            date: self.clock.now(),
            lines: lines.to_vec(),
        };
        self.events.push(ReturnEvent::of(&record).into());
        self.returns.insert(record.code.clone(), record.clone());
        Ok(record)
    }

    /// Units of an order returned so far, by item.
    pub fn returned_units(&self, order_number: &str) -> BTreeMap<String, i64> {
        let mut units = BTreeMap::new();
        for line in self
            .returns
            .values()
            .filter(|r| r.order_number == order_number)
            .flat_map(|r| &r.lines)
        {
            *units.entry(line.item.clone()).or_default() += line.quantity;
        }
        units
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::despatch::{DespatchPlan, PackagePlan};
    use crate::sim::peoplevox::event::SimEvent;
    use crate::sim::peoplevox::state::SimStock;
    use time::macros::datetime;

    /// SO-1 orders 3 A and 1 B and has despatched 2 A and 1 B.
    fn data() -> Data {
        let mut data = crate::sim::peoplevox::state::one_order(&[("1", "A", "3"), ("2", "B", "1")]);
        let plan = DespatchPlan {
            lines: vec![("A".into(), 2), ("B".into(), 1)],
            ..DespatchPlan::everything("C", "S", vec![PackagePlan::untracked()])
        };
        data.despatch("SO-1", plan).unwrap();
        data.clock.pin(Some(datetime!(2026-12-01 10:00 UTC)));
        data.take_events();
        data
    }

    fn line(item: &str, quantity: i64, reason: &str) -> ReturnLine {
        ReturnLine {
            item: item.into(),
            quantity,
            reason: reason.into(),
            condition: "Resaleable".into(),
        }
    }

    #[test]
    fn refused_returns_record_nothing() {
        let mut data = data();
        let stock = data.position("S", "A");
        for (order, lines, why) in [
            ("SO-9", vec![line("A", 1, "r")], "'SO-9' does not exist"),
            ("SO-1", vec![], "at least one line"),
            ("SO-1", vec![line("A", 0, "r")], "cannot return 0 units"),
            ("SO-1", vec![line("C", 1, "r")], "'C' was not despatched"),
            (
                "SO-1",
                vec![line("A", 3, "r")],
                "2 units of 'A' left to return",
            ),
            ("SO-1", vec![line("A", 1, "r"), line("A", 2, "s")], "not 3"),
        ] {
            let err = data.record_return(order, &lines).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        assert!(data.returns.is_empty() && data.take_events().is_empty());
        assert_eq!(data.last_return, 0);
        assert_eq!(data.position("S", "A"), stock);
    }

    #[test]
    fn returns_are_numbered_dated_announced_and_counted_against_the_despatch() {
        let mut data = data();
        let first = data
            .record_return("SO-1", &[line("A", 1, "Too small"), line("B", 1, "Faulty")])
            .unwrap();
        assert_eq!(first.code, "RET-000001");
        assert_eq!(
            (first.site.as_str(), first.date),
            ("S", datetime!(2026-12-01 10:00 UTC))
        );
        let events = data.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        let SimEvent::Return(event) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(event.return_code, "RET-000001");

        let err = data
            .record_return("SO-1", &[line("B", 1, "again")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("0 units of 'B' left to return"), "{err}");
        let second = data.record_return("SO-1", &[line("A", 1, "Late")]).unwrap();
        assert_eq!(second.code, "RET-000002");
        assert_eq!(
            data.returned_units("SO-1"),
            BTreeMap::from([("A".to_string(), 2), ("B".to_string(), 1)])
        );
        assert_eq!(
            data.position("S", "A"),
            SimStock::new(8, 1),
            "a return moves no stock"
        );
        assert_eq!(return_code(1_234_567), "RET-1234567");
    }
}
