//! `ctpvx setup`: makes a commercetools project ready for ctpvx. The channels and custom Types
//! the flows write to are derived from the configuration ([`desired`]), compared with what the
//! project has ([`diff`]) and created or completed ([`apply()`]); nothing is ever deleted, so
//! running it again, or against a project someone else also configures, is safe.

pub mod apply;
pub mod desired;
pub mod diff;
pub mod report;

pub use apply::apply;
pub use desired::{
    DELIVERY_RESOURCE, DELIVERY_TYPE_KEY, Desired, DesiredChannel, FIELD_DESPATCH_NUMBER,
    FIELD_DESPATCHED_AT, FIELD_PVX_CARRIER, FIELD_PVX_EXCEPTION, FIELD_PVX_ORDER_NUMBER,
    FIELD_PVX_SERVICE, FIELD_PVX_SHORT_PICKS, FIELD_PVX_STATUS, ORDER_RESOURCE, ORDER_TYPE_KEY,
    desired,
};
pub use report::{Outcome, Resource, SetupItem, SetupReport};
