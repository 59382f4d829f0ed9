//! Peoplevox: the SOAP integration-service client, its session, CSV and request budget.

pub mod availability;
pub mod budget;
pub mod client;
pub mod csv_table;
pub mod envelope;
pub mod error;
pub mod paging;
pub mod report;
pub mod report_time;
pub mod response;
pub mod search;
pub mod session;
pub mod settings;
mod transport;
pub mod types;
pub mod wsdl;

#[cfg(test)]
mod memory_store;

pub use budget::{BudgetUse, RequestBudget};
pub use client::PvxClient;
pub use csv_table::{CsvError, CsvTable};
pub use envelope::Operation;
pub use error::PvxError;
pub use report::{Columns, ReportRows};
pub use report_time::ReportZone;
pub use response::IntegrationResponse;
pub use settings::PvxSettings;
pub use types::{DataPage, RecordStatus, ReportQuery, SaveAction, SaveOutcome};
