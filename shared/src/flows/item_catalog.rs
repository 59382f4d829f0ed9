//! Which item codes Peoplevox knows: a per-process cache in front of the "Item types" template.
//!
//! Known items are cached for hours; unknown ones for a minute, so that an order held for a
//! missing item is exported soon after the item is created, without asking Peoplevox about the
//! same missing code on every batch. A miss costs one GetData call per 100 codes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::peoplevox::client::PvxClient;
use crate::peoplevox::error::PvxError;
use crate::peoplevox::search::equals_any;

/// Codes asked for in one GetData call (bedrock's limit for OR'ed clauses).
const CODES_PER_QUERY: usize = 100;

/// The cache.
pub struct ItemCatalog {
    template: String,
    code_field: String,
    known_ttl: Duration,
    missing_ttl: Duration,
    entries: Mutex<HashMap<String, (bool, Instant)>>,
}

impl ItemCatalog {
    /// A cache over `template` (tenant name of "Item types"), whose item code field is
    /// `code_field`.
    pub fn new(
        template: &str,
        code_field: &str,
        known_ttl: Duration,
        missing_ttl: Duration,
    ) -> Self {
        Self {
            template: template.to_string(),
            code_field: code_field.to_string(),
            known_ttl,
            missing_ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, code: &str, force: bool) -> Option<bool> {
        if force {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(code)
            .and_then(|(known, until)| (Instant::now() < *until).then_some(*known))
    }

    fn remember(&self, code: &str, known: bool) {
        let ttl = if known {
            self.known_ttl
        } else {
            self.missing_ttl
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(code.to_string(), (known, Instant::now() + ttl));
    }

    /// The codes among `codes` that Peoplevox does not know. `force` skips the cache (used by
    /// the held-order sweep).
    pub async fn unknown_among(
        &self,
        pvx: &PvxClient,
        codes: &BTreeSet<String>,
        force: bool,
    ) -> Result<BTreeSet<String>, PvxError> {
        let mut unknown = BTreeSet::new();
        let to_ask: Vec<&String> = codes
            .iter()
            .filter(|code| match self.cached(code, force) {
                Some(true) => false,
                Some(false) => {
                    unknown.insert((*code).clone());
                    false
                }
                None => true,
            })
            .collect();
        for chunk in to_ask.chunks(CODES_PER_QUERY) {
            let clause = equals_any(&self.code_field, chunk.iter().map(|c| c.as_str()));
            let page = pvx
                .get_data(&self.template, 1, chunk.len() as u32, &clause)
                .await?;
            let found: BTreeSet<&str> = page
                .table
                .column(&self.code_field)
                .map(|col| {
                    page.table
                        .rows
                        .iter()
                        .filter_map(|r| r.get(col).map(String::as_str))
                        .collect()
                })
                .unwrap_or_default();
            for code in chunk {
                let known = found.contains(code.as_str());
                self.remember(code, known);
                if !known {
                    unknown.insert((*code).clone());
                }
            }
        }
        Ok(unknown)
    }
}
