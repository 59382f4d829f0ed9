//! Stock movements of the simulated warehouse: goods in, adjustments, allocation of sales
//! order lines (with the shortfall the harness counts as oversells) and picks. Every
//! movement records the events Peoplevox would announce; the caller hands them to the
//! callback dispatcher while it still holds the data mutex, so callbacks leave in the order
//! the movements happened.

use super::event::{SimEvent, StockEvent, timestamp};
use super::state::{Data, LineAllocation, SimStock};

/// `{Reason}` of a goods-in movement.
pub const REASON_GOODS_IN: &str = "Goods in";
/// `{Reason}` of a pick.
pub const REASON_PICK: &str = "Pick";
/// `{Reason}` of a despatch. UNCONFIRMED: the real reason text is not documented; the
/// simulator moves despatched units off the shelf in one step, where a real warehouse
/// moves them at pick and again at despatch.
pub const REASON_DESPATCH: &str = "Despatch";

fn key(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

impl Data {
    /// Test setup: sets a position outright (allocated = on_hand - available) and records no
    /// event, because nothing moved in the warehouse.
    pub fn set_stock(&mut self, site: &str, item: &str, available: i64, on_hand: i64) {
        self.stock
            .insert(key(site, item), SimStock::new(on_hand, on_hand - available));
    }

    /// [`Data::set_stock`] for many `(site, item, available, on_hand)` positions, taking their
    /// strings as they are. Returns how many were set.
    pub fn set_stock_bulk(
        &mut self,
        rows: impl IntoIterator<Item = (String, String, i64, i64)>,
    ) -> usize {
        let mut count = 0;
        for (site, item, available, on_hand) in rows {
            self.stock
                .insert((site, item), SimStock::new(on_hand, on_hand - available));
            count += 1;
        }
        count
    }

    /// The position of an item at a site (all zero when never stocked).
    pub fn position(&self, site: &str, item: &str) -> SimStock {
        self.stock
            .get(&key(site, item))
            .copied()
            .unwrap_or_default()
    }

    /// Received goods: `on_hand += qty`. A non-positive quantity receives nothing.
    pub fn goods_in(&mut self, site: &str, item: &str, qty: i64) {
        if qty > 0 {
            self.apply(site, item, qty, 0, REASON_GOODS_IN);
        }
    }

    /// A stock adjustment: `on_hand += delta`, reduced so that `available` never goes below
    /// 0 (allocated units cannot be counted away). Returns the delta applied.
    pub fn adjust(&mut self, site: &str, item: &str, delta: i64, reason: &str) -> i64 {
        let stock = self.position(site, item);
        // At most down to `allocated` (and never below 0); never a rise for a fall.
        let floor = stock.allocated.max(0) - stock.on_hand;
        let applied = delta.max(floor.min(0));
        self.apply(site, item, applied, 0, reason);
        applied
    }

    /// Allocates a sales order line that has no allocation yet: `min(qty, available)` units,
    /// the rest is a shortfall. A quantity that is not an integer allocates nothing.
    pub fn allocate_line(&mut self, order: &str, line: &str, site: &str, item: &str, qty: &str) {
        let line_key = key(order, line);
        if self.line_allocations.contains_key(&line_key) {
            return;
        }
        let Ok(qty) = qty.trim().parse::<i64>() else {
            return;
        };
        if qty <= 0 {
            return;
        }
        let allocated = qty.min(self.position(site, item).available.max(0));
        self.apply(site, item, 0, allocated, "");
        if qty > allocated {
            *self.shortfalls.entry(key(site, item)).or_default() += qty - allocated;
        }
        self.line_allocations.insert(
            line_key,
            LineAllocation {
                site: site.to_string(),
                item: item.to_string(),
                allocated,
            },
        );
    }

    /// A deleted line gives back what it still holds; its shortfall stays counted.
    pub fn release_line(&mut self, order: &str, line: &str) {
        if let Some(a) = self.line_allocations.remove(&key(order, line)) {
            self.apply(&a.site, &a.item, 0, -a.allocated, "");
        }
    }

    /// A deleted order gives back what every line still holds.
    pub fn release_order(&mut self, order: &str) {
        for (o, line) in self.allocated_lines(order) {
            self.release_line(&o, &line);
        }
    }

    /// An order closed short gives back what its lines still hold, but keeps their (now
    /// empty) allocations: a closed order must not allocate again when its lines are
    /// re-imported, which a removed allocation would let happen.
    pub fn release_remaining(&mut self, order: &str) {
        for line_key in self.allocated_lines(order) {
            let Some(a) = self.line_allocations.get_mut(&line_key) else {
                continue;
            };
            let (site, item, units) = (a.site.clone(), a.item.clone(), a.allocated);
            a.allocated = 0;
            if units > 0 {
                self.apply(&site, &item, 0, -units, "");
            }
        }
    }

    /// Picks every allocated line of an order: the units leave the shelf (`on_hand` and
    /// `allocated` both drop, `available` does not move). Returns the units picked.
    pub fn pick_order(&mut self, order: &str) -> i64 {
        let mut picked = 0;
        for line_key in self.allocated_lines(order) {
            let Some(a) = self.line_allocations.get_mut(&line_key) else {
                continue;
            };
            let (site, item, units) = (a.site.clone(), a.item.clone(), a.allocated);
            a.allocated = 0;
            if units > 0 {
                self.apply(&site, &item, -units, -units, REASON_PICK);
                picked += units;
            }
        }
        picked
    }

    /// Despatches `units` of `item` from an order: its lines of that item give up what they
    /// still hold, line by line, up to `units`, and those units leave the shelf (`on_hand`
    /// and `allocated` drop, `available` does not move; one IncrementalChanges per site).
    /// Units beyond the allocation move no stock: they were picked already, or never
    /// allocated (a shortfall), and the simulator does not invent stock for them. Returns
    /// the units taken from allocations.
    pub fn consume_allocation(&mut self, order: &str, item: &str, units: i64) -> i64 {
        let mut left = units.max(0);
        let mut by_site: Vec<(String, i64)> = Vec::new();
        for line_key in self.allocated_lines(order) {
            if left == 0 {
                break;
            }
            let Some(a) = self.line_allocations.get_mut(&line_key) else {
                continue;
            };
            if a.item != item || a.allocated <= 0 {
                continue;
            }
            let taken = a.allocated.min(left);
            a.allocated -= taken;
            left -= taken;
            match by_site.iter_mut().find(|(s, _)| *s == a.site) {
                Some((_, n)) => *n += taken,
                None => by_site.push((a.site.clone(), taken)),
            }
        }
        let mut consumed = 0;
        for (site, n) in by_site {
            self.apply(&site, item, -n, -n, REASON_DESPATCH);
            consumed += n;
        }
        consumed
    }

    /// Units the order's lines hold right now.
    pub fn allocated_for(&self, order: &str) -> i64 {
        self.line_allocations
            .iter()
            .filter(|((o, _), _)| o == order)
            .map(|(_, a)| a.allocated)
            .sum()
    }

    /// The event types announced since the last take (tests).
    #[cfg(test)]
    pub(crate) fn take_event_types(&mut self) -> Vec<&'static str> {
        self.take_events()
            .iter()
            .map(SimEvent::event_type)
            .collect()
    }

    /// Hands over the events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.events)
    }

    fn allocated_lines(&self, order: &str) -> Vec<(String, String)> {
        self.line_allocations
            .keys()
            .filter(|(o, _)| o == order)
            .cloned()
            .collect()
    }

    /// The one place a position changes; records an availability event when `available`
    /// moved and an incremental one when `on_hand` moved.
    fn apply(&mut self, site: &str, item: &str, on_hand: i64, allocated: i64, reason: &str) {
        if on_hand == 0 && allocated == 0 {
            return;
        }
        let before = self.position(site, item);
        let after = SimStock::new(before.on_hand + on_hand, before.allocated + allocated);
        self.stock.insert(key(site, item), after);
        if on_hand != 0 {
            let name = self
                .item_types
                .get(item)
                .and_then(|i| i.fields.get("Name"))
                .filter(|n| !n.trim().is_empty())
                .map_or_else(|| item.to_string(), |n| n.trim().to_string());
            let timestamp = timestamp(self.clock.now());
            self.events.push(SimEvent::Stock(StockEvent::Incremental {
                site: site.to_string(),
                item: item.to_string(),
                name,
                quantity_changed: on_hand,
                reason: reason.to_string(),
                timestamp,
            }));
        }
        if after.available != before.available {
            self.events.push(SimEvent::Stock(StockEvent::Availability {
                site: site.to_string(),
                item: item.to_string(),
                available: after.available,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn availability(data: &mut Data) -> Vec<i64> {
        data.take_events()
            .into_iter()
            .filter_map(|e| match e {
                SimEvent::Stock(StockEvent::Availability { available, .. }) => Some(available),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn set_stock_derives_allocated_and_records_nothing() {
        let mut data = Data::default();
        data.set_stock("S", "A", 7, 9);
        assert_eq!(data.position("S", "A"), SimStock::new(9, 2));
        assert!(data.take_events().is_empty());
    }

    #[test]
    fn adjust_never_counts_away_allocated_units() {
        let mut data = Data::default();
        data.set_stock("S", "A", 3, 5);
        assert_eq!(data.adjust("S", "A", -10, "Damaged"), -3);
        assert_eq!(data.position("S", "A"), SimStock::new(2, 2));
        assert_eq!(data.adjust("S", "A", -1, "Damaged"), 0);
        assert_eq!(data.adjust("S", "A", 4, "Found"), 4);
        assert_eq!(data.position("S", "A").available, 4);
        assert_eq!(availability(&mut data), vec![0, 4]);
    }

    #[test]
    fn allocation_is_once_per_line_and_counts_shortfalls() {
        let mut data = Data::default();
        data.set_stock("S", "A", 3, 3);
        data.allocate_line("O1", "1", "S", "A", "5");
        data.allocate_line("O1", "1", "S", "A", "5");
        data.allocate_line("O1", "2", "S", "A", "1.5");
        assert_eq!(data.position("S", "A"), SimStock::new(3, 3));
        assert_eq!(data.shortfalls[&key("S", "A")], 2);
        assert_eq!(data.allocated_for("O1"), 3);
        assert_eq!(availability(&mut data), vec![0]);

        assert_eq!(data.pick_order("O1"), 3);
        assert_eq!(data.pick_order("O1"), 0);
        assert_eq!(data.position("S", "A"), SimStock::new(0, 0));
        let events = data.take_events();
        assert_eq!(events.len(), 1, "a pick moves on_hand only: {events:?}");
        assert!(matches!(
            &events[0],
            SimEvent::Stock(StockEvent::Incremental { quantity_changed: -3, reason, .. })
                if reason == REASON_PICK
        ));
    }

    #[test]
    fn releasing_gives_units_back() {
        let mut data = Data::default();
        data.set_stock("S", "A", 4, 4);
        data.allocate_line("O1", "1", "S", "A", "1");
        data.allocate_line("O1", "2", "S", "A", "2");
        data.release_line("O1", "1");
        assert_eq!(data.position("S", "A").available, 2);
        data.release_order("O1");
        assert_eq!(data.position("S", "A"), SimStock::new(4, 0));
        assert_eq!(availability(&mut data), vec![3, 1, 2, 4]);
    }

    #[test]
    fn releasing_the_remainder_keeps_the_lines_from_allocating_again() {
        let mut data = Data::default();
        data.set_stock("S", "A", 4, 4);
        data.allocate_line("O1", "1", "S", "A", "3");
        data.release_remaining("O1");
        data.release_remaining("O1");
        assert_eq!(data.position("S", "A"), SimStock::new(4, 0));
        data.allocate_line("O1", "1", "S", "A", "3");
        assert_eq!(data.allocated_for("O1"), 0, "a re-import allocates nothing");
        assert_eq!(availability(&mut data), vec![1, 4]);
    }

    #[test]
    fn a_despatch_consumes_the_item_s_allocations_line_by_line() {
        let mut data = Data::default();
        data.set_stock("S", "A", 10, 10);
        data.set_stock("S", "B", 10, 10);
        data.allocate_line("O1", "1", "S", "A", "2");
        data.allocate_line("O1", "2", "S", "B", "4");
        data.allocate_line("O1", "3", "S", "A", "3");
        data.allocate_line("O2", "1", "S", "A", "1");
        data.take_events();

        assert_eq!(data.consume_allocation("O1", "A", 4), 4);
        assert_eq!(data.position("S", "A"), SimStock::new(6, 2));
        assert_eq!(data.position("S", "B"), SimStock::new(10, 4));
        let events = data.take_events();
        assert_eq!(
            events.len(),
            1,
            "one movement, no availability change: {events:?}"
        );
        assert!(matches!(
            &events[0],
            SimEvent::Stock(StockEvent::Incremental { quantity_changed: -4, reason, item, .. })
                if reason == REASON_DESPATCH && item == "A"
        ));
        // One unit of O1's A is still held; O2's unit is not O1's to give.
        assert_eq!(data.consume_allocation("O1", "A", 5), 1);
        assert_eq!(data.position("S", "A"), SimStock::new(5, 1));
        assert_eq!(data.consume_allocation("O1", "A", 1), 0);
        assert!(data.take_events().len() == 1);
        assert_eq!(data.allocated_for("O1"), 4);
    }
}
