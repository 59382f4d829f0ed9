//! Despatch events as Peoplevox announces them: `TrackingNumberReceived` per despatch (its
//! placeholders are the ones peep_conn subscribes with), and `DespatchPackageDespatched` /
//! `DespatchPackageTrackingNumberReceived` per package, whose placeholders no public
//! source shows (UNCONFIRMED: the simulator offers the plausible dotted paths).

use super::despatch::SimDespatch;

/// `TrackingNumberReceived`.
pub const TRACKING_NUMBER_RECEIVED: &str = "TrackingNumberReceived";
/// `DespatchPackageDespatched`.
pub const DESPATCH_PACKAGE_DESPATCHED: &str = "DespatchPackageDespatched";
/// `DespatchPackageTrackingNumberReceived`.
pub const DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED: &str = "DespatchPackageTrackingNumberReceived";

/// One despatch event, with the facts its placeholders need copied in (the despatch may
/// change before the callback leaves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DespatchEvent {
    /// A despatch got a tracking number (at despatch, or later for one of its packages).
    TrackingNumberReceived(DespatchFacts),
    /// A package left the warehouse.
    PackageDespatched(PackageFacts),
    /// A package got its tracking number.
    PackageTrackingNumberReceived(PackageFacts),
}

/// What `TrackingNumberReceived` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DespatchFacts {
    /// The order's site (what subscription filters test).
    pub site: String,
    /// `{DespatchNumber}`.
    pub despatch_number: String,
    /// `{TrackingNumber}`: the number just received.
    pub tracking: String,
    /// `{Carrier.Number}`. The simulator has no carrier table, so it is the carrier name
    /// (UNCONFIRMED what the real carrier "number" looks like).
    pub carrier: String,
    /// `{ServiceType.Name}`.
    pub service: String,
    /// `{ServiceType.Code}`.
    pub service_code: String,
    /// `{Picks.SalesOrder.SalesOrderNumber}`.
    pub order_number: String,
    /// `{Picks.SalesOrder.Email}`: empty when the order has none.
    pub email: String,
}

/// What the per-package events tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFacts {
    /// The order's site.
    pub site: String,
    /// `{DespatchNumber}`.
    pub despatch_number: String,
    /// `{PackageNumber}`, 1..n.
    pub package: u32,
    /// `{TrackingNumber}`: empty while the package has none.
    pub tracking: String,
    /// `{SalesOrderNumber}` and `{SalesOrder.SalesOrderNumber}`.
    pub order_number: String,
    /// `{Carrier.Name}`.
    pub carrier: String,
}

impl DespatchFacts {
    /// The facts of `despatch` announcing `tracking`.
    pub fn of(despatch: &SimDespatch, tracking: &str, email: &str) -> Self {
        Self {
            site: despatch.site.clone(),
            despatch_number: despatch.number.clone(),
            tracking: tracking.to_string(),
            carrier: despatch.carrier.clone(),
            service: despatch.service.clone(),
            service_code: despatch.service_type_code.clone(),
            order_number: despatch.order_number.clone(),
            email: email.to_string(),
        }
    }
}

impl PackageFacts {
    /// The facts of package `index` (0-based) of `despatch`, as it stands.
    pub fn of(despatch: &SimDespatch, index: usize) -> Self {
        let package = &despatch.packages[index];
        Self {
            site: despatch.site.clone(),
            despatch_number: despatch.number.clone(),
            package: package.number,
            tracking: package.tracking.clone().unwrap_or_default(),
            order_number: despatch.order_number.clone(),
            carrier: despatch.carrier.clone(),
        }
    }
}

impl DespatchEvent {
    /// The subscription event type this event is delivered to.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::TrackingNumberReceived(_) => TRACKING_NUMBER_RECEIVED,
            Self::PackageDespatched(_) => DESPATCH_PACKAGE_DESPATCHED,
            Self::PackageTrackingNumberReceived(_) => DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED,
        }
    }

    /// The site of the despatched order.
    pub fn site(&self) -> &str {
        match self {
            Self::TrackingNumberReceived(f) => &f.site,
            Self::PackageDespatched(p) | Self::PackageTrackingNumberReceived(p) => &p.site,
        }
    }

    /// Placeholder names and their values.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TrackingNumberReceived(f) => vec![
                ("DespatchNumber", f.despatch_number.clone()),
                ("TrackingNumber", f.tracking.clone()),
                ("Carrier.Number", f.carrier.clone()),
                ("ServiceType.Name", f.service.clone()),
                ("ServiceType.Code", f.service_code.clone()),
                ("Picks.SalesOrder.SalesOrderNumber", f.order_number.clone()),
                ("Picks.SalesOrder.Email", f.email.clone()),
            ],
            Self::PackageDespatched(p) | Self::PackageTrackingNumberReceived(p) => vec![
                ("DespatchNumber", p.despatch_number.clone()),
                ("PackageNumber", p.package.to_string()),
                ("TrackingNumber", p.tracking.clone()),
                ("SalesOrderNumber", p.order_number.clone()),
                ("SalesOrder.SalesOrderNumber", p.order_number.clone()),
                ("Carrier.Name", p.carrier.clone()),
            ],
        }
    }
}
