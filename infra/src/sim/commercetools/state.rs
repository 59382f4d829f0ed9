//! The simulator's state: resources as raw JSON (so that fields it does not know survive), tokens,
//! counters and switches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::time::Instant;

use super::errors::{ApiError, ApiResult};
use super::history::StateChange;
use super::inventory_index::InventoryIndex;
use super::staged::StagedOrders;
use crate::sim::faults::Faults;

/// How the simulated project is set up.
#[derive(Debug, Clone)]
pub struct CtSimConfig {
    /// The project key, first path segment of every API call.
    pub project_key: String,
    /// The only client id the token endpoint accepts.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The lifetime of issued tokens (`expires_in`).
    pub token_ttl: Duration,
}

impl Default for CtSimConfig {
    fn default() -> Self {
        Self {
            project_key: "ctpvx-sim".into(),
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            // The API's default validity, 48 h.
            token_ttl: Duration::from_secs(172_800),
        }
    }
}

/// Called with a resource as an HTTP update left it (see [`super::CtSim::on_update`]).
pub type UpdateHook = Arc<dyn Fn(&Value) + Send + Sync>;

/// An issued token.
pub(crate) struct IssuedToken {
    pub(crate) expires_at: Instant,
    pub(crate) scope: String,
}

/// The resources, each keyed by id (ordered, so that unsorted queries are stable), plus indexes.
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) orders: BTreeMap<String, Value>,
    pub(crate) order_numbers: HashMap<String, String>,
    /// syncInfo `externalId` → ids of the orders carrying it. Entries are only ever added: a
    /// query tests every order it looks up, so a stale one costs nothing but the test.
    pub(crate) external_ids: HashMap<String, BTreeSet<String>>,
    pub(crate) channels: BTreeMap<String, Value>,
    pub(crate) channel_keys: HashMap<String, String>,
    pub(crate) inventory: BTreeMap<String, Value>,
    /// Kept in step with `inventory` by [`super::inventory`].
    pub(crate) inventory_index: InventoryIndex,
    pub(crate) types: BTreeMap<String, Value>,
    pub(crate) type_keys: HashMap<String, String>,
    pub(crate) states: BTreeMap<String, Value>,
    pub(crate) state_keys: HashMap<String, String>,
    /// Changes of the orders' state fields, in the order the updates landed.
    pub(crate) state_history: Vec<StateChange>,
    /// The last message sequenceNumber issued per order id (see [`super::cancel`]).
    pub(crate) message_sequences: HashMap<String, u64>,
}

impl Store {
    /// Indexes the syncInfo `externalId`s of an order as stored now.
    pub(crate) fn index_external_ids(&mut self, order: &Value) {
        let Some(id) = order.get("id").and_then(Value::as_str) else {
            return;
        };
        let entries = order.get("syncInfo").and_then(Value::as_array);
        for external in entries
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("externalId").and_then(Value::as_str))
        {
            self.external_ids
                .entry(external.to_string())
                .or_default()
                .insert(id.to_string());
        }
    }
}

/// Everything the handlers and the Rust-side handle share.
pub(crate) struct SimState {
    pub(crate) config: CtSimConfig,
    store: Mutex<Store>,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    pub(crate) faults: Faults,
    rate_limit_next: AtomicU32,
    bump_next: AtomicU32,
    lose_answer_next: AtomicU32,
    request_total: AtomicU64,
    requests_by_route: Mutex<BTreeMap<String, u64>>,
    update_hook: RwLock<Option<UpdateHook>>,
    /// Orders a test placed at a moment of the next request on some route.
    pub(crate) staged: StagedOrders,
}

