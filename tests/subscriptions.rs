//! `ctpvx subscribe` / `ctpvx unsubscribe` (the library behind them) against the Peoplevox
//! simulator over loopback HTTP: the configured subscriptions are created with the right
//! URLs and filters, a second run sends nothing, a new public URL replaces them (the old ones
//! are gone from Peoplevox), unsubscribe removes them all, a lost answer is reported and never
//! repeated, and the store never holds the callback token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ctpvx_infra::testbed::{DEMO_CALLBACK_TOKEN, Testbed};
use ctpvx_shared::app::pvx_settings;
use ctpvx_shared::config::{Config, SubscriptionRules};
use ctpvx_shared::embedded::EmbeddedStore;
use ctpvx_shared::peoplevox::PvxClient;
use ctpvx_shared::subscriptions::{
    self, Action, ApplyOptions, DesiredSubscription, SubscriptionReport,
};
use ctpvx_tests::testbed;
use secrecy::SecretString;

/// A store file, so that the test can read every byte the store wrote.
struct StoreFile {
    dir: PathBuf,
    store: Arc<EmbeddedStore>,
}

impl StoreFile {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("ctpvx-subscriptions-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = EmbeddedStore::open(dir.join("store.sqlite3")).unwrap();
        Self { dir, store }
    }

    /// The store's files (database, journal) never contain the token.
    fn assert_no_token(&self) {
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes
                    .windows(DEMO_CALLBACK_TOKEN.len())
                    .any(|w| w == DEMO_CALLBACK_TOKEN.as_bytes()),
                "the store holds the callback token"
            );
        }
    }
}

impl Drop for StoreFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn client(config: &Config, bed: &Testbed, store: &Arc<EmbeddedStore>) -> PvxClient {
    PvxClient::new(pvx_settings(config, &bed.secrets), store.clone()).unwrap()
}

fn calls(bed: &Testbed, operation: &str) -> u64 {
    bed.pvx
        .requests_by_operation()
        .get(operation)
        .copied()
        .unwrap_or(0)
}

fn actions(report: &SubscriptionReport) -> Vec<Action> {
    report.lines.iter().map(|l| l.action).collect()
}

fn assert_no_token_in(report: &SubscriptionReport) {
    let printed = format!("{report}{}", serde_json::to_string(report).unwrap());
    assert!(!printed.contains(DEMO_CALLBACK_TOKEN), "{printed}");
}

async fn apply(
    pvx: &PvxClient,
    store: &Arc<EmbeddedStore>,
    want: &[DesiredSubscription],
    token: &SecretString,
) -> SubscriptionReport {
    let report = subscriptions::apply(pvx, store.as_ref(), want, token, ApplyOptions::default())
        .await
        .unwrap();
    assert_no_token_in(&report);
    report
}

/// `(event type, site of its sites filter, url)` of what the simulator holds, sorted.
fn held(bed: &Testbed) -> Vec<(String, Option<String>, String)> {
    let mut all: Vec<_> = bed
        .pvx
        .subscriptions()
        .into_iter()
        .map(|s| {
            assert_eq!(s.post_params, None, "GET subscriptions by default");
            assert_eq!(s.filter, "", "no plain filter is relied on");
            (s.event_type, s.sites, s.url)
        })
        .collect();
    all.sort();
    all
}

