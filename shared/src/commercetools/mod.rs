//! commercetools: resource types, message parsing and the HTTP API client.

pub mod actions;
mod auth;
pub mod client;
pub mod error;
mod http;
pub mod inventory;
pub mod lines;
pub mod message;
pub mod money;
pub mod scan;
pub mod settings;
pub mod types;
pub mod types_api;
pub mod update_with;

pub use actions::OrderUpdateAction;
pub use client::CtClient;
pub use error::CtError;
pub use inventory::InventoryUpdateAction;
pub use update_with::{Decision, UpdateOutcome};
