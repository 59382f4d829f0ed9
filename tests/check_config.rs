//! `ctpvx check-config` (the library behind it) against both simulators over loopback HTTP:
//! every check passes on the test bed within a dozen Peoplevox requests; a missing channel, a
//! wrong Peoplevox password, a renamed template field without its mapping and a missing custom
//! type each give exactly one FAIL line naming the problem while the other checks still run;
//! recorded subscriptions are compared with the configuration.

use std::sync::Arc;
use std::time::Duration;

use ctpvx_infra::sim::peoplevox::{PvxSim, PvxSimConfig, SALES_ORDERS};
use ctpvx_infra::testbed::{STOCK_SITES, Testbed};
use ctpvx_shared::app::pvx_settings;
use ctpvx_shared::config::{Config, Secrets};
use ctpvx_shared::config_check::{Check, CheckInputs, CheckReport, Status, check_config};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::PvxClient;
use ctpvx_shared::store::StateStore;
use ctpvx_shared::subscriptions::{self, ApplyOptions};
use ctpvx_tests::testbed;
use secrecy::SecretString;

/// The test bed with stock at every site, so that every site check passes.
async fn bed() -> Testbed {
    let bed = testbed(&["SKU-1".to_string()]).await;
    for (site, _) in STOCK_SITES {
        bed.pvx.set_stock(site, "SKU-1", 5, 5);
    }
    bed
}

async fn check(
    config: &Config,
    secrets: &Secrets,
    state: Option<Arc<dyn StateStore>>,
) -> CheckReport {
    let report = check_config(CheckInputs {
        config,
        secrets: Ok(secrets.clone()),
        state,
    })
    .await;
    let printed = report.to_string();
    println!("{printed}");
    for secret in [&secrets.api.pvx_password, &secrets.api.ct_client_secret] {
        use secrecy::ExposeSecret;
        assert!(
            !printed.contains(secret.expose_secret()),
            "a secret was printed"
        );
    }
    report
}

fn failures(report: &CheckReport) -> Vec<&Check> {
    report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .collect()
}

fn status_of<'a>(report: &'a CheckReport, name: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check `{name}` in\n{report}"))
}

/// The checks that must still pass whatever one failure is being tested.
fn assert_ok(report: &CheckReport, names: &[&str]) {
    for name in names {
        assert_eq!(
            status_of(report, name).status,
            Status::Ok,
            "{name}\n{report}"
        );
    }
}

