//! The `[stock]` section: which commercetools supply channel each Peoplevox site feeds, the
//! safety buffer, and how callbacks are trusted.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;

/// How Peoplevox stock becomes commercetools inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockRules {
    /// Peoplevox site reference → the site's settings. A site missing here is an error for
    /// every event about it, never a guess.
    #[serde(default)]
    pub sites: BTreeMap<String, StockSite>,
    /// Peoplevox units held back per (item, site) unless the site sets its own: covers
    /// movements the storefront has not heard of yet.
    #[serde(default)]
    pub safety_buffer: u32,
    /// Create the commercetools inventory entry when a (sku, channel) has none.
    #[serde(default = "default_true")]
    pub create_missing_entries: bool,
    /// Orders created this many days back without an export mark count as not yet allocated.
    #[serde(default = "default_pending_order_days")]
    pub pending_order_days: u32,
    /// Re-read Peoplevox availability this long after applying a callback's `{Available}`,
    /// because Peoplevox's delivery order is not documented: a late, older callback would
    /// otherwise win until the next movement. 0 turns the re-read off; at most 900 (the
    /// longest SQS delay).
    #[serde(default = "default_confirm_after_s")]
    pub confirm_after_s: u64,
    /// commercetools inventory writes in flight at once per batch.
    #[serde(default = "default_write_concurrency")]
    pub write_concurrency: usize,
}

/// One Peoplevox site.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StockSite {
    /// Key of the commercetools channel (role InventorySupply) that sells this site's stock.
    pub channel: String,
    /// This site's buffer; default: `stock.safety_buffer`.
    #[serde(default)]
    pub safety_buffer: Option<u32>,
}

impl Default for StockRules {
    fn default() -> Self {
        Self {
            sites: BTreeMap::new(),
            safety_buffer: 0,
            create_missing_entries: true,
            pending_order_days: default_pending_order_days(),
            confirm_after_s: default_confirm_after_s(),
            write_concurrency: default_write_concurrency(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_pending_order_days() -> u32 {
    30
}
fn default_confirm_after_s() -> u64 {
    60
}
fn default_write_concurrency() -> usize {
    8
}

impl StockRules {
    /// The buffer of a site, in Peoplevox units.
    pub fn buffer(&self, site: &str) -> u32 {
        self.sites
            .get(site)
            .and_then(|s| s.safety_buffer)
            .unwrap_or(self.safety_buffer)
    }

    /// Checks what the types cannot.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let mut channels: BTreeMap<&str, &str> = BTreeMap::new();
        for (site, settings) in &self.sites {
            if site.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "stock.sites",
                    "a site reference is empty",
                ));
            }
            let field = format!("stock.sites.\"{site}\".channel");
            if settings.channel.trim().is_empty() {
                return Err(ConfigError::invalid(field, "must not be empty"));
            }
            // Two sites writing one channel would overwrite each other's figures.
            if let Some(other) = channels.insert(&settings.channel, site) {
                return Err(ConfigError::invalid(
                    field,
                    format!(
                        "channel `{}` is already fed by site `{other}`",
                        settings.channel
                    ),
                ));
            }
        }
        if self.confirm_after_s > 900 {
            return Err(ConfigError::invalid(
                "stock.confirm_after_s",
                "must be at most 900 (the longest SQS delay)",
            ));
        }
        if self.write_concurrency == 0 {
            return Err(ConfigError::invalid(
                "stock.write_concurrency",
                "must be at least 1",
            ));
        }
        if self.pending_order_days == 0 {
            return Err(ConfigError::invalid(
                "stock.pending_order_days",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
