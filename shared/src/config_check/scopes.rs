//! The commercetools scopes the flows need, per feature, and whether a token's granted scope
//! string covers them. Pure, so the list is tested and printed without a project.
//!
//! The minimal list (a `manage_*` scope implies its `view_*`; `manage_project` implies all):
//! - `manage_orders`: every flow writes orders (export mark, deliveries, states, returns);
//! - `view_channels`: the OrderExport and supply channels are read by key at start (the older
//!   `view_products`/`manage_products` also grant channels);
//! - `view_types`: the order and delivery Types are read by key at start;
//! - `manage_products`: with `[stock.sites]`, stock sync creates and updates inventory entries,
//!   which have no scope of their own;
//! - `view_states`: with a `[status.map]` entry naming a custom `state`, the order is moved to
//!   a State referenced by key.
//!
//! `ctpvx setup` needs `manage_channels` and `manage_types` as well; the flows do not.

use crate::config::Config;

/// A scope the configuration needs, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeededScope {
    /// Scope name without the project, e.g. `manage_orders`.
    pub scope: &'static str,
    /// Which flow needs it, for the message.
    pub why: &'static str,
}

/// The scopes the flows of this configuration need, in the order listed above.
pub fn needed(config: &Config) -> Vec<NeededScope> {
    let mut all = vec![
        NeededScope {
            scope: "manage_orders",
            why: "every flow updates orders",
        },
        NeededScope {
            scope: "view_channels",
            why: "channels are read by key at start",
        },
        NeededScope {
            scope: "view_types",
            why: "the order and delivery Types are read at start",
        },
    ];
    if !config.stock.sites.is_empty() {
        all.push(NeededScope {
            scope: "manage_products",
            why: "stock sync writes inventory entries",
        });
    }
    if config.status.map.values().any(|m| m.state.is_some()) {
        all.push(NeededScope {
            scope: "view_states",
            why: "[status.map] moves orders to custom States",
        });
    }
    all
}

/// The granted scopes that include `scope`.
fn covered_by(scope: &str) -> Vec<String> {
    let mut by = vec!["manage_project".to_string(), scope.to_string()];
    if let Some(resource) = scope.strip_prefix("view_") {
        by.push(format!("manage_{resource}"));
    }
    if scope == "view_channels" {
        // Channels were part of the products scopes before they had their own; still granted.
        by.extend(["manage_channels", "view_products", "manage_products"].map(String::from));
    }
    by
}

/// The needed scopes that `granted` (the token answer's space-separated `name:project` list)
/// does not cover for `project`.
pub fn missing(granted: &str, project: &str, needed: &[NeededScope]) -> Vec<NeededScope> {
    let held: Vec<&str> = granted
        .split_whitespace()
        .filter_map(|s| s.split_once(':'))
        .filter(|(_, p)| *p == project)
        .map(|(name, _)| name)
        .collect();
    needed
        .iter()
        .filter(|n| {
            !covered_by(n.scope)
                .iter()
                .any(|s| held.contains(&s.as_str()))
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        Config::from_toml(&format!("{}{extra}", crate::config::MINIMAL_TOML)).unwrap()
    }

    fn names(scopes: &[NeededScope]) -> Vec<&str> {
        scopes.iter().map(|n| n.scope).collect()
    }

    #[test]
    fn the_list_grows_with_the_features_configured() {
        assert_eq!(
            names(&needed(&config(""))),
            ["manage_orders", "view_channels", "view_types"]
        );
        let full = config(
            "[stock.sites.A]\nchannel = \"a\"\n[status.map.\"In pick\"]\nstage = \"picking\"\nstate = \"picking\"\n",
        );
        assert_eq!(
            names(&needed(&full)),
            [
                "manage_orders",
                "view_channels",
                "view_types",
                "manage_products",
                "view_states"
            ]
        );
    }

    #[test]
    fn manage_and_project_scopes_cover_views_of_this_project_only() {
        let all = needed(&config(
            "[stock.sites.A]\nchannel = \"a\"\n[status.map.\"In pick\"]\nstage = \"picking\"\nstate = \"picking\"\n",
        ));
        assert!(missing("manage_project:shop", "shop", &all).is_empty());
        assert_eq!(
            names(&missing("manage_project:other", "shop", &all)).len(),
            all.len()
        );
        let minimal = "manage_orders:shop view_channels:shop view_types:shop manage_products:shop view_states:shop";
        assert!(missing(minimal, "shop", &all).is_empty());
        let legacy = "manage_orders:shop manage_products:shop manage_types:shop manage_states:shop";
        assert!(missing(legacy, "shop", &all).is_empty());
        assert_eq!(
            names(&missing(
                "view_orders:shop view_products:shop view_types:shop",
                "shop",
                &all
            )),
            ["manage_orders", "manage_products", "view_states"]
        );
    }
}
