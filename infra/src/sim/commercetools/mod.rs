//! commercetools simulator: the auth service and the orders, channels, inventory, types and
//! states API on loopback, in the real wire formats, with switchable faults and a
//! concurrent-writer switch. Orders placed through [`CtSim::place_order`] change stock as their
//! inventory mode says. Every order update records the changes of the order's state fields
//! ([`CtSim::state_history`]), for checks of the sequence of states an order went through.
//!
//! Resources are kept as raw JSON, so that fields the simulator does not know survive a round
//! trip. The auth service and the API share one address.

mod auth;
mod cancel;
mod channels;
mod custom;
mod deliveries;
mod errors;
mod gate;
mod history;
mod inventory;
mod inventory_index;
mod new_order;
mod order_actions;
mod orders;
mod placement;
mod predicate;
mod query;
mod resource;
mod sort;
mod staged;
mod state;
mod states;
mod stock_handle;
mod types;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use ctpvx_shared::commercetools::settings::CtSettings;
use ctpvx_shared::commercetools::types::{Channel, ChannelRole, Order};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::channels::Channels;
use self::errors::ApiError;
pub use self::history::StateChange;
use self::inventory::Inventory;
use self::new_order::NewOrder;
use self::orders::Orders;
pub use self::placement::OutOfStock;
pub use self::staged::Moment;
use self::state::SimState;
pub use self::state::{CtSimConfig, UpdateHook};
use self::states::States;
use self::types::Types;
use crate::sim::faults::Faults;

/// A running commercetools simulator. Stops when dropped (or with [`CtSim::stop`]).
pub struct CtSim {
    state: Arc<SimState>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CtSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtSim").field("addr", &self.addr).finish()
    }
}

fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(gate::TOKEN_PATH, post(auth::token))
        .route("/{project}/orders", get(resource::query::<Orders>))
        .route(
            "/{project}/orders/{item}",
            get(resource::get::<Orders>).post(resource::update::<Orders>),
        )
        .route("/{project}/channels", post(resource::create::<Channels>))
        .route(
            "/{project}/channels/{item}",
            get(resource::get::<Channels>).post(resource::update::<Channels>),
        )
        .route(
            "/{project}/types",
            get(resource::query::<Types>).post(resource::create::<Types>),
        )
        .route(
            "/{project}/types/{item}",
            get(resource::get::<Types>).post(resource::update::<Types>),
        )
        .route(
            "/{project}/states",
            get(resource::query::<States>).post(resource::create::<States>),
        )
        .route("/{project}/states/{item}", get(resource::get::<States>))
        .route(
            "/{project}/inventory",
            get(resource::query::<Inventory>).post(resource::create::<Inventory>),
        )
        .route(
            "/{project}/inventory/{item}",
            get(resource::get::<Inventory>).post(resource::update::<Inventory>),
        )
        .fallback(|| async { ApiError::no_route().into_response() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
        .with_state(state)
}

impl CtSim {
    /// Starts a simulator on `127.0.0.1` with a free port.
    pub async fn start(config: CtSimConfig) -> anyhow::Result<Self> {
        let state = Arc::new(SimState::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the commercetools simulator")?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(error = %err, "commercetools simulator stopped");
            }
        });
        Ok(Self {
            state,
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Stops the server, waiting up to 2 s for requests in flight.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }

    /// The auth service's base URL (the token is at `/oauth/token`).
    pub fn auth_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API's base URL (calls go to `/{project_key}/…`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulator's configuration.
    pub fn config(&self) -> &CtSimConfig {
        &self.state.config
    }

    /// Client settings for this simulator: its credentials, a 5 s timeout and 3 retries.
    pub fn settings(&self) -> CtSettings {
        let config = &self.state.config;
        CtSettings {
            auth_url: self.auth_url(),
            api_url: self.api_url(),
            project_key: config.project_key.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone().into(),
            scopes: None,
            request_timeout: Duration::from_secs(5),
            max_retries: 3,
        }
    }

    /// Stores an order as is (unknown fields kept). It needs `id`; `version` defaults to 1 and
    /// the timestamps to now. An `orderNumber` already in use is refused. Stock is not touched
    /// (see [`CtSim::place_order`] for a checkout's effect on stock).
    pub fn insert_order_json(&self, order: Value) -> anyhow::Result<Order> {
        NewOrder::prepare(order)?.insert(&mut self.state.store())
    }

    /// Stores a typed order (see [`CtSim::insert_order_json`]).
    pub fn insert_order(&self, order: Order) -> anyhow::Result<Order> {
        self.insert_order_json(serde_json::to_value(order)?)
    }

    /// The stored order with this id.
    pub fn order(&self, id: &str) -> Option<Order> {
        self.order_json(id)
            .and_then(|o| serde_json::from_value(o).ok())
    }

    /// The stored order with this id, as raw JSON.
    pub fn order_json(&self, id: &str) -> Option<Value> {
        self.state.store().orders.get(id).cloned()
    }

    /// Every stored order, by id.
    pub fn orders(&self) -> Vec<Order> {
        resource::all_parsed::<Orders, _>(&self.state)
    }

    /// Every order that has an order number, by that number.
    pub fn orders_by_number(&self) -> std::collections::BTreeMap<String, Order> {
        self.orders()
            .into_iter()
            .filter_map(|o| o.order_number.clone().map(|n| (n, o)))
            .collect()
    }

    /// Applies update actions (raw JSON) to the current version of an order, as another writer
    /// (a merchant, another integration) would: the version moves by one.
    pub fn apply_order_actions(&self, id: &str, actions: Vec<Value>) -> anyhow::Result<Order> {
        let order = resource::apply_as_other_writer::<Orders>(&self.state, id, &actions)
            .ok_or_else(|| anyhow!("no order {id}"))?
            .map_err(|e| anyhow!("update refused: {e:?}"))?;
        Ok(serde_json::from_value(order)?)
    }

    /// Removes an order's `syncInfo` as if its export mark had never landed (the write lost
    /// after Peoplevox took the order). The API has no action that removes it; tests need
    /// the state that a lost write leaves.
    pub fn forget_sync_info(&self, id: &str) -> anyhow::Result<()> {
        let mut store = self.state.store();
        let order = store
            .orders
            .get_mut(id)
            .ok_or_else(|| anyhow!("no order {id}"))?;
        order["syncInfo"] = Value::Array(Vec::new());
        Ok(())
    }

    /// Cancels an order as a merchant would in commercetools (`changeOrderState` to
    /// `Cancelled`: the version moves by one and the change is recorded in the state history) and
    /// returns the `OrderStateChanged` Message a subscription would deliver, in the Platform
    /// format. An error when there is no such order or it is already Cancelled.
    pub fn cancel_order(&self, id: &str) -> anyhow::Result<Value> {
        cancel::cancel(&self.state, id)
    }

    /// Every change of an order's `orderState`, `shipmentState`, `state` (the custom State's id)
    /// and custom field `pvxStatus` made by a successful update, in the order they landed.
    pub fn state_history(&self) -> Vec<StateChange> {
        self.state.store().state_history.clone()
    }

    /// The id of the State with this key; created as an initial `OrderState` without
    /// transitions when missing (an existing State is returned whatever its type).
    pub fn ensure_state(&self, key: &str) -> anyhow::Result<String> {
        if let Some(id) = self.state.store().state_keys.get(key) {
            return Ok(id.clone());
        }
        self.create_state(json!({"key": key, "type": "OrderState", "initial": true}))
    }

    /// Creates an initial `OrderState` whose `transitions` name the States of these keys (an
    /// empty list: a final State), as a merchant's workflow would.
    pub fn create_state_with_transitions(&self, key: &str, to: &[&str]) -> anyhow::Result<String> {
        let transitions: Vec<Value> = to
            .iter()
            .map(|k| json!({"typeId": "state", "key": k}))
            .collect();
        self.create_state(
            json!({"key": key, "type": "OrderState", "initial": true, "transitions": transitions}),
        )
    }

    /// Creates a State from its draft; its id.
    fn create_state(&self, draft: Value) -> anyhow::Result<String> {
        let created = states::create_state(&mut self.state.store(), &draft)
            .map_err(|e| anyhow!("state refused: {e:?}"))?;
        created["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("created state has no id"))
    }

    /// The channel with this key; created with these roles, or given the roles it lacks.
    pub fn ensure_channel(&self, key: &str, roles: &[ChannelRole]) -> anyhow::Result<Channel> {
        let mut store = self.state.store();
        let channel = match store.channel_keys.get(key).cloned() {
            None => {
                let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                channels::create_channel(&mut store, &json!({"key": key, "roles": roles}))
                    .map_err(|e| anyhow!("channel refused: {e:?}"))?
            }
            Some(id) => {
                let channel = store
                    .channels
                    .get_mut(&id)
                    .ok_or_else(|| anyhow!("channel index out of step"))?;
                let mut changed = false;
                for role in roles {
                    let has = channel["roles"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|x| x == role.as_str()));
                    if !has {
                        match channel["roles"].as_array_mut() {
                            Some(list) => list.push(role.as_str().into()),
                            None => channel["roles"] = json!([role.as_str()]),
                        }
                        changed = true;
                    }
                }
                if changed {
                    state::touch(channel);
                }
                channel.clone()
            }
        };
        Ok(serde_json::from_value(channel)?)
    }

    /// Every stored Type (custom field definitions), as raw JSON, ordered by id.
    pub fn types(&self) -> Vec<Value> {
        self.state.store().types.values().cloned().collect()
    }

    /// The stored Type with this key, as raw JSON.
    pub fn type_by_key(&self, key: &str) -> Option<Value> {
        let store = self.state.store();
        store
            .type_keys
            .get(key)
            .and_then(|id| store.types.get(id))
            .cloned()
    }

    /// Stores a Type from a TypeDraft as if another tool had created it (checked like
    /// `POST /types`).
    pub fn create_type_json(&self, draft: Value) -> anyhow::Result<Value> {
        types::create_type(&mut self.state.store(), &draft)
            .map_err(|e| anyhow!("type refused: {e:?}"))
    }

    /// Creates a Type under a given id, as a project that already has it (a merchant's order
    /// Type that fixtures reference by id).
    pub fn create_type_with_id(&self, draft: Value, id: &str) -> anyhow::Result<Value> {
        let mut store = self.state.store();
        let mut created =
            types::create_type(&mut store, &draft).map_err(|e| anyhow!("type refused: {e:?}"))?;
        let (old, key) = (
            created["id"].as_str().unwrap_or_default().to_string(),
            created["key"].as_str().unwrap_or_default().to_string(),
        );
        store.types.remove(&old);
        created["id"] = id.into();
        store.type_keys.insert(key, id.to_string());
        store.types.insert(id.to_string(), created.clone());
        Ok(created)
    }

    /// Requests received (token requests included) since start or the last reset.
    pub fn request_count(&self) -> u64 {
        self.state.request_count()
    }

    /// Requests received per route, e.g. `POST /oauth/token`, `GET /{project}/orders/{id}`.
    pub fn requests_by_route(&self) -> BTreeMap<String, u64> {
        self.state.requests_by_route()
    }

    /// Requests received on one route (see [`CtSim::requests_by_route`]).
    pub fn requests_to(&self, route: &str) -> u64 {
        self.requests_by_route().get(route).copied().unwrap_or(0)
    }

    /// Sets the request counters to zero.
    pub fn reset_counters(&self) {
        self.state.reset_counters();
    }

    /// The fault switches (503 OverCapacity, hangs, latency).
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The next `n` requests get a 429 with `Retry-After: 1`.
    pub fn rate_limit_next(&self, n: u32) {
        self.state.rate_limit_next(n);
    }

    /// Calls `hook` (or, with `None`, nothing any more) with every resource an HTTP update
    /// changed, as it is after the update, just before the answer goes out: benchmarks time
    /// the moment a flow's write lands with it.
    pub fn on_update(&self, hook: Option<UpdateHook>) {
        self.state.set_update_hook(hook);
    }

    /// The next `n` writes (POSTs other than the token) are applied, and then answered with a
    /// 500 `General` error: the client cannot tell whether its write landed.
    pub fn lose_answer_of_next_writes(&self, n: u32) {
        self.state.lose_answer_of_next_writes(n);
    }

    /// The next `n` updates find that another writer changed the resource first: its version
    /// moves before the check, so a client sending the version it read gets a real 409.
    pub fn bump_version_before_next_update(&self, n: u32) {
        self.state.bump_version_before_next_update(n);
    }

    /// Places `order` as [`CtSim::place_order`] would, at `moment` of the next request on any
    /// of `routes` (labels as [`CtSim::requests_by_route`] names them, e.g.
    /// `GET /{project}/inventory`): another checkout landing at an exact point of a flow's
    /// reads and writes. See [`CtSim::staged_orders_placed`] for what became of it.
    pub fn place_order_at(&self, routes: &[&str], moment: Moment, order: Value) {
        self.state.staged.stage(routes, moment, order);
    }

    /// Every staged order placed so far, in order: its id, or why it was not placed (out of
    /// stock, malformed).
    pub fn staged_orders_placed(&self) -> Vec<Result<String, String>> {
        self.state.staged.outcomes()
    }

    /// Expires every token issued so far; the API answers them with 401 `invalid_token`.
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }
}

impl Drop for CtSim {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod states_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod types_tests;
