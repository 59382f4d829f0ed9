//! The Peoplevox subscriptions recorded in the store against the configuration: what
//! `ctpvx subscribe --dry-run` would do, read from the records alone (no Peoplevox request).

use secrecy::SecretString;

use crate::config::Config;
use crate::peoplevox::wsdl::ServiceDescription;
use crate::store::StateStore;
use crate::subscriptions::record::load_all;
use crate::subscriptions::{Action, ApplyOptions, EventSubscriber, apply, desired};

use super::report::Check;

const NAME: &str = "Peoplevox subscriptions";
const FIX: &str = "run `ctpvx subscribe --config …`";

/// One check: every desired subscription recorded alike (ok), some to create, replace or
/// remove (warn), or a subscribe with an unknown outcome (fail: a person must look).
/// `pvx` is never called (a dry run); `wsdl` is the tenant's, which decides the desired set.
pub async fn check(
    pvx: &dyn EventSubscriber,
    state: &dyn StateStore,
    config: &Config,
    token: &SecretString,
    wsdl: &ServiceDescription,
) -> Check {
    let recorded = match load_all(state).await {
        Ok(recorded) => recorded.len(),
        Err(e) => return Check::fail(NAME, format!("records could not be read: {e}"), ""),
    };
    if config.subscriptions.public_url.is_none() {
        return Check::warn(
            NAME,
            format!(
                "{recorded} recorded; not compared with the configuration: subscriptions.public_url is not set"
            ),
            "set subscriptions.public_url (else `ctpvx subscribe` needs --public-url)",
        );
    }
    let want = match desired(config, None, wsdl) {
        Ok(want) => want,
        Err(problem) => return Check::fail(NAME, problem, ""),
    };
    let dry = ApplyOptions {
        dry_run: true,
        forget_unknown: false,
    };
    let report = match apply(pvx, state, &want, token, dry).await {
        Ok(report) => report,
        Err(e) => return Check::fail(NAME, format!("records could not be read: {e}"), ""),
    };
    let count = |action| report.with(action).count();
    let unknown = count(Action::Unknown);
    if unknown > 0 {
        return Check::fail(
            NAME,
            format!("{unknown} subscribe(s) with an unknown outcome"),
            "see `ctpvx subscribe --dry-run`: check those in Peoplevox, then run it with --forget-unknown",
        );
    }
    let (create, replace, remove) = (
        count(Action::Created),
        count(Action::Replaced),
        count(Action::Removed),
    );
    if create + replace + remove > 0 {
        return Check::warn(
            NAME,
            format!(
                "{recorded} recorded; {create} to create, {replace} to replace, {remove} to remove"
            ),
            FIX,
        );
    }
    Check::ok(NAME, format!("{recorded} recorded, as configured"))
}
