//! Why an order is held instead of exported. Every reason names the problem so that a person
//! reading the audit log knows what to fix.

use std::fmt;

/// A reason not to export an order now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum HoldReason {
    /// SKUs (Peoplevox item codes) that Peoplevox does not know. Retried automatically once
    /// the items exist.
    UnknownSkus {
        /// The missing item codes.
        skus: Vec<String>,
    },
    /// The order cannot be mapped as it is; a person must fix the order or the configuration.
    Invalid {
        /// What is wrong, naming the field.
        problem: String,
    },
    /// Peoplevox refused the record (per-record status Error).
    RejectedByPeoplevox {
        /// Which template refused it.
        template: String,
    },
    /// The order has no `orderNumber` yet and `orders.numbering.missing` is `wait`: every
    /// held-order sweep re-reads it, and it is exported once commercetools has a number.
    AwaitingOrderNumber,
    /// An imported order (OrderImported message) while `orders.export_imported` is false: not
    /// exported, and remembered so that a re-queue does not export it either.
    ImportNotExported,
    /// Cancelled in commercetools after an attempt sent it (or began to) and before any
    /// attempt marked it: Peoplevox may have it. Not sent again; the status flow's
    /// cancellation asks Peoplevox for the numbers kept with it and cancels it there.
    CancelledWhileSending,
}

impl HoldReason {
    /// Shorthand for [`HoldReason::Invalid`].
    pub fn invalid(problem: impl Into<String>) -> Self {
        Self::Invalid {
            problem: problem.into(),
        }
    }

    /// Whether the sync retries by itself (when the missing items appear, or the number).
    pub fn retries_automatically(&self) -> bool {
        matches!(self, Self::UnknownSkus { .. } | Self::AwaitingOrderNumber)
    }

    /// Whether exporting the order again can change anything: not for an import left alone by
    /// configuration, nor for an order cancelled while it was being sent (the cancellation
    /// deals with it). Only these orders are listed to operators as held.
    pub fn retry_can_help(&self) -> bool {
        !matches!(self, Self::ImportNotExported | Self::CancelledWhileSending)
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSkus { skus } => {
                write!(f, "SKUs not known to Peoplevox: {}", skus.join(", "))
            }
            Self::Invalid { problem } => f.write_str(problem),
            Self::RejectedByPeoplevox { template } => {
                write!(
                    f,
                    "Peoplevox rejected the record in template \"{template}\""
                )
            }
            Self::AwaitingOrderNumber => f.write_str(
                "order has no orderNumber yet (orders.numbering.missing = \"wait\"); \
                 re-read by every held-order sweep until it has one",
            ),
            Self::ImportNotExported => f.write_str(
                "imported order (OrderImported message) not exported: orders.export_imported is false",
            ),
            Self::CancelledWhileSending => f.write_str(
                "cancelled in commercetools while an attempt was sending it to Peoplevox: not sent again; the cancellation asks Peoplevox for it",
            ),
        }
    }
}
