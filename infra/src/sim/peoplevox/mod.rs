//! Peoplevox simulator: `integrationservicev4.asmx` on loopback, speaking SOAP 1.1 like the
//! real service (HTTP 200 with `ResponseId` -1 for API and session errors, SOAP faults with
//! HTTP 500, HTML error pages), with the tenant's templates, a warehouse state that tests can
//! read and set, the request budget, and switchable faults. Stock moves like in a real
//! warehouse, orders are despatched in packages (reported and tracked), moved through
//! statuses and holds, cancelled (or refused), closed short and returned, and every movement
//! fires the event callbacks subscribers registered.

mod callback_faults;
mod cancellation;
mod clause;
mod clock;
mod config;
mod delivery;
mod despatch;
mod despatch_api;
mod despatch_event;
mod despatch_report;
mod despatching;
pub mod dialect;
mod dispatch;
mod event;
mod filter;
mod inventory_report;
mod movements;
mod on_hold;
mod order_by;
mod order_status;
mod order_status_api;
mod placeholder;
mod query;
mod report_clock;
mod return_event;
mod return_report;
mod returns;
mod returns_api;
mod routing;
mod row;
mod save;
mod save_gate;
#[cfg(test)]
mod scale_tests;
mod server;
mod short_pick;
mod soak_shapes;
mod soap;
mod state;
mod stock;
mod template_rows;
mod window;
#[cfg(test)]
mod workflow_tests;
mod wsdl;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use callback_faults::CallbackFaults;
pub use cancellation::STATUS_CANCELLED;
pub use config::{
    DESPATCH_PACKAGE_TEMPLATE_FIELDS, DESPATCH_PACKAGES, DESPATCH_SUMMARY, ITEM_INVENTORY_SUMMARY,
    ITEM_TYPE_FIELDS, ITEM_TYPES, PvxSimConfig, RETURN_SUMMARY, SALES_ORDER_FIELDS,
    SALES_ORDER_ITEM_FIELDS, SALES_ORDER_ITEMS, SALES_ORDERS, SimField, SimTemplate,
};
pub use delivery::{SimCallback, SimCallbackOutcome};
pub use despatch::{DespatchPlan, PackagePlan, SimDespatch, SimDespatchLine, SimPackage};
pub use despatch_event::{
    DESPATCH_PACKAGE_DESPATCHED, DESPATCH_PACKAGE_TRACKING_NUMBER_RECEIVED,
    TRACKING_NUMBER_RECEIVED,
};
pub use despatch_report::{
    DESPATCH_PACKAGE_COLUMNS, DESPATCH_SUMMARY_COLUMNS, DESPATCH_SUMMARY_FULL_COLUMNS,
};
pub use dialect::{DIALECTS, Dialect, PackagesSource, SaveReferences, SaveStatuses};
pub use dispatch::{EVENT_TYPES, INVALID_SESSION, SESSION_EXPIRED};
pub use event::{AVAILABILITY_CHANGES, INCREMENTAL_CHANGES};
pub use on_hold::ON_HOLD_FIELD;
pub use order_status::{
    SALES_ORDER_STATUS_CHANGES, STATUS_DESPATCHED, STATUS_FIELD, STATUS_NEW,
    STATUS_PARTIALLY_DESPATCHED,
};
pub use report_clock::ReportClock;
pub use return_event::RETURNS;
pub use return_report::{RETURN_SUMMARY_COLUMNS, RETURN_SUMMARY_FULL_COLUMNS};
pub use returns::{ReturnLine, SimReturn};
pub use routing::POST_CONTENT_TYPE;
pub use state::{SimItemType, SimOrderItem, SimSalesOrder, SimStock, SimSubscription};

use crate::sim::faults::Faults;
use delivery::{Delivery, Job};
use save_gate::SaveGate;
use state::Data;
use window::SlidingWindow;

/// State shared by the handler and the test handle.
#[derive(Debug)]
pub(crate) struct Shared {
    config: PvxSimConfig,
    /// `/<clientId>/resources/integrationservicev4.asmx`, compared case-insensitively.
    path: String,
    data: Mutex<Data>,
    faults: Faults,
    window: SlidingWindow,
    requests: AtomicU64,
    by_operation: Mutex<BTreeMap<String, u64>>,
    budget_violations: AtomicU64,
    callbacks: Arc<Delivery>,
    /// The callback dispatcher's queue.
    outbox: mpsc::UnboundedSender<Job>,
    /// Where SaveData requests wait while a test holds them.
    save_gate: SaveGate,
}

