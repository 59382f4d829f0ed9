//! commercetools checks: the token (client credentials), the scopes it was granted, and the
//! channels and custom Types the flows need — the latter by `ctpvx setup`'s own code in dry-run
//! mode, so that "missing" means exactly what setup would create or add.

use crate::commercetools::{CtClient, CtError};
use crate::config::Config;
use crate::setup::{self, Outcome, Resource, SetupItem};

use super::report::Check;
use super::scopes;

const SETUP_FIX: &str = "run `ctpvx setup --config …`";

/// The token, scopes, channels and Types, one check each (channels and Types one per item).
pub async fn check(ct: &CtClient, config: &Config) -> Vec<Check> {
    let project = &config.commercetools.project_key;
    let granted = match ct.granted_scope().await {
        Ok(granted) => granted,
        Err(e) => {
            return vec![
                Check::fail("commercetools token", e.to_string(), token_fix(&e)),
                Check::skip(
                    "commercetools scopes, channels and types",
                    "no token".to_string(),
                ),
            ];
        }
    };
    let mut checks = vec![Check::ok(
        "commercetools token",
        format!(
            "client {} of project {project}",
            config.commercetools.client_id
        ),
    )];
    checks.push(scope_check(config, granted.as_deref()));
    match setup::apply(ct, config, true).await {
        Ok(report) => checks.extend(report.items.iter().map(item_check)),
        Err(e) => checks.push(Check::fail(
            "commercetools channels and types",
            format!("could not be read: {e}"),
            "grant the scopes above, then run `ctpvx check-config` again",
        )),
    }
    checks
}

fn token_fix(e: &CtError) -> &'static str {
    match e {
        CtError::Unauthorized { .. } | CtError::Forbidden { .. } => {
            "check commercetools.client_id, commercetools.scopes and the client secret (CTPVX_CT_CLIENT_SECRET)"
        }
        _ => "check commercetools.auth_url and that the auth service is reachable",
    }
}

/// Every needed scope granted, or the missing ones with what needs them.
fn scope_check(config: &Config, granted: Option<&str>) -> Check {
    let name = "commercetools scopes";
    let needed = scopes::needed(config);
    let Some(granted) = granted else {
        return Check::warn(
            name,
            "the token answer lists no scope, so they could not be compared",
            "make sure the API client has the scopes listed in docs/configuration.md",
        );
    };
    let project = &config.commercetools.project_key;
    let missing = scopes::missing(granted, project, &needed);
    if missing.is_empty() {
        let names: Vec<&str> = needed.iter().map(|n| n.scope).collect();
        return Check::ok(
            name,
            format!("granted what the flows need ({})", names.join(", ")),
        );
    }
    let what: Vec<String> = missing
        .iter()
        .map(|n| format!("{}:{project} ({})", n.scope, n.why))
        .collect();
    Check::fail(
        name,
        format!("missing {}", what.join(", ")),
        "add them to the API client (or to commercetools.scopes)",
    )
}

/// One channel or Type as setup found it in a dry run.
fn item_check(item: &SetupItem) -> Check {
    let kind = match item.resource {
        Resource::Channel => "channel",
        Resource::Type => "custom type",
    };
    let name = format!("{kind} {}", item.key);
    match &item.outcome {
        Outcome::Unchanged => Check::ok(name, item.detail.clone()),
        Outcome::Created => Check::fail(
            name,
            format!("does not exist (needs {})", item.detail),
            SETUP_FIX,
        ),
        Outcome::Updated(what) => Check::fail(name, format!("lacks {what}"), SETUP_FIX),
        Outcome::Conflict(why) => Check::fail(
            name,
            why.clone(),
            "setup will not delete: fix it by hand (or name another key in the configuration)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_outcomes_read_as_checks() {
        let item = |outcome| SetupItem {
            resource: Resource::Channel,
            key: "pvx-uk-dc".into(),
            detail: "InventorySupply".into(),
            outcome,
        };
        let ok = item_check(&item(Outcome::Unchanged));
        assert_eq!(ok.status, super::super::Status::Ok);
        let missing = item_check(&item(Outcome::Created));
        assert_eq!(missing.detail, "does not exist (needs InventorySupply)");
        assert!(missing.fix.as_deref().unwrap().contains("ctpvx setup"));
        let lacking = item_check(&item(Outcome::Updated("roles InventorySupply".into())));
        assert_eq!(lacking.detail, "lacks roles InventorySupply");
    }
}