/// Locks a mutex; a panic in another holder leaves the data usable for a simulator.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    pub(crate) fn new(config: CtSimConfig) -> Self {
        Self {
            config,
            store: Mutex::new(Store::default()),
            tokens: Mutex::new(HashMap::new()),
            faults: Faults::default(),
            rate_limit_next: AtomicU32::new(0),
            bump_next: AtomicU32::new(0),
            lose_answer_next: AtomicU32::new(0),
            request_total: AtomicU64::new(0),
            requests_by_route: Mutex::new(BTreeMap::new()),
            update_hook: RwLock::new(None),
            staged: StagedOrders::default(),
        }
    }

    /// The resources, locked for one operation.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Issues a token with this scope.
    pub(crate) fn issue_token(&self, scope: String) -> String {
        let token = format!("sim-{}", uuid::Uuid::new_v4().simple());
        let expires_at = Instant::now() + self.config.token_ttl;
        lock(&self.tokens).insert(token.clone(), IssuedToken { expires_at, scope });
        token
    }

    /// The scope of a valid, unexpired token.
    pub(crate) fn token_scope(&self, token: &str) -> Option<String> {
        let tokens = lock(&self.tokens);
        tokens
            .get(token)
            .filter(|t| Instant::now() < t.expires_at)
            .map(|t| t.scope.clone())
    }

    /// Expires every issued token now.
    pub(crate) fn expire_tokens(&self) {
        let now = Instant::now();
        for token in lock(&self.tokens).values_mut() {
            token.expires_at = now;
        }
    }

    /// Counts a request under its route.
    pub(crate) fn count(&self, route: String) {
        self.request_total.fetch_add(1, Ordering::Relaxed);
        *lock(&self.requests_by_route).entry(route).or_default() += 1;
    }

    pub(crate) fn request_count(&self) -> u64 {
        self.request_total.load(Ordering::Relaxed)
    }

    pub(crate) fn requests_by_route(&self) -> BTreeMap<String, u64> {
        lock(&self.requests_by_route).clone()
    }

    pub(crate) fn reset_counters(&self) {
        self.request_total.store(0, Ordering::Relaxed);
        lock(&self.requests_by_route).clear();
    }

    pub(crate) fn rate_limit_next(&self, n: u32) {
        self.rate_limit_next.store(n, Ordering::Relaxed);
    }

    /// True (once per switched-on request) when this request is to get a 429.
    pub(crate) fn take_rate_limit(&self) -> bool {
        take_one(&self.rate_limit_next)
    }

    pub(crate) fn set_update_hook(&self, hook: Option<UpdateHook>) {
        *self
            .update_hook
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = hook;
    }

    /// Tells the hook, if any, of a resource an HTTP update changed.
    pub(crate) fn notify_update(&self, after: &Value) {
        let hook = self
            .update_hook
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(hook) = hook {
            hook(after);
        }
    }

    pub(crate) fn lose_answer_of_next_writes(&self, n: u32) {
        self.lose_answer_next.store(n, Ordering::Relaxed);
    }

    /// True (once per switched-on write) when this write, applied, is to answer 500.
    pub(crate) fn take_lost_answer(&self) -> bool {
        take_one(&self.lose_answer_next)
    }

    pub(crate) fn bump_version_before_next_update(&self, n: u32) {
        self.bump_next.store(n, Ordering::Relaxed);
    }

    /// True (once per switched-on update) when another writer is to change the resource first.
    pub(crate) fn take_bump(&self) -> bool {
        take_one(&self.bump_next)
    }
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Now, as commercetools writes times: `2026-08-30T09:00:00.000Z`.
pub(crate) fn now_iso() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// A new resource id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `version` of a stored resource.
pub(crate) fn version_of(resource: &Value) -> i64 {
    resource.get("version").and_then(Value::as_i64).unwrap_or(0)
}

/// Marks a stored resource as changed: version + 1 and `lastModifiedAt` now.
pub(crate) fn touch(resource: &mut Value) {
    let version = version_of(resource) + 1;
    if let Value::Object(map) = resource {
        map.insert("version".into(), version.into());
        map.insert("lastModifiedAt".into(), now_iso().into());
    }
}

/// Applies an update with optimistic concurrency: when the concurrent-writer switch is on, the
/// version moves first; a version mismatch is a 409; the actions run on a copy, so that a failing
/// action leaves the resource untouched; success moves the version by one.
pub(crate) fn versioned_update(
    state: &SimState,
    resource: &mut Value,
    expected_version: i64,
    apply: impl FnOnce(&mut Value) -> ApiResult<()>,
) -> ApiResult<Value> {
    if state.take_bump() {
        touch(resource);
    }
    let actual = version_of(resource);
    if actual != expected_version {
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(ApiError::conflict(id, expected_version, actual));
    }
    let mut updated = resource.clone();
    apply(&mut updated)?;
    touch(&mut updated);
    *resource = updated.clone();
    Ok(updated)
}

/// The `{version, actions}` of an update body.
pub(crate) fn parse_update(body: &[u8]) -> ApiResult<(i64, Vec<Value>)> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_json(format!("malformed JSON: {e}")))?;
    let version = body
        .get("version")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::invalid_json("version: Missing required value"))?;
    let actions = match body.get("actions") {
        Some(Value::Array(actions)) => actions.clone(),
        _ => return Err(ApiError::invalid_json("actions: Missing required value")),
    };
    // The API's limit of update actions per request.
    if actions.len() > 500 {
        return Err(ApiError::bad_request(
            "InvalidInput",
            "At most 500 update actions are allowed per request.",
        ));
    }
    Ok((version, actions))
}

/// Parses a JSON request body.
pub(crate) fn parse_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid_json(format!("malformed JSON: {e}")))
}
