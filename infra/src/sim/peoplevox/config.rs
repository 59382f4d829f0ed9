//! Configuration of the Peoplevox simulator: tenant credentials, session idle time, request
//! budget and the tenant's integration templates (with per-tenant field names).

use std::time::Duration;

use super::dialect::{Dialect, PackagesSource};

/// Template names the simulator implements.
pub const SALES_ORDERS: &str = "Sales orders";
/// See [`SALES_ORDERS`].
pub const SALES_ORDER_ITEMS: &str = "Sales order items";
/// See [`SALES_ORDERS`].
pub const ITEM_TYPES: &str = "Item types";
/// The stock report.
pub const ITEM_INVENTORY_SUMMARY: &str = "Item inventory summary";
/// The despatch report: one row per item per despatch.
pub const DESPATCH_SUMMARY: &str = "Despatch summary";
/// Despatch packages: a data template (dialect `strict`; finerylondon/peep_conn
/// `constants.rb` TABLE_NAMES) or a report (dialect `wsdl-2017`), one row per despatched
/// package; UNCONFIRMED fields and columns.
pub const DESPATCH_PACKAGES: &str = "Despatch packages";
/// The returns report: one row per returned line (UNCONFIRMED name and columns).
pub const RETURN_SUMMARY: &str = "Return summary";

/// Zynk's standard Sales orders fields, plus `Site`, `Notes` and `OnHold` (the hold flag
/// Zynk's `Export-Sales-Orders-from-Peoplevox.md` shows among the Sales orders fields).
pub const SALES_ORDER_FIELDS: &[&str] = &[
    "SalesOrderNumber",
    "Customer",
    "CustomerPurchaseOrderReferenceNumber",
    "ShippingAddressLine1",
    "ShippingAddressLine2",
    "ShippingAddressCity",
    "ShippingAddressRegion",
    "ShippingAddressPostcode",
    "ShippingAddressCountry",
    "ShippingAddressReference",
    "InvoiceAddressLine1",
    "InvoiceAddressLine2",
    "InvoiceAddressCity",
    "InvoiceAddressRegion",
    "InvoiceAddressPostcode",
    "InvoiceAddressCountry",
    "InvoiceAddressReference",
    "IsPartialShipment",
    "Status",
    "RequestedDeliveryDate",
    "ShippingCost",
    "Email",
    "ContactName",
    "TotalSale",
    "Discount",
    "TaxPaid",
    "CreatedDate",
    "PaymentMethod",
    "ServiceType",
    "ChannelName",
    "Site",
    "Notes",
    "OnHold",
];

/// Zynk's Sales order items fields.
pub const SALES_ORDER_ITEM_FIELDS: &[&str] = &[
    "SalesOrderNumber",
    "ItemCode",
    "QuantityOrdered",
    "RequestedDeliveryDate",
    "Line",
    "Sequence",
    "SalePrice",
];

/// A subset of Zynk's Item types fields.
pub const ITEM_TYPE_FIELDS: &[&str] = &[
    "ItemCode",
    "Name",
    "Barcode",
    "ItemGroup",
    "Description",
    "UnitOfMeasure",
    "BuyPrice",
    "WholesalePrice",
    "RetailPrice",
    "Weight",
    "WeightMeasure",
    "Height",
    "Width",
    "Depth",
    "DimensionMeasure",
    "Tags",
    "Attribute1",
    "Attribute2",
    "Attribute3",
    "TaxCode",
];

/// The simulated tenant's "Despatch packages" template fields: `(canonical, tenant's name)`.
/// Nobody publishes the real ones (UNCONFIRMED); these are the tenant's own, none of them the
/// connector's default, so that the connector's `[shipments.packages]` names are exercised.
pub const DESPATCH_PACKAGE_TEMPLATE_FIELDS: &[(&str, &str)] = &[
    ("DespatchNumber", "Despatch.DespatchNumber"),
    ("SalesOrderNumber", "Despatch.SalesOrder.SalesOrderNumber"),
    ("PackageNumber", "PackageNumber"),
    ("TrackingNumber", "PackageTrackingNumber"),
    ("Weight", "PackageWeightKg"),
    ("Carrier", "Despatch.Carrier.Name"),
];