/// Subscribe requests of either operation the simulator answered.
fn subscribe_calls(bed: &Testbed) -> u64 {
    calls(bed, "SubscribeEvent") + calls(bed, "SubscribeEventWithSitesFilters")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_keeps_replaces_and_unsubscribes_without_storing_the_token() {
    let bed = testbed(&[]).await;
    let file = StoreFile::new();
    let store = &file.store;
    let pvx = client(&bed.config, &bed, store);
    let token = bed.secrets.hooks.pvx_callback_token.clone();

    // What the demo runs: the test bed's configuration (IncrementalChanges at PrimarySite), on
    // the strict tenant (sites filters, encodeParameterData).
    let first = bed
        .subscribe(&pvx, store.as_ref(), "https://hooks.example.com/prod")
        .await
        .unwrap();
    assert_eq!(first.with(Action::Created).count(), 6, "{first}");
    assert_no_token_in(&first);
    let base = format!("https://hooks.example.com/prod/webhooks/peoplevox/{DEMO_CALLBACK_TOKEN}");
    let held_now = held(&bed);
    assert_eq!(held_now.len(), 6);
    for expected in [
        (
            "AvailabilityChanges".to_string(),
            Some("UK-DC".to_string()),
            format!(
                "{base}/availability?site=UK-DC&item={{ItemCode}}&available={{Available}}&enc=1"
            ),
        ),
        (
            "IncrementalChanges".to_string(),
            Some("PrimarySite".to_string()),
            format!(
                "{base}/incremental?site=PrimarySite&item={{ItemType.ItemCode}}&changed={{QuantityChanged}}&ts={{UpdateTimestamp}}&reason={{Reason}}&enc=1"
            ),
        ),
        (
            "SalesOrderStatusChanges".to_string(),
            None,
            format!(
                "{base}/status?order={{SalesOrderNumber}}&status={{SalesOrderStatu.Name}}&modified={{LastModificationTime}}&enc=1"
            ),
        ),
        (
            "TrackingNumberReceived".to_string(),
            None,
            format!(
                "{base}/tracking?despatch={{DespatchNumber}}&order={{Picks.SalesOrder.SalesOrderNumber}}&tracking={{TrackingNumber}}&carrier={{Carrier.Number}}&service_code={{ServiceType.Code}}&service={{ServiceType.Name}}&enc=1"
            ),
        ),
    ] {
        assert!(
            held_now.contains(&expected),
            "{expected:?} not in {held_now:#?}"
        );
    }
    assert_eq!(
        held_now
            .iter()
            .filter(|(event, _, _)| event == "IncrementalChanges")
            .count(),
        1
    );
    file.assert_no_token();

    // A second run keeps everything and sends nothing.
    let wsdl = pvx.service_description().await;
    let want =
        subscriptions::desired(&bed.config, Some("https://hooks.example.com/prod"), &wsdl).unwrap();
    let (subscribes, unsubscribes) = (subscribe_calls(&bed), calls(&bed, "UnsubscribeEvent"));
    let again = apply(&pvx, store, &want, &token).await;
    assert_eq!(actions(&again), vec![Action::Kept; 6]);
    assert_eq!(subscribe_calls(&bed), subscribes);
    assert_eq!(calls(&bed, "UnsubscribeEvent"), unsubscribes);
    assert_eq!(held(&bed), held_now);

    // A new public URL replaces every one; the old ids are gone from Peoplevox.
    let old_ids: Vec<i64> = bed.pvx.subscriptions().iter().map(|s| s.id).collect();
    let moved =
        subscriptions::desired(&bed.config, Some("https://new.example.com"), &wsdl).unwrap();
    let replaced = apply(&pvx, store, &moved, &token).await;
    assert_eq!(actions(&replaced), vec![Action::Replaced; 6], "{replaced}");
    let now = bed.pvx.subscriptions();
    assert_eq!(now.len(), 6);
    assert!(now.iter().all(|s| !old_ids.contains(&s.id)));
    assert!(now.iter().all(|s| {
        s.url
            .starts_with("https://new.example.com/webhooks/peoplevox/")
    }));
    let unsubscribed: Vec<i64> = replaced
        .lines
        .iter()
        .flat_map(|l| l.unsubscribed.clone())
        .collect();
    let mut sorted = unsubscribed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, old_ids);
    file.assert_no_token();

    // A rotated token is a change too.
    let rotated = SecretString::from(format!("{DEMO_CALLBACK_TOKEN}-rotated"));
    let rotation = apply(&pvx, store, &moved, &rotated).await;
    assert_eq!(actions(&rotation), vec![Action::Replaced; 6]);
    assert!(
        bed.pvx
            .subscriptions()
            .iter()
            .all(|s| s.url.contains("-rotated/"))
    );

    // A site no longer wanted for IncrementalChanges is removed, the rest kept.
    let mut config = bed.config.clone();
    config.subscriptions = SubscriptionRules {
        incremental_sites: Vec::new(),
        ..config.subscriptions.clone()
    };
    let fewer = subscriptions::desired(&config, Some("https://new.example.com"), &wsdl).unwrap();
    let shrunk = apply(&pvx, store, &fewer, &rotated).await;
    assert_eq!(shrunk.with(Action::Kept).count(), 5);
    assert_eq!(shrunk.with(Action::Removed).count(), 1);
    assert_eq!(bed.pvx.subscriptions().len(), 5);

    // Unsubscribe removes every recorded one.
    let dry = subscriptions::unsubscribe_all(
        &pvx,
        store.as_ref(),
        ApplyOptions {
            dry_run: true,
            ..ApplyOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.with(Action::Removed).count(), 5);
    assert_eq!(
        bed.pvx.subscriptions().len(),
        5,
        "a dry run removes nothing"
    );
    let gone = subscriptions::unsubscribe_all(&pvx, store.as_ref(), ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(actions(&gone), vec![Action::Removed; 5], "{gone}");
    assert!(gone.succeeded());
    assert!(bed.pvx.subscriptions().is_empty());
    let records = ctpvx_shared::subscriptions::record::load_all(store.as_ref())
        .await
        .unwrap();
    assert!(records.is_empty());
    file.assert_no_token();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_unknown_and_never_sent_twice() {
    let bed = testbed(&[]).await;
    let file = StoreFile::new();
    let store = &file.store;
    let mut config = bed.config.clone();
    config.peoplevox.timeout_ms = 300;
    config.peoplevox.max_retries = 0;
    let pvx = client(&config, &bed, store);
    let token = bed.secrets.hooks.pvx_callback_token.clone();
    let rules = SubscriptionRules {
        shipments: false,
        status: false,
        returns: false,
        ..SubscriptionRules::default()
    };
    // A session and the WSDL first, so that only the subscribe meets the fault.
    pvx.get_save_template("Sales orders").await.unwrap();
    let wsdl = pvx.service_description().await;
    let want = subscriptions::desired_from(
        &rules,
        &["UK-DC".to_string()],
        "https://hooks.example.com",
        &wsdl,
    );

    // Peoplevox subscribes, but its answer comes too late.
    bed.pvx.faults().set_hang(Duration::from_secs(1));
    bed.pvx.faults().set_timeout_rate(1.0);
    let lost = apply(&pvx, store, &want, &token).await;
    bed.pvx.faults().clear();
    assert_eq!(actions(&lost), [Action::Unknown], "{lost}");
    assert!(!lost.succeeded());
    assert!(lost.lines()[0].contains("--forget-unknown"), "{lost}");
    // Give the simulator time to finish the hung request.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let orphan = bed.pvx.subscriptions();
    assert_eq!(orphan.len(), 1, "Peoplevox did subscribe");

    // Every later run reports it and sends nothing for it.
    let subscribes = subscribe_calls(&bed);
    for _ in 0..2 {
        let again = apply(&pvx, store, &want, &token).await;
        assert_eq!(actions(&again), [Action::Unknown]);
    }
    assert_eq!(subscribe_calls(&bed), subscribes);
    assert_eq!(bed.pvx.subscriptions().len(), 1, "no duplicate");

    // A person removes it in Peoplevox and says so.
    assert!(pvx.unsubscribe_event(orphan[0].id).await.unwrap());
    let forget = ApplyOptions {
        forget_unknown: true,
        ..ApplyOptions::default()
    };
    let fresh = subscriptions::apply(&pvx, store.as_ref(), &want, &token, forget)
        .await
        .unwrap();
    assert_eq!(actions(&fresh), [Action::Created], "{fresh}");
    assert!(fresh.succeeded());
    assert_eq!(bed.pvx.subscriptions().len(), 1);
    file.assert_no_token();
}

/// The operation follows the tenant's live WSDL: SubscribeEventWithSitesFilters, with a
/// strictly quoted sitesFilter and encodeParameterData, where it is offered; where it is not,
/// one site-less AvailabilityChanges and raw values, no filter relied on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_uses_sites_filters_where_the_live_wsdl_has_them_and_not_otherwise() {
    use ctpvx_infra::sim::peoplevox::dialect::{BARE, STRICT, WSDL_2017};
    use ctpvx_infra::testbed::TestbedOptions;
    for dialect in [STRICT, WSDL_2017, BARE] {
        let bed = Testbed::start(TestbedOptions {
            budget_requests: 15,
            budget_window: Duration::from_millis(300),
            dialect: dialect.clone(),
            ..TestbedOptions::default()
        })
        .await
        .unwrap();
        let file = StoreFile::new();
        let pvx = client(&bed.config, &bed, &file.store);
        let made = bed
            .subscribe(&pvx, file.store.as_ref(), "https://hooks.example.com")
            .await
            .unwrap();
        assert!(made.succeeded(), "{made}");
        let held = bed.pvx.subscriptions();
        let availability: Vec<_> = held
            .iter()
            .filter(|s| s.event_type == "AvailabilityChanges")
            .collect();
        assert_eq!(
            calls(&bed, "(wsdl)"),
            1,
            "{}: the WSDL is read once",
            dialect.name
        );
        if dialect.sites_filter_operation {
            assert_eq!(availability.len(), 3, "{}", dialect.name);
            let mut sites: Vec<_> = availability
                .iter()
                .filter_map(|s| s.sites.clone())
                .collect();
            sites.sort();
            assert_eq!(sites, ["EU-DC", "PrimarySite", "UK-DC"]);
            assert!(
                availability
                    .iter()
                    .all(|s| s.encode && s.url.ends_with("&enc=1"))
            );
            assert_eq!(calls(&bed, "SubscribeEventWithSitesFilters"), 4);
        } else {
            assert_eq!(availability.len(), 1, "{}", dialect.name);
            assert_eq!(availability[0].sites, None);
            assert!(!availability[0].url.contains("site="));
            assert!(held.iter().all(|s| !s.encode && s.url.ends_with("&enc=0")));
            assert_eq!(calls(&bed, "SubscribeEventWithSitesFilters"), 0);
        }
        assert!(held.iter().all(|s| s.filter.is_empty()), "{}", dialect.name);
    }
}
