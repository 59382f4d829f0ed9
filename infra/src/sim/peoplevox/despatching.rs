//! Despatching sales orders in the simulated warehouse: checking a plan against what the
//! order still has to ship, taking the units off the shelf, recording the despatch, moving
//! the order's status, and recording the events Peoplevox would announce. A refused plan
//! changes nothing and announces nothing.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail, ensure};

use super::cancellation::STATUS_CANCELLED;
use super::despatch::{
    DespatchPlan, SimDespatch, SimDespatchLine, SimPackage, despatch_number, service_type_code,
};
use super::despatch_event::{DespatchEvent, DespatchFacts, PackageFacts};
use super::order_status::{STATUS_DESPATCHED, STATUS_FIELD, STATUS_PARTIALLY_DESPATCHED};
use super::state::{Data, SimSalesOrder};

impl Data {
    /// Despatches (part of) an order, see [`super::PvxSim::despatch`].
    pub fn despatch(
        &mut self,
        order_number: &str,
        plan: DespatchPlan,
    ) -> anyhow::Result<SimDespatch> {
        let order = self
            .orders
            .get(order_number)
            .with_context(|| format!("Sales order '{order_number}' does not exist"))?;
        ensure!(
            !order
                .fields
                .get(STATUS_FIELD)
                .is_some_and(|s| s.eq_ignore_ascii_case(STATUS_CANCELLED)),
            "Sales order '{order_number}' is cancelled"
        );
        ensure!(
            !plan.packages.is_empty(),
            "a despatch needs at least one package"
        );
        ensure!(
            !plan.carrier.trim().is_empty(),
            "a despatch needs a carrier"
        );
        for (i, p) in plan.packages.iter().enumerate() {
            if let Some(kg) = p.weight_kg {
                ensure!(
                    kg.is_finite() && kg >= 0.0,
                    "package {}: weight {kg} is not a weight",
                    i + 1
                );
            }
        }
        let left = self.undespatched(order)?;
        let lines = choose_lines(order, &left, &plan.lines)?;
        let (site, email) = (order.site.clone(), email(order));
        // "Despatched" once nothing is left, "Partially despatched" before.
        let done = left.iter().all(|(item, n)| {
            *n <= lines
                .iter()
                .find(|l| &l.item_code == item)
                .map_or(0, |l| l.units)
        });
        let status = if done {
            STATUS_DESPATCHED
        } else {
            STATUS_PARTIALLY_DESPATCHED
        };

        // Checked: from here on nothing fails.
        for line in &lines {
            self.consume_allocation(order_number, &line.item_code, line.units);
        }
        self.last_despatch += 1;
        let despatch = SimDespatch {
            number: despatch_number(self.last_despatch),
            order_number: order_number.to_string(),
            site,
            service_type_code: service_type_code(&plan.service),
            carrier: plan.carrier.trim().to_string(),
            service: plan.service.trim().to_string(),
            despatch_date: self.clock.now(),
            lines,
            packages: plan
                .packages
                .into_iter()
                .zip(1..)
                .map(|(p, number)| SimPackage {
                    number,
                    tracking: p
                        .tracking
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                    weight_kg: p.weight_kg,
                })
                .collect(),
        };
        for i in 0..despatch.packages.len() {
            let facts = PackageFacts::of(&despatch, i);
            self.events
                .push(DespatchEvent::PackageDespatched(facts).into());
        }
        for i in 0..despatch.packages.len() {
            if despatch.packages[i].tracking.is_some() {
                let facts = PackageFacts::of(&despatch, i);
                self.events
                    .push(DespatchEvent::PackageTrackingNumberReceived(facts).into());
            }
        }
        if let Some(tracking) = despatch.tracking_number() {
            let facts = DespatchFacts::of(&despatch, tracking, &email);
            self.events
                .push(DespatchEvent::TrackingNumberReceived(facts).into());
        }
        self.despatches
            .insert(despatch.number.clone(), despatch.clone());
        self.set_order_status(order_number, status);
        Ok(despatch)
    }