/// One field of a template: the simulator's own (canonical) name and the tenant's name for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimField {
    /// The name the simulator's logic uses, e.g. `SalesOrderNumber`.
    pub canonical: String,
    /// The name the tenant configured, used on the wire (CSV headers, search clauses).
    pub name: String,
}

/// An integration template as configured on the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTemplate {
    /// e.g. `Sales orders`.
    pub name: String,
    /// Fields in header order.
    pub fields: Vec<SimField>,
}

impl SimTemplate {
    /// A template whose tenant field names equal the canonical ones.
    pub fn new(name: &str, fields: &[&str]) -> Self {
        Self {
            name: name.to_string(),
            fields: fields
                .iter()
                .map(|f| SimField {
                    canonical: (*f).to_string(),
                    name: (*f).to_string(),
                })
                .collect(),
        }
    }

    /// The "Despatch packages" template under the tenant's field names.
    pub fn despatch_packages() -> Self {
        Self {
            name: DESPATCH_PACKAGES.to_string(),
            fields: DESPATCH_PACKAGE_TEMPLATE_FIELDS
                .iter()
                .map(|(canonical, name)| SimField {
                    canonical: (*canonical).to_string(),
                    name: (*name).to_string(),
                })
                .collect(),
        }
    }

    /// The header line GetSaveTemplate returns.
    pub fn header(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }

    /// The canonical name of a tenant field name.
    pub fn canonical(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.canonical.as_str())
    }
}

/// How the simulated tenant is set up.
#[derive(Debug, Clone)]
pub struct PvxSimConfig {
    /// The tenant's client id (first path segment of the endpoint).
    pub client_id: String,
    /// The integration user.
    pub username: String,
    /// Its password (the client sends it base64-encoded).
    pub password: String,
    /// Sessions expire after this long without use (Peoplevox: about 30 minutes).
    pub session_idle: Duration,
    /// At most this many requests ...
    pub budget_requests: u32,
    /// ... in any sliding window of this length; more is answered HTTP 429.
    pub budget_window: Duration,
    /// Site of an order that names none.
    pub default_site: String,
    /// The tenant's integration templates.
    pub templates: Vec<SimTemplate>,
    /// How the tenant answers where the public evidence is thin.
    pub dialect: Dialect,
}

impl Default for PvxSimConfig {
    fn default() -> Self {
        Self {
            client_id: "simclient".into(),
            username: "integration".into(),
            password: "sim-password".into(),
            session_idle: Duration::from_secs(30 * 60),
            budget_requests: 15,
            budget_window: Duration::from_secs(15),
            default_site: "PrimarySite".into(),
            templates: vec![
                SimTemplate::new(SALES_ORDERS, SALES_ORDER_FIELDS),
                SimTemplate::new(SALES_ORDER_ITEMS, SALES_ORDER_ITEM_FIELDS),
                SimTemplate::new(ITEM_TYPES, ITEM_TYPE_FIELDS),
            ],
            dialect: Dialect::default(),
        }
    }
}

impl PvxSimConfig {
    /// The configuration with the templates its dialect implies: a "Despatch packages"
    /// template where packages are a data template (kept as configured when a test made its
    /// own), none elsewhere.
    pub fn with_dialect_templates(mut self) -> Self {
        let has = self.template(DESPATCH_PACKAGES).is_some();
        match self.dialect.despatch_packages {
            PackagesSource::DataTemplate if !has => {
                self.templates.push(SimTemplate::despatch_packages());
            }
            PackagesSource::DataTemplate => {}
            PackagesSource::Report | PackagesSource::Absent => self
                .templates
                .retain(|t| !t.name.eq_ignore_ascii_case(DESPATCH_PACKAGES)),
        }
        self
    }

    /// The template called `name` (template names are matched case-insensitively).
    pub fn template(&self, name: &str) -> Option<&SimTemplate> {
        self.templates
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Renames a field of a template for this tenant, as Peoplevox allows; a no-op when the
    /// template or field does not exist.
    pub fn rename_field(mut self, template: &str, canonical: &str, name: &str) -> Self {
        if let Some(t) = self
            .templates
            .iter_mut()
            .find(|t| t.name.eq_ignore_ascii_case(template))
            && let Some(f) = t.fields.iter_mut().find(|f| f.canonical == canonical)
        {
            f.name = name.to_string();
        }
        self
    }
}
