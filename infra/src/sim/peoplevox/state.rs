//! What the simulated warehouse holds: sessions, item types, sales orders, stock,
//! despatches, returns and subscriptions. Field maps use the simulator's canonical field
//! names.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::clock::SimClock;
use super::despatch::SimDespatch;
use super::event::SimEvent;
use super::returns::SimReturn;

/// A sales order as imported through "Sales orders" and "Sales order items".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSalesOrder {
    /// `SalesOrderNumber`.
    pub number: String,
    /// `Site`, or the tenant's default site.
    pub site: String,
    /// Every header field imported, by canonical name.
    pub fields: BTreeMap<String, String>,
    /// Lines in import order (updated in place when re-imported).
    pub items: Vec<SimOrderItem>,
}

/// A sales order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrderItem {
    /// `Line`, or the item code when no line number was given (the upsert key).
    pub line: String,
    /// `ItemCode`.
    pub item_code: String,
    /// `QuantityOrdered`, as sent.
    pub quantity: String,
    /// Every item field imported, by canonical name.
    pub fields: BTreeMap<String, String>,
}

/// An item type (SKU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimItemType {
    /// `ItemCode`.
    pub code: String,
    /// Every field imported, by canonical name.
    pub fields: BTreeMap<String, String>,
}

/// A stock position of one item at one site. Peoplevox derives `available` from the other
/// two, so the simulator never stores it on its own: build one with [`SimStock::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimStock {
    /// Available to sell: `on_hand - allocated`.
    pub available: i64,
    /// Physically on hand.
    pub on_hand: i64,
    /// Promised to sales order lines and not yet picked.
    pub allocated: i64,
}

impl SimStock {
    /// A position with `available` computed from the other two.
    pub fn new(on_hand: i64, allocated: i64) -> Self {
        Self {
            available: on_hand - allocated,
            on_hand,
            allocated,
        }
    }
}

/// What one sales order line took from stock, so that a re-import never allocates twice
/// and a pick knows how much to take off the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAllocation {
    /// The site the order ships from when the line was allocated.
    pub site: String,
    /// The item code of the line.
    pub item: String,
    /// Units still allocated (0 once picked).
    pub allocated: i64,
}

/// A registered event subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSubscription {
    /// The id returned in `Detail`.
    pub id: i64,
    /// e.g. `AvailabilityChanges`.
    pub event_type: String,
    /// The filter clause.
    pub filter: String,
    /// `callbackUrl` (SubscribeEvent) or `postUrl` (SubscribePostEvent).
    pub url: String,
    /// `postParams` for a POST subscription; `None` for a GET one.
    pub post_params: Option<String>,
    /// The site a SubscribeEventWithSitesFilters subscription is for.
    pub sites: Option<String>,
    /// `encodeParameterData` was true: substituted values are percent-encoded.
    pub encode: bool,
}

/// Why a session id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Known and live; its idle timer was reset.
    Valid,
    /// Never issued.
    Invalid,
    /// Issued but idle too long, or expired by the test.
    Expired,
}

#[derive(Debug)]
struct Session {
    last_used: Instant,
    expired: bool,
}