impl Shared {
    /// Hands the events recorded so far to the callback dispatcher. Called with the
    /// data mutex held, so callbacks are queued in the order the movements happened.
    fn fire_events(&self, data: &mut Data) {
        let events = data.take_events();
        if !events.is_empty() {
            let routed = routing::route(&events, &data.subscriptions, &self.config.dialect);
            self.callbacks.schedule(&self.outbox, routed);
        }
    }
}

/// A running simulator; stops when shut down or dropped.
#[derive(Debug)]
pub struct PvxSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    dispatcher: Option<JoinHandle<()>>,
}

impl PvxSim {
    /// Starts the simulator on `127.0.0.1` and a free port.
    pub async fn start(config: PvxSimConfig) -> anyhow::Result<Self> {
        let config = config.with_dialect_templates();
        anyhow::ensure!(
            config.budget_requests > 0 && !config.budget_window.is_zero(),
            "the simulator's budget must allow at least one request per window"
        );
        anyhow::ensure!(
            !config.client_id.is_empty() && !config.client_id.contains('/'),
            "the client id must be one path segment"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let callbacks = Arc::new(Delivery::new()?);
        let (outbox, queue) = mpsc::unbounded_channel();
        let dispatcher = tokio::spawn(delivery::run(callbacks.clone(), queue));
        let shared = Arc::new(Shared {
            path: format!("/{}/resources/integrationservicev4.asmx", config.client_id),
            window: SlidingWindow::new(config.budget_requests, config.budget_window),
            config,
            data: Mutex::new(Data::default()),
            faults: Faults::default(),
            requests: AtomicU64::new(0),
            by_operation: Mutex::new(BTreeMap::new()),
            budget_violations: AtomicU64::new(0),
            callbacks,
            outbox,
            save_gate: SaveGate::default(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "Peoplevox simulator stopped");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
            dispatcher: Some(dispatcher),
        })
    }

    /// The full endpoint URL, e.g.
    /// `http://127.0.0.1:4321/simclient/resources/integrationservicev4.asmx`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.path)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &PvxSimConfig {
        &self.shared.config
    }

    /// Client settings that reach this simulator with its credentials and budget (3 retries),
    /// and its report zone (tenant configuration, as `peoplevox.time_zone` would give it).
    pub fn settings(&self) -> ctpvx_shared::peoplevox::PvxSettings {
        let config = &self.shared.config;
        ctpvx_shared::peoplevox::PvxSettings {
            endpoint: self.endpoint(),
            client_id: config.client_id.clone(),
            username: config.username.clone(),
            password: secrecy::SecretString::from(config.password.clone()),
            request_timeout: Duration::from_secs(5),
            max_retries: 3,
            session_ttl: Duration::from_secs(25 * 60),
            budget_requests: config.budget_requests,
            budget_window: config.budget_window,
            report_zone: ctpvx_shared::peoplevox::ReportZone::named(
                config.dialect.report_time_zone,
            )
            .unwrap_or_default(),
            max_pages_per_read: 100,
        }
    }

