//! Simulators of the commercetools and Peoplevox APIs, speaking their real wire formats on
//! loopback, with switchable faults. They are the test bed of every flow.

pub mod commercetools;
pub mod faults;
pub mod peoplevox;
