//! The `[status]` section: Peoplevox status names → a fulfilment stage and the commercetools
//! states it sets. Built-in defaults cover the documented names and the common undocumented
//! ones; a tenant's own names are added (or defaults replaced) under `[status.map."Name"]`.
//! Names match case-insensitively. A name in neither is audited and changes nothing.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::ConfigError;
use crate::commercetools::actions::{OrderState, ReturnShipmentState, ShipmentState};
use crate::domain::status::Stage;

/// What one Peoplevox status means in commercetools.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMapping {
    /// The fulfilment stage (ranks the status: only forward moves apply).
    pub stage: Stage,
    /// `orderState` to set, if any.
    #[serde(default)]
    pub order_state: Option<OrderState>,
    /// `shipmentState` to set, if any.
    #[serde(default)]
    pub shipment_state: Option<ShipmentState>,
    /// Key of a custom commercetools State to `transitionState` to, if any.
    #[serde(default)]
    pub state: Option<String>,
    /// The status itself says the warehouse could not pick everything (a tenant's "Short
    /// picked" or "Pick failed"): the order goes Partial and the short lines are named.
    #[serde(default)]
    pub short_pick: bool,
}

/// The `[status]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRules {
    /// Peoplevox status name → mapping; added to (and overriding) the defaults.
    #[serde(default)]
    pub map: BTreeMap<String, StatusMapping>,
    /// `shipmentState` while Peoplevox holds the order (the `OnHold` flag).
    #[serde(default = "default_on_hold")]
    pub on_hold_shipment_state: ShipmentState,
    /// Key of the order custom Type that carries `pvxStatus`, `pvxShortPicks` and
    /// `pvxException`. An order without a custom Type gets this one; a merchant whose orders
    /// already carry their own Type names it here, and `ctpvx setup` adds the fields to it.
    #[serde(default = "default_order_type")]
    pub order_type: String,
    /// How a commercetools cancellation reaches Peoplevox.
    #[serde(default)]
    pub cancel: CancelRules,
    /// How Peoplevox returns reach commercetools.
    #[serde(default)]
    pub returns: ReturnRules,
    /// Move orders to a status's custom State (`state`) even where the merchant's workflow
    /// has no such transition (`force`). Off: a refused move leaves the State as it is, and
    /// the update says so.
    #[serde(default)]
    pub force_transitions: bool,
}

impl Default for StatusRules {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
            on_hold_shipment_state: default_on_hold(),
            order_type: default_order_type(),
            cancel: CancelRules::default(),
            returns: ReturnRules::default(),
            force_transitions: false,
        }
    }
}

/// `[status.cancel]`: Peoplevox has no documented cancel operation. The default re-imports
/// the order's header with `Status` = `Cancelled` through SaveData (Cancelled is a status the
/// "Sales orders by status" report shows; whether an import may set it is UNCONFIRMED), after
/// reading the order's current status from the same template, so that an order the warehouse
/// has started picking is never cancelled behind its back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRules {
    /// Push commercetools cancellations to Peoplevox at all (false: every exported order's
    /// cancellation becomes an exception for a person).
    #[serde(default = "yes")]
    pub push_to_peoplevox: bool,
    /// Template the cancellation is imported through (and the status read from).
    #[serde(default = "default_cancel_template")]
    pub template: String,
    /// The template's status field.
    #[serde(default = "default_status_field")]
    pub status_field: String,
    /// The template's on-hold flag, read (when the tenant's template has it) for a status
    /// callback that carries none: zynksoftware/Zynk-Workflow
    /// `Export-Sales-Orders-from-Peoplevox.md` shows `OnHold` among the Sales orders fields.
    #[serde(default = "default_hold_field")]
    pub hold_field: String,
    /// The value that cancels.
    #[serde(default = "default_cancelled")]
    pub value: String,
}

impl Default for CancelRules {
    fn default() -> Self {
        Self {
            push_to_peoplevox: true,
            template: default_cancel_template(),
            status_field: default_status_field(),
            hold_field: default_hold_field(),
            value: default_cancelled(),
        }
    }
}

/// `[status.returns]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRules {
    /// The report returns are read from.
    #[serde(default = "default_return_report")]
    pub report: String,
    /// The return items' `shipmentState` in commercetools: the warehouse has the goods.
    #[serde(default = "default_return_state")]
    pub shipment_state: ReturnShipmentState,
}

