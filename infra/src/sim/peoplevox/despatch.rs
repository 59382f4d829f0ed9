//! What a despatch is in the simulated warehouse, and what a test asks for when it
//! despatches an order. One order can go out in several despatches and one despatch in
//! several packages (`.pvx` Despatch XML: `DespatchNumber`, `Packages/DespatchPackage`;
//! Metapack: one request per parcel), so both are modelled.

use time::OffsetDateTime;

/// A despatch as the warehouse recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDespatch {
    /// `DSP-000001`, `DSP-000002`, ...: unique and sequential per simulator. The real
    /// numbering scheme is UNCONFIRMED; consumers must treat it as opaque.
    pub number: String,
    /// The sales order it ships.
    pub order_number: String,
    /// The order's site.
    pub site: String,
    /// Carrier name, e.g. `Royal Mail`.
    pub carrier: String,
    /// Service (type) name, e.g. `Tracked 48`.
    pub service: String,
    /// Service type code, see [`service_type_code`].
    pub service_type_code: String,
    /// When it left: the simulator's clock, UTC.
    pub despatch_date: OffsetDateTime,
    /// Units per item, in the order's line order; one entry per item.
    pub lines: Vec<SimDespatchLine>,
    /// Packages, numbered 1..n.
    pub packages: Vec<SimPackage>,
}

impl SimDespatch {
    /// The despatch's own tracking number: that of the first package that has one.
    /// UNCONFIRMED which one Peoplevox shows at despatch level; with the usual single or
    /// fully tracked despatch it is the first package's.
    pub fn tracking_number(&self) -> Option<&str> {
        self.packages.iter().find_map(|p| p.tracking.as_deref())
    }

    /// Units of `item` in this despatch.
    pub fn units_of(&self, item: &str) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.item_code == item)
            .map(|l| l.units)
            .sum()
    }
}

/// Units of one item in a despatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDespatchLine {
    /// Item code.
    pub item_code: String,
    /// Units despatched.
    pub units: i64,
}

/// One parcel of a despatch.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPackage {
    /// 1..n within the despatch.
    pub number: u32,
    /// The carrier's tracking number; `None` until it arrives (it may come late).
    pub tracking: Option<String>,
    /// Weight in kg, when known.
    pub weight_kg: Option<f64>,
}

/// What to despatch, see [`crate::sim::peoplevox::PvxSim::despatch`].
#[derive(Debug, Clone, PartialEq)]
pub struct DespatchPlan {
    /// `(item code, units)`; empty = everything the order still has to despatch.
    pub lines: Vec<(String, i64)>,
    /// At least one package.
    pub packages: Vec<PackagePlan>,
    /// Carrier name.
    pub carrier: String,
    /// Service name.
    pub service: String,
}

impl DespatchPlan {
    /// Everything the order still has to despatch.
    pub fn everything(
        carrier: impl Into<String>,
        service: impl Into<String>,
        packages: Vec<PackagePlan>,
    ) -> Self {
        Self {
            lines: Vec::new(),
            packages,
            carrier: carrier.into(),
            service: service.into(),
        }
    }
}

/// One package to despatch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackagePlan {
    /// Tracking number known at despatch; blank counts as none.
    pub tracking: Option<String>,
    /// Weight in kg.
    pub weight_kg: Option<f64>,
}

impl PackagePlan {
    /// A package with a tracking number and no weight.
    pub fn tracked(tracking: impl Into<String>) -> Self {
        Self {
            tracking: Some(tracking.into()),
            weight_kg: None,
        }
    }

    /// A package whose tracking number arrives later (or never).
    pub fn untracked() -> Self {
        Self::default()
    }

    /// The same package with a weight.
    pub fn weighing(self, kg: f64) -> Self {
        Self {
            weight_kg: Some(kg),
            ..self
        }
    }
}

/// The service type code of a service name. The simulator has no service type table, so it
/// derives one: upper case, runs of other characters as one `-` (`Tracked 48` →
/// `TRACKED-48`). UNCONFIRMED: real codes are whatever the tenant configured.
pub fn service_type_code(service: &str) -> String {
    service
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// The despatch number for a sequence number.
pub fn despatch_number(sequence: u64) -> String {
    format!("DSP-{sequence:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_numbers() {
        assert_eq!(
            service_type_code(" Tracked 48 (signed)"),
            "TRACKED-48-SIGNED"
        );
        assert_eq!(service_type_code(""), "");
        assert_eq!(despatch_number(1), "DSP-000001");
        assert_eq!(despatch_number(1_234_567), "DSP-1234567");
    }

    #[test]
    fn tracking_number_is_the_first_package_that_has_one() {
        let package = |number, tracking: Option<&str>| SimPackage {
            number,
            tracking: tracking.map(str::to_string),
            weight_kg: None,
        };
        let mut despatch = SimDespatch {
            number: despatch_number(1),
            order_number: "SO-1".into(),
            site: "S".into(),
            carrier: "C".into(),
            service: "S".into(),
            service_type_code: "S".into(),
            despatch_date: OffsetDateTime::UNIX_EPOCH,
            lines: vec![SimDespatchLine {
                item_code: "A".into(),
                units: 2,
            }],
            packages: vec![package(1, None), package(2, Some("T2"))],
        };
        assert_eq!(despatch.tracking_number(), Some("T2"));
        despatch.packages[0].tracking = Some("T1".into());
        assert_eq!(despatch.tracking_number(), Some("T1"));
        assert_eq!(despatch.units_of("A"), 2);
        assert_eq!(despatch.units_of("B"), 0);
    }
}