    /// A package's tracking number arrived (late, or corrected); see
    /// [`super::PvxSim::set_package_tracking`].
    pub fn set_package_tracking(
        &mut self,
        despatch_number: &str,
        package: u32,
        tracking: &str,
    ) -> anyhow::Result<()> {
        let tracking = tracking.trim();
        ensure!(!tracking.is_empty(), "a tracking number must not be blank");
        let email = self
            .despatches
            .get(despatch_number)
            .and_then(|d| self.orders.get(&d.order_number))
            .map(email)
            .unwrap_or_default();
        let despatch = self
            .despatches
            .get_mut(despatch_number)
            .with_context(|| format!("Despatch '{despatch_number}' does not exist"))?;
        let count = despatch.packages.len();
        let Some(index) = despatch.packages.iter().position(|p| p.number == package) else {
            bail!("Despatch '{despatch_number}' has no package {package} (it has {count})");
        };
        if despatch.packages[index].tracking.as_deref() == Some(tracking) {
            // Nothing changed, so there is nothing to announce.
            return Ok(());
        }
        despatch.packages[index].tracking = Some(tracking.to_string());
        let package_facts = PackageFacts::of(despatch, index);
        // UNCONFIRMED: whether the despatch-level event repeats for a later package, and
        // with which number; the simulator announces the number that just arrived.
        let despatch_facts = DespatchFacts::of(despatch, tracking, &email);
        self.events
            .push(DespatchEvent::PackageTrackingNumberReceived(package_facts).into());
        self.events
            .push(DespatchEvent::TrackingNumberReceived(despatch_facts).into());
        Ok(())
    }

    /// Units despatched so far, by item.
    pub fn despatched_units(&self, order_number: &str) -> BTreeMap<String, i64> {
        let mut units = BTreeMap::new();
        for despatch in self
            .despatches
            .values()
            .filter(|d| d.order_number == order_number)
        {
            for line in &despatch.lines {
                *units.entry(line.item_code.clone()).or_default() += line.units;
            }
        }
        units
    }

    /// Units the order still has to despatch, by item (ordered minus despatched minus
    /// closed short; items fully done stay in the map with 0).
    pub(super) fn undespatched(
        &self,
        order: &SimSalesOrder,
    ) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut left = ordered_units(order)?;
        for (item, units) in self.despatched_units(&order.number) {
            *left.entry(item).or_default() -= units;
        }
        for (item, units) in self.closed_short.get(&order.number).into_iter().flatten() {
            *left.entry(item.clone()).or_default() -= units;
        }
        Ok(left)
    }
}

/// Units ordered, by item, summed over the order's lines. A quantity that is not a whole
/// number of units cannot be despatched by the simulator, so it refuses the despatch.
fn ordered_units(order: &SimSalesOrder) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut units = BTreeMap::new();
    for item in &order.items {
        let quantity = item.quantity.trim();
        let n = quantity
            .parse::<i64>()
            .ok()
            .or_else(|| {
                quantity
                    .parse::<f64>()
                    .ok()
                    .filter(|q| q.fract() == 0.0 && q.is_finite())
                    .map(|q| q as i64)
            })
            .with_context(|| {
                format!(
                    "Line '{}' of sales order '{}' orders '{quantity}', not whole units",
                    item.line, order.number
                )
            })?;
        *units.entry(item.item_code.clone()).or_default() += n;
    }
    Ok(units)
}

/// The lines of a despatch: the plan's (duplicates merged, checked against what is left),
/// or, for an empty plan, everything left, in the order's line order.
fn choose_lines(
    order: &SimSalesOrder,
    left: &BTreeMap<String, i64>,
    planned: &[(String, i64)],
) -> anyhow::Result<Vec<SimDespatchLine>> {
    let mut lines: Vec<SimDespatchLine> = Vec::new();
    if planned.is_empty() {
        for item in &order.items {
            let n = left.get(&item.item_code).copied().unwrap_or_default();
            if n > 0 && !lines.iter().any(|l| l.item_code == item.item_code) {
                add(&mut lines, &item.item_code, n);
            }
        }
        ensure!(
            !lines.is_empty(),
            "Sales order '{}' has nothing left to despatch",
            order.number
        );
        return Ok(lines);
    }
    for (item, units) in planned {
        ensure!(*units > 0, "cannot despatch {units} units of '{item}'");
        ensure!(
            left.contains_key(item),
            "Sales order '{}' has no line for item '{item}'",
            order.number
        );
        add(&mut lines, item, *units);
    }
    for line in &lines {
        let n = left.get(&line.item_code).copied().unwrap_or_default();
        ensure!(
            line.units <= n,
            "Sales order '{}' has {n} units of '{}' left to despatch, not {}",
            order.number,
            line.item_code,
            line.units
        );
    }
    Ok(lines)
}