/// The mutable state behind one mutex.
#[derive(Debug, Default)]
pub struct Data {
    sessions: HashMap<String, Session>,
    /// Orders by number.
    pub orders: BTreeMap<String, SimSalesOrder>,
    /// Item types by code.
    pub item_types: BTreeMap<String, SimItemType>,
    /// Stock by (site, item code).
    pub stock: BTreeMap<(String, String), SimStock>,
    /// Allocations by (order number, line).
    pub line_allocations: BTreeMap<(String, String), LineAllocation>,
    /// Units ordered that could not be allocated, by (site, item code).
    pub shortfalls: BTreeMap<(String, String), i64>,
    /// Events not yet handed to the callback dispatcher.
    pub events: Vec<SimEvent>,
    /// Despatches by number (`DSP-000001` ...; zero-padded, so the map keeps them in order).
    pub despatches: BTreeMap<String, SimDespatch>,
    /// The last despatch number issued.
    pub last_despatch: u64,
    /// Returns by code (`RET-000001` ...; zero-padded, so the map keeps them in order).
    pub returns: BTreeMap<String, SimReturn>,
    /// The last return number issued.
    pub last_return: u64,
    /// SaveData cancellations refused because the warehouse had started on the order.
    pub cancellations_refused: u64,
    /// Units each order was closed without (short picks), by order number then item: they
    /// no longer count as left to despatch.
    pub closed_short: BTreeMap<String, BTreeMap<String, i64>>,
    /// What "now" is for despatch dates and callback timestamps.
    pub clock: SimClock,
    /// Subscriptions by id.
    pub subscriptions: BTreeMap<i64, SimSubscription>,
    next_subscription: i64,
    /// How many times each order's header was imported.
    pub header_imports: HashMap<String, u32>,
}

impl Data {
    /// Issues a new session id.
    pub fn open_session(&mut self) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.sessions.insert(
            id.clone(),
            Session {
                last_used: Instant::now(),
                expired: false,
            },
        );
        id
    }

    /// Checks a session id and, when valid, resets its idle timer.
    pub fn use_session(&mut self, id: &str, idle: Duration) -> SessionCheck {
        let Some(session) = self.sessions.get_mut(id) else {
            return SessionCheck::Invalid;
        };
        if session.expired || session.last_used.elapsed() > idle {
            session.expired = true;
            return SessionCheck::Expired;
        }
        session.last_used = Instant::now();
        SessionCheck::Valid
    }

    /// Expires every session issued so far.
    pub fn expire_sessions(&mut self) {
        for session in self.sessions.values_mut() {
            session.expired = true;
        }
    }

    /// Sessions that are still usable.
    pub fn live_sessions(&self, idle: Duration) -> usize {
        self.sessions
            .values()
            .filter(|s| !s.expired && s.last_used.elapsed() <= idle)
            .count()
    }

    /// Registers a plain subscription (no sites filter, values raw) and returns its id (ids
    /// start at 1).
    #[cfg(test)]
    pub fn subscribe(
        &mut self,
        event_type: &str,
        filter: &str,
        url: &str,
        post_params: Option<&str>,
    ) -> i64 {
        self.add_subscription(SimSubscription {
            id: 0,
            event_type: event_type.to_string(),
            filter: filter.to_string(),
            url: url.to_string(),
            post_params: post_params.map(str::to_string),
            sites: None,
            encode: false,
        })
    }

    /// Registers `subscription` under a new id and returns it.
    pub fn add_subscription(&mut self, mut subscription: SimSubscription) -> i64 {
        self.next_subscription += 1;
        let id = self.next_subscription;
        subscription.id = id;
        self.subscriptions.insert(id, subscription);
        id
    }
}

/// A test fixture: order SO-1 at site S with these `(line, item, quantity)` lines, each item
/// with 10 units in stock, every line allocated, and the events of the set-up taken.
#[cfg(test)]
pub(crate) fn one_order(lines: &[(&str, &str, &str)]) -> Data {
    let mut data = Data::default();
    let mut items = Vec::new();
    for (line, item, qty) in lines {
        data.set_stock("S", item, 10, 10);
        items.push(SimOrderItem {
            line: (*line).into(),
            item_code: (*item).into(),
            quantity: (*qty).into(),
            fields: BTreeMap::new(),
        });
    }
    data.orders.insert(
        "SO-1".into(),
        SimSalesOrder {
            number: "SO-1".into(),
            site: "S".into(),
            fields: BTreeMap::new(),
            items,
        },
    );
    for (line, item, qty) in lines {
        data.allocate_line("SO-1", line, "S", item, qty);
    }
    data.take_events();
    data
}