    /// Stops accepting requests and waits (briefly) for the server to wind down; callbacks
    /// not yet delivered are abandoned.
    pub async fn shutdown(mut self) {
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Hanging requests would hold graceful shutdown for their whole hang.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Fault switches (errors, hangs, latency).
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Holds every SaveData that arrives from now on (after the budget and session checks,
    /// before it is applied) until [`PvxSim::release_saves`].
    pub fn hold_saves(&self) {
        self.shared.save_gate.set_open(false);
    }

    /// Lets held and later SaveData requests through.
    pub fn release_saves(&self) {
        self.shared.save_gate.set_open(true);
    }

    /// SaveData requests being held now.
    pub fn saves_held(&self) -> u64 {
        self.shared.save_gate.waiting()
    }

    /// Expires every session issued so far: their next use answers `Session Expired`.
    pub fn expire_sessions(&self) {
        self.data().expire_sessions();
    }

    /// Sessions that are still usable.
    pub fn live_sessions(&self) -> usize {
        self.data().live_sessions(self.shared.config.session_idle)
    }

    /// Adds (or keeps) an item type with this code; its name and barcode are the code.
    pub fn add_item_type(&self, code: &str) {
        self.data()
            .item_types
            .entry(code.to_string())
            .or_insert_with(|| item_type(code.to_string()));
    }

    /// Removes an item type, as the warehouse deleting it would: a sales order line naming it
    /// is refused from then on. Whether it existed.
    pub fn remove_item_type(&self, code: &str) -> bool {
        self.data().item_types.remove(code).is_some()
    }

    /// Adds (or keeps) item types with these codes, as [`PvxSim::add_item_type`] does, under
    /// one lock (for seeding benchmarks). Returns how many were new.
    pub fn add_item_types_bulk(&self, codes: impl IntoIterator<Item = String>) -> usize {
        let mut data = self.data();
        let before = data.item_types.len();
        for code in codes {
            data.item_types
                .entry(code.clone())
                .or_insert_with(|| item_type(code));
        }
        data.item_types.len() - before
    }

    /// Every item type, by code.
    pub fn item_types(&self) -> Vec<SimItemType> {
        self.data().item_types.values().cloned().collect()
    }

    /// Every sales order, by number.
    pub fn sales_orders(&self) -> Vec<SimSalesOrder> {
        self.data().orders.values().cloned().collect()
    }

    /// One sales order.
    pub fn sales_order(&self, number: &str) -> Option<SimSalesOrder> {
        self.data().orders.get(number).cloned()
    }

    /// How many times the header of this order was imported (more than 1 = re-exported).
    pub fn header_imports(&self, number: &str) -> u32 {
        self.data()
            .header_imports
            .get(number)
            .copied()
            .unwrap_or_default()
    }

    /// Test setup: sets the stock of an item at a site (allocated = on_hand - available;
    /// the "Item inventory summary" report reads it). Fires no callback: nothing moved.
    pub fn set_stock(&self, site: &str, item: &str, available: i64, on_hand: i64) {
        self.data().set_stock(site, item, available, on_hand);
    }

    /// Sets many stock positions `(site, item, available, on_hand)` at once, as
    /// [`PvxSim::set_stock`] does, under one lock (for seeding benchmarks). Like it, fires no
    /// callback: nothing moved. Returns how many positions were set.
    pub fn set_stock_bulk(
        &self,
        rows: impl IntoIterator<Item = (String, String, i64, i64)>,
    ) -> usize {
        self.data().set_stock_bulk(rows)
    }

    /// The stock of an item at a site.
    pub fn stock(&self, site: &str, item: &str) -> Option<SimStock> {
        self.data()
            .stock
            .get(&(site.to_string(), item.to_string()))
            .copied()
    }

    /// Registered subscriptions, by id.
    pub fn subscriptions(&self) -> Vec<SimSubscription> {
        self.data().subscriptions.values().cloned().collect()
    }

    /// Requests that reached the endpoint (refused and failed ones included).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Requests per SOAP operation (`(unknown)` for a missing or unknown SOAPAction).
    pub fn requests_by_operation(&self) -> BTreeMap<String, u64> {
        self.shared
            .by_operation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests refused with HTTP 429 for exceeding the budget; a well-behaved client keeps
    /// this at 0.
    pub fn budget_violations(&self) -> u64 {
        self.shared.budget_violations.load(Ordering::SeqCst)
    }

    /// Zeroes the request and violation counters (not the budget window itself).
    pub fn reset_counters(&self) {
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.budget_violations.store(0, Ordering::SeqCst);
        self.shared
            .by_operation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        // A panicking test thread must not make every later call panic too.
        self.shared.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An item type whose name and barcode are its code.
fn item_type(code: String) -> SimItemType {
    SimItemType {
        fields: BTreeMap::from([
            ("ItemCode".to_string(), code.clone()),
            ("Name".to_string(), code.clone()),
            ("Barcode".to_string(), code.clone()),
        ]),
        code,
    }
}

impl Drop for PvxSim {
    fn drop(&mut self) {
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