/// Adds units of an item, merged into its line when it has one.
fn add(lines: &mut Vec<SimDespatchLine>, item: &str, units: i64) {
    match lines.iter_mut().find(|l| l.item_code == item) {
        Some(line) => line.units += units,
        None => lines.push(SimDespatchLine {
            item_code: item.to_string(),
            units,
        }),
    }
}

/// The order's email for `{Picks.SalesOrder.Email}`; empty when it has none.
fn email(order: &SimSalesOrder) -> String {
    order
        .fields
        .get("Email")
        .map(|e| e.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::peoplevox::despatch::PackagePlan;
    use crate::sim::peoplevox::event::SimEvent;
    use crate::sim::peoplevox::state::{SimOrderItem, SimStock};

    fn order(lines: &[(&str, &str, &str)]) -> Data {
        let mut data = Data::default();
        data.orders.insert(
            "SO-1".into(),
            SimSalesOrder {
                number: "SO-1".into(),
                site: "S".into(),
                fields: BTreeMap::from([("Email".to_string(), " a@b.c ".to_string())]),
                items: lines
                    .iter()
                    .map(|(line, item, qty)| SimOrderItem {
                        line: (*line).into(),
                        item_code: (*item).into(),
                        quantity: (*qty).into(),
                        fields: BTreeMap::new(),
                    })
                    .collect(),
            },
        );
        for (line, item, qty) in lines {
            if !data
                .stock
                .contains_key(&("S".to_string(), (*item).to_string()))
            {
                data.set_stock("S", item, 10, 10);
            }
            data.allocate_line("SO-1", line, "S", item, qty);
        }
        data.take_events();
        data
    }

    fn plan(lines: &[(&str, i64)], packages: Vec<PackagePlan>) -> DespatchPlan {
        DespatchPlan {
            lines: lines.iter().map(|(i, n)| ((*i).into(), *n)).collect(),
            packages,
            carrier: "Royal Mail".into(),
            service: "Tracked 48".into(),
        }
    }

    fn types(events: &[SimEvent]) -> Vec<&'static str> {
        events.iter().map(SimEvent::event_type).collect()
    }

    #[test]
    fn refused_plans_change_nothing() {
        let mut data = order(&[("1", "B", "2"), ("2", "A", "1"), ("3", "B", "1")]);
        let one = || vec![PackagePlan::untracked()];
        for (bad, why) in [
            (plan(&[("B", 4)], one()), "left to despatch"),
            (plan(&[("B", 2), ("B", 2)], one()), "left to despatch"),
            (plan(&[("C", 1)], one()), "no line"),
            (plan(&[("A", 0)], one()), "cannot despatch"),
            (plan(&[], vec![]), "at least one package"),
            (
                plan(&[], vec![PackagePlan::untracked().weighing(-1.0)]),
                "weight",
            ),
        ] {
            let err = data.despatch("SO-1", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
        assert!(data.despatch("SO-9", plan(&[], one())).is_err());
        assert!(data.despatches.is_empty() && data.take_events().is_empty());
        assert_eq!(data.position("S", "B"), SimStock::new(10, 3));
        // A cancelled order stays on the shelf.
        if let Some(o) = data.orders.get_mut("SO-1") {
            o.fields.insert(STATUS_FIELD.into(), "cancelled".into());
        }
        let err = data.despatch("SO-1", plan(&[("A", 1)], one())).unwrap_err();
        assert!(err.to_string().contains("is cancelled"), "{err}");
        assert!(data.despatches.is_empty());
    }

    #[test]
    fn everything_in_two_despatches_with_status_and_events() {
        let mut data = order(&[("1", "B", "2"), ("2", "A", "1"), ("3", "B", "1")]);
        let first = data
            .despatch("SO-1", plan(&[("B", 1)], vec![PackagePlan::untracked()]))
            .unwrap();
        assert_eq!(first.number, "DSP-000001");
        assert_eq!(
            data.orders["SO-1"].fields["Status"],
            STATUS_PARTIALLY_DESPATCHED
        );
        assert_eq!(
            types(&data.take_events()),
            vec![
                "IncrementalChanges",
                "DespatchPackageDespatched",
                "SalesOrderStatusChanges"
            ]
        );

        let rest = data
            .despatch(
                "SO-1",
                plan(
                    &[],
                    vec![PackagePlan::tracked("T1"), PackagePlan::untracked()],
                ),
            )
            .unwrap();
        assert_eq!(rest.number, "DSP-000002");
        let got: Vec<_> = rest
            .lines
            .iter()
            .map(|l| (l.item_code.as_str(), l.units))
            .collect();
        assert_eq!(got, vec![("B", 2), ("A", 1)], "order line order, rest only");
        assert_eq!(data.orders["SO-1"].fields["Status"], STATUS_DESPATCHED);
        let events = data.take_events();
        assert_eq!(
            types(&events),
            vec![
                "IncrementalChanges",
                "IncrementalChanges",
                "DespatchPackageDespatched",
                "DespatchPackageDespatched",
                "DespatchPackageTrackingNumberReceived",
                "TrackingNumberReceived",
                "SalesOrderStatusChanges"
            ]
        );
        let SimEvent::Despatch(DespatchEvent::TrackingNumberReceived(facts)) = &events[5] else {
            panic!("{events:?}");
        };
        assert_eq!(
            (facts.email.as_str(), facts.tracking.as_str()),
            ("a@b.c", "T1")
        );
        assert_eq!(
            data.despatched_units("SO-1"),
            BTreeMap::from([("A".to_string(), 1), ("B".to_string(), 3)])
        );
        assert_eq!(data.position("S", "B"), SimStock::new(7, 0));
        assert!(
            data.despatch("SO-1", plan(&[], vec![PackagePlan::untracked()]))
                .is_err()
        );
    }

    #[test]
    fn late_tracking_announces_once_per_change() {
        let mut data = order(&[("1", "A", "1")]);
        let d = data
            .despatch("SO-1", plan(&[], vec![PackagePlan::untracked(); 2]))
            .unwrap();
        data.take_events();
        assert!(data.set_package_tracking(&d.number, 3, "T").is_err());
        assert!(data.set_package_tracking("DSP-9", 1, "T").is_err());
        assert!(data.set_package_tracking(&d.number, 2, " ").is_err());
        data.set_package_tracking(&d.number, 2, "T2").unwrap();
        data.set_package_tracking(&d.number, 2, "T2").unwrap();
        let events = data.take_events();
        assert_eq!(
            types(&events),
            vec![
                "DespatchPackageTrackingNumberReceived",
                "TrackingNumberReceived"
            ]
        );
        let SimEvent::Despatch(DespatchEvent::PackageTrackingNumberReceived(p)) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!((p.package, p.tracking.as_str()), (2, "T2"));
        assert_eq!(data.despatches[&d.number].tracking_number(), Some("T2"));
    }

    #[test]
    fn fractional_quantities_are_refused() {
        let mut data = order(&[("1", "A", "1.5")]);
        let err = data
            .despatch("SO-1", plan(&[], vec![PackagePlan::untracked()]))
            .unwrap_err();
        assert!(err.to_string().contains("not whole units"), "{err}");
        let mut data = order(&[("1", "A", "2.0")]);
        assert!(
            data.despatch("SO-1", plan(&[], vec![PackagePlan::untracked()]))
                .is_ok()
        );
    }
}