impl Default for ReturnRules {
    fn default() -> Self {
        Self {
            report: default_return_report(),
            shipment_state: default_return_state(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_order_type() -> String {
    crate::setup::ORDER_TYPE_KEY.to_string()
}
fn default_cancel_template() -> String {
    "Sales orders".into()
}
fn default_status_field() -> String {
    "Status".into()
}
fn default_hold_field() -> String {
    "OnHold".into()
}
fn default_cancelled() -> String {
    "Cancelled".into()
}
fn default_return_report() -> String {
    "Return summary".into()
}
fn default_return_state() -> ReturnShipmentState {
    ReturnShipmentState::Returned
}

fn default_on_hold() -> ShipmentState {
    ShipmentState::Delayed
}

fn mapping(
    stage: Stage,
    order_state: Option<OrderState>,
    shipment_state: Option<ShipmentState>,
) -> StatusMapping {
    StatusMapping {
        stage,
        order_state,
        shipment_state,
        state: None,
        short_pick: false,
    }
}

/// The built-in table, built once. New, Despatched, Closed and Cancelled are documented; the
/// others are names tenants are known to use (UNCONFIRMED), harmless where absent.
pub fn default_statuses() -> &'static BTreeMap<String, StatusMapping> {
    static DEFAULTS: LazyLock<BTreeMap<String, StatusMapping>> = LazyLock::new(build_defaults);
    &DEFAULTS
}

fn build_defaults() -> BTreeMap<String, StatusMapping> {
    use OrderState as O;
    use ShipmentState as S;
    [
        ("New", mapping(Stage::Received, None, Some(S::Ready))),
        ("Allocated", mapping(Stage::Received, None, Some(S::Ready))),
        (
            "Awaiting allocation",
            mapping(Stage::Received, None, Some(S::Pending)),
        ),
        (
            "Backorder",
            mapping(Stage::Backorder, None, Some(S::Backorder)),
        ),
        // Ready again: a backorder that was filled shows as such once picking starts.
        (
            "Picking",
            mapping(Stage::Picking, Some(O::Confirmed), Some(S::Ready)),
        ),
        (
            "Picked",
            mapping(Stage::Packed, Some(O::Confirmed), Some(S::Ready)),
        ),
        (
            "Packed",
            mapping(Stage::Packed, Some(O::Confirmed), Some(S::Ready)),
        ),
        (
            "Partially despatched",
            mapping(
                Stage::PartiallyDespatched,
                Some(O::Confirmed),
                Some(S::Partial),
            ),
        ),
        (
            "Despatched",
            mapping(Stage::Despatched, Some(O::Confirmed), Some(S::Shipped)),
        ),
        // Closed comes after the goods left: Shipped too, in case Despatched was never seen.
        (
            "Closed",
            mapping(Stage::Closed, Some(O::Complete), Some(S::Shipped)),
        ),
        (
            "Cancelled",
            mapping(Stage::Cancelled, Some(O::Cancelled), Some(S::Canceled)),
        ),
    ]
    .into_iter()
    .map(|(name, m)| (name.to_string(), m))
    .collect()
}

impl StatusRules {
    /// The mapping of a Peoplevox status name: the tenant's own first, then the defaults;
    /// `None` for a name nobody mapped.
    pub fn resolve(&self, name: &str) -> Option<StatusMapping> {
        let name = name.trim();
        let find = |table: &BTreeMap<String, StatusMapping>| {
            table
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, m)| m.clone())
        };
        find(&self.map).or_else(|| find(default_statuses()))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // Advised means "announced, not received": a return booked so would never count as
        // received, and every event would book it again.
        if self.returns.shipment_state == ReturnShipmentState::Advised {
            return Err(ConfigError::invalid(
                "status.returns.shipment_state",
                "must be a received state (Returned, BackInStock or Unusable), not Advised",
            ));
        }
        for (field, value) in [
            ("status.order_type", &self.order_type),
            ("status.cancel.template", &self.cancel.template),
            ("status.cancel.status_field", &self.cancel.status_field),
            ("status.cancel.hold_field", &self.cancel.hold_field),
            ("status.cancel.value", &self.cancel.value),
            ("status.returns.report", &self.returns.report),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(field, "must not be empty"));
            }
        }
        for (name, m) in &self.map {
            if name.trim().is_empty() {
                return Err(ConfigError::invalid("status.map", "a status name is empty"));
            }
            if let Some(state) = &m.state
                && state.trim().is_empty()
            {
                return Err(ConfigError::invalid(
                    format!("status.map.\"{name}\".state"),
                    "must not be empty (leave it out for no custom State)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found in review: Advised as the return state never counts as received, so every event
    /// would book the return again; the configuration refuses it.
    #[test]
    fn advised_is_no_return_state() {
        let toml = |state: &str| {
            format!(
                "{}\n[status.returns]\nshipment_state = \"{state}\"\n",
                crate::config::MINIMAL_TOML
            )
        };
        let e = crate::config::Config::from_toml(&toml("Advised"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("status.returns.shipment_state"), "{e}");
        assert!(crate::config::Config::from_toml(&toml("BackInStock")).is_ok());
    }

    #[test]
    fn defaults_tenant_names_and_unknowns() {
        let rules: StatusRules = toml::from_str(
            r#"
[map."In Pick"]
stage = "picking"
state = "picking"

[map."despatched"]
stage = "despatched"
shipment_state = "Shipped"
order_state = "Complete"
"#,
        )
        .unwrap();
        assert_eq!(
            rules.resolve("in pick").unwrap().state.as_deref(),
            Some("picking")
        );
        // The tenant's entry replaces the default of the same name, whatever its case.
        assert_eq!(
            rules.resolve("Despatched").unwrap().order_state,
            Some(OrderState::Complete)
        );
        assert_eq!(
            rules.resolve(" NEW ").unwrap().shipment_state,
            Some(ShipmentState::Ready)
        );
        assert_eq!(rules.resolve("Cancelled").unwrap().stage, Stage::Cancelled);
        assert_eq!(rules.resolve("Quarantined"), None);
        assert_eq!(rules.on_hold_shipment_state, ShipmentState::Delayed);
    }

    #[test]
    fn unknown_stages_and_states_are_refused_by_name() {
        let e = toml::from_str::<StatusRules>("[map.X]\nstage = \"teleported\"\n").unwrap_err();
        assert!(e.to_string().contains("teleported"), "{e}");
        let e = toml::from_str::<StatusRules>(
            "[map.X]\nstage = \"packed\"\nshipment_state = \"Lost\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("Lost"), "{e}");
    }
}