const CT_CHECKS: &[&str] = &[
    "commercetools token",
    "commercetools scopes",
    "channel pvx-uk-dc",
    "custom type ctpvx-delivery",
];
const PVX_CHECKS: &[&str] = &[
    "Peoplevox Authenticate",
    "Peoplevox report \"Despatch summary\" (shipments.summary_report)",
    "Peoplevox report \"Despatch summary\" clauses",
    "Peoplevox template \"Despatch packages\" (shipments.packages)",
    "Peoplevox report \"Return summary\" (status.returns.report)",
    "Peoplevox report \"Return summary\" clauses",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_passes_on_the_test_bed_within_a_dozen_requests() {
    let bed = bed().await;
    let before = bed.pvx.request_count();
    // Callback figures confirmed by a re-read (0 would be a warning: a site-bound figure
    // resting on the sites filter alone).
    let mut config = bed.config.clone();
    config.stock.confirm_after_s = 60;
    let report = check(&config, &bed.secrets, None).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.count(Status::Fail), 0);
    assert_eq!(report.count(Status::Warn), 0, "{report}");
    assert_ok(&report, CT_CHECKS);
    assert_ok(&report, PVX_CHECKS);
    assert_ok(
        &report,
        &[
            "configuration",
            "secrets",
            "channel peoplevox-export",
            "channel pvx-eu-dc",
            "channel pvx-primary",
            "Peoplevox templates \"Sales orders\" and \"Sales order items\"",
            "status.cancel.status_field",
            "Peoplevox report \"Item inventory summary\" (stock sync)",
            "stock site UK-DC",
            "stock site EU-DC",
            "stock site PrimarySite",
            "Peoplevox WSDL",
            "Peoplevox subscriptions plan",
        ],
    );
    let plan = status_of(&report, "Peoplevox subscriptions plan");
    assert!(
        plan.detail
            .contains("at each of 3 site(s) with SubscribeEventWithSitesFilters"),
        "{report}"
    );
    // Authenticate, 2 templates, 3 reports twice (columns, clauses; the inventory's columns
    // with the first site), the packages template, 3 sites, the WSDL.
    assert_eq!(report.peoplevox_requests, 13);
    assert_eq!(bed.pvx.request_count() - before, 13);
    // The strict tenant ignores Columns and applies the search: information, not a warning.
    let clauses = status_of(
        &report,
        "Peoplevox report \"Item inventory summary\" clauses",
    );
    assert!(clauses.detail.contains("applies SearchClause"), "{report}");
    assert!(clauses.detail.contains("ignores Columns"), "{report}");
    assert_eq!(bed.pvx.budget_violations(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_channel_is_one_failure() {
    let bed = bed().await;
    let mut config = bed.config.clone();
    config.commercetools.order_export_channel = "no-such-channel".into();
    let report = check(&config, &bed.secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].name, "channel no-such-channel");
    assert!(failed[0].detail.contains("does not exist"), "{report}");
    assert!(failed[0].fix.as_deref().unwrap().contains("ctpvx setup"));
    assert_ok(&report, CT_CHECKS);
    assert_ok(&report, PVX_CHECKS);
    assert!(!report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_peoplevox_password_is_one_failure() {
    let bed = bed().await;
    let mut secrets = bed.secrets.clone();
    secrets.api.pvx_password = SecretString::from("not-the-password".to_string());
    let report = check(&bed.config, &secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].name, "Peoplevox Authenticate");
    assert!(
        failed[0]
            .fix
            .as_deref()
            .unwrap()
            .contains("CTPVX_PVX_PASSWORD")
    );
    assert_eq!(report.count(Status::Skip), 2, "{report}");
    assert_ok(&report, CT_CHECKS);
    // Authenticate, and the WSDL (which needs no session).
    assert_eq!(report.peoplevox_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_template_field_without_its_mapping_is_one_failure() {
    let bed = bed().await;
    // A tenant like the test bed's (compressed budget window), with one field renamed.
    let tenant = PvxSimConfig {
        budget_window: Duration::from_millis(300),
        ..PvxSimConfig::default()
    };
    let renamed =
        PvxSim::start(tenant.rename_field(SALES_ORDERS, "ShippingAddressCity", "ShipCity"))
            .await
            .unwrap();
    for (site, _) in STOCK_SITES {
        renamed.set_stock(site, "SKU-1", 5, 5);
    }
    let mut config = bed.config.clone();
    config.peoplevox.endpoint = renamed.endpoint();
    let report = check(&config, &bed.secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert!(failed[0].name.contains("Sales orders"), "{report}");
    assert!(failed[0].detail.contains("ShippingAddressCity"), "{report}");
    assert!(
        failed[0].detail.contains("peoplevox.field_names"),
        "{report}"
    );
    assert_ok(&report, CT_CHECKS);
    assert_ok(&report, PVX_CHECKS);
    assert_ok(&report, &["stock site UK-DC"]);

    // With the mapping, it passes.
    config
        .peoplevox
        .field_names
        .entry(SALES_ORDERS.to_string())
        .or_default()
        .insert("ShippingAddressCity".into(), "ShipCity".into());
    let report = check(&config, &bed.secrets, None).await;
    assert!(report.passed(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_custom_type_is_one_failure() {
    let bed = bed().await;
    let mut config = bed.config.clone();
    config.status.order_type = "no-such-type".into();
    let report = check(&config, &bed.secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].name, "custom type no-such-type");
    assert!(failed[0].detail.contains("does not exist"), "{report}");
    assert_ok(&report, CT_CHECKS);
    assert_ok(&report, PVX_CHECKS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_subscriptions_are_compared_with_the_configuration() {
    let bed = bed().await;
    let store = EmbeddedStore::in_memory().unwrap();
    let state: Arc<dyn StateStore> = store.clone();
    let mut config = bed.config.clone();
    config.subscriptions.public_url = Some("https://hooks.example.com".into());

    let report = check(&config, &bed.secrets, Some(state.clone())).await;
    let subs = status_of(&report, "Peoplevox subscriptions");
    assert_eq!(subs.status, Status::Warn, "{report}");
    assert!(subs.detail.contains("0 recorded; 6 to create"), "{report}");
    assert!(report.passed(), "a warning is not a failure");

    let pvx = PvxClient::new(pvx_settings(&config, &bed.secrets), state.clone()).unwrap();
    let wsdl = pvx.service_description().await;
    let want = subscriptions::desired(&config, None, &wsdl).unwrap();
    let token = bed.secrets.hooks.pvx_callback_token.clone();
    let made = subscriptions::apply(&pvx, store.as_ref(), &want, &token, ApplyOptions::default())
        .await
        .unwrap();
    assert!(made.succeeded());
    // Let the compressed budget window pass before the next run.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let report = check(&config, &bed.secrets, Some(state.clone())).await;
    assert_eq!(
        status_of(&report, "Peoplevox subscriptions").status,
        Status::Ok,
        "{report}"
    );

    config.subscriptions.public_url = Some("https://moved.example.com".into());
    let report = check(&config, &bed.secrets, Some(state)).await;
    let subs = status_of(&report, "Peoplevox subscriptions");
    assert_eq!(subs.status, Status::Warn, "{report}");
    assert!(subs.detail.contains("6 to replace"), "{report}");
    assert!(report.passed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_without_a_column_the_flows_need_is_one_failure_naming_it() {
    let bed = bed().await;
    let mut config = bed.config.clone();
    // A report that exists but is not a return report.
    config.status.returns.report = "Item inventory summary".into();
    let report = check(&config, &bed.secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        failed[0].name,
        "Peoplevox report \"Item inventory summary\" (status.returns.report)"
    );
    assert!(failed[0].detail.contains("Return code"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packages_field_the_tenant_lacks_is_one_failure_naming_the_key() {
    let bed = bed().await;
    let mut config = bed.config.clone();
    // The connector's default, which the simulated tenant does not use.
    config.shipments.packages.despatch_number_field = "DespatchNumber".into();
    let report = check(&config, &bed.secrets, None).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        failed[0].name,
        "Peoplevox template \"Despatch packages\" (shipments.packages)"
    );
    assert!(
        failed[0]
            .detail
            .contains("despatch_number_field `DespatchNumber`"),
        "{report}"
    );
    assert!(
        failed[0].detail.contains("Despatch.DespatchNumber"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_that_ignores_search_clauses_and_lacks_the_packages_template_is_told() {
    use ctpvx_infra::sim::peoplevox::dialect::BARE;
    use ctpvx_infra::testbed::TestbedOptions;
    let bed = Testbed::start(TestbedOptions {
        budget_requests: 15,
        budget_window: Duration::from_millis(300),
        items: vec!["SKU-1".to_string()],
        dialect: BARE,
        ..TestbedOptions::default()
    })
    .await
    .unwrap();
    for (site, _) in STOCK_SITES {
        bed.pvx.set_stock(site, "SKU-1", 5, 5);
    }
    let report = check(&bed.config, &bed.secrets, None).await;
    assert!(report.passed(), "{report}");
    for name in ["Despatch summary", "Return summary"] {
        let clauses = status_of(&report, &format!("Peoplevox report \"{name}\" clauses"));
        assert_eq!(clauses.status, Status::Ok, "{report}");
    }
    let inventory = status_of(
        &report,
        "Peoplevox report \"Item inventory summary\" clauses",
    );
    assert!(
        inventory.detail.contains("ignores SearchClause"),
        "{report}"
    );
    let packages = status_of(
        &report,
        "Peoplevox template \"Despatch packages\" (shipments.packages)",
    );
    assert_eq!(packages.status, Status::Warn, "{report}");
    assert!(packages.detail.contains("not on this tenant"), "{report}");
}
