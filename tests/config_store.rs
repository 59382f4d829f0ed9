//! The configuration store on moto's S3, as the functions and `ctpvx config push` use it: a
//! push validates before anything is written; a function takes a new valid version at its
//! next look; a version that does not validate never replaces the one in force, and a cold
//! start falls back to the newest valid version; a 200 KB configuration works.
//!
//! Needs `CTPVX_TEST_AWS_ENDPOINT` (a moto server; see tests/contract_stores.rs).

use std::sync::Arc;
use std::time::Duration;

use ctpvx_shared::aws::aws_sdk_s3::primitives::ByteStream;
use ctpvx_shared::aws::config_store::{self, ConfigObject, ConfigStoreError, S3ConfigFeed};
use ctpvx_shared::aws::provision::{create_config_bucket, emulator_sdk_config};
use ctpvx_shared::config::{ConfigFeed, Versioned};
use ctpvx_tests::moto_endpoint;

const EXAMPLE: &str = include_str!("../infra/config/ctpvx.example.toml");

async fn fresh_object() -> (ctpvx_shared::aws::aws_sdk_s3::Client, ConfigObject) {
    let endpoint = moto_endpoint()
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see tests/contract_stores.rs");
    let sdk = emulator_sdk_config(&endpoint).await;
    let client = config_store::client(&sdk);
    let bucket = format!("ctpvx-config-{}", uuid::Uuid::new_v4().simple());
    create_config_bucket(&client, &bucket)
        .await
        .expect("bucket on moto");
    let object = ConfigObject {
        bucket,
        key: "ctpvx.toml".into(),
    };
    (client, object)
}

/// The example with another safety buffer: a change a function must notice.
fn with_buffer(buffer: u32) -> String {
    let text = EXAMPLE.replacen(
        "safety_buffer = ",
        &format!("safety_buffer = {buffer} #"),
        1,
    );
    assert_ne!(text, EXAMPLE, "the example sets a safety_buffer");
    text
}

fn buffer_of(v: &Versioned) -> String {
    format!("{:?}", v.config.stock)
}

#[tokio::test]
async fn a_push_that_does_not_validate_writes_nothing() {
    let (client, object) = fresh_object().await;
    let bad = EXAMPLE.replace("[commercetools]", "[commercetools]\nnot_a_key = 1");
    let e = config_store::push(&client, &object, &bad)
        .await
        .expect_err("an unknown key is refused");
    assert!(matches!(e, ConfigStoreError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("not_a_key"), "{e}");
    let read = config_store::read(&client, &object, None).await;
    assert!(
        matches!(read, Err(ConfigStoreError::Missing(_))),
        "{read:?}"
    );
    let missing = S3ConfigFeed::load(client, object, Duration::ZERO)
        .await
        .err()
        .expect("a function cannot start without a configuration");
    assert!(
        missing.to_string().contains("ctpvx config push"),
        "{missing}"
    );
}

#[tokio::test]
async fn a_new_version_is_taken_and_a_bad_one_never_replaces_it() {
    let (client, object) = fresh_object().await;
    let first = config_store::push(&client, &object, &with_buffer(1))
        .await
        .expect("push v1");
    assert_eq!(first.previous, None);
    let feed = S3ConfigFeed::load(client.clone(), object.clone(), Duration::ZERO)
        .await
        .expect("v1 loads");
    let v1 = feed.current().await;
    assert_eq!(v1.version, first.version);

    let second = config_store::push(&client, &object, &with_buffer(7))
        .await
        .expect("push v2");
    assert_ne!(second.version, first.version);
    assert_eq!(second.previous.as_deref(), Some(with_buffer(1).as_str()));
    let v2 = feed.current().await;
    assert_eq!(v2.version, second.version, "the new version is taken");
    assert_ne!(buffer_of(&v1), buffer_of(&v2));

    // Written around `ctpvx config push`: S3 takes anything.
    client
        .put_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .body(ByteStream::from_static(b"[commercetools\nbroken"))
        .send()
        .await
        .expect("raw put");
    let still = feed.current().await;
    assert_eq!(still.version, second.version, "a running function keeps v2");

    // A cold start after the bad write starts on the newest valid version.
    let cold = S3ConfigFeed::load(client.clone(), object.clone(), Duration::ZERO)
        .await
        .expect("falls back to v2");
    assert_eq!(cold.current().await.version, second.version);

    // A valid version after the bad one is taken again.
    let third = config_store::push(&client, &object, &with_buffer(9))
        .await
        .expect("push v3");
    assert_eq!(feed.current().await.version, third.version);
}

#[tokio::test]
async fn a_function_looks_again_only_after_its_refresh_interval() {
    let (client, object) = fresh_object().await;
    let first = config_store::push(&client, &object, EXAMPLE)
        .await
        .expect("push v1");
    let feed = S3ConfigFeed::load(client.clone(), object.clone(), Duration::from_secs(2))
        .await
        .expect("v1 loads");
    let second = config_store::push(&client, &object, &with_buffer(3))
        .await
        .expect("push v2");
    assert_eq!(
        feed.current().await.version,
        first.version,
        "within the interval the function does not read S3"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        feed.current().await.version,
        second.version,
        "after the interval it takes the new version"
    );
}

#[tokio::test]
async fn a_bucket_without_versions_is_told() {
    let (client, mut object) = fresh_object().await;
    object.bucket = format!("ctpvx-unversioned-{}", uuid::Uuid::new_v4().simple());
    client
        .create_bucket()
        .bucket(&object.bucket)
        .create_bucket_configuration(
            ctpvx_shared::aws::aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint("eu-west-1".into())
                .build(),
        )
        .send()
        .await
        .expect("plain bucket");
    let plain = config_store::push(&client, &object, EXAMPLE)
        .await
        .expect("pushed");
    assert!(!plain.versioned, "{plain:?}");
    let (_, versioned) = fresh_object().await;
    let kept = config_store::push(&client, &versioned, EXAMPLE)
        .await
        .expect("pushed");
    assert!(kept.versioned, "{kept:?}");
}

#[tokio::test]
async fn a_cold_start_skips_versions_that_are_not_text_or_not_valid() {
    let (client, object) = fresh_object().await;
    let good = config_store::push(&client, &object, EXAMPLE)
        .await
        .expect("push v1");
    for body in [&b"[orders\n"[..], &b"\xff\xfe not text"[..]] {
        client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .expect("raw put");
    }
    let feed = S3ConfigFeed::load(client.clone(), object.clone(), Duration::ZERO)
        .await
        .expect("falls back past both");
    assert_eq!(feed.current().await.version, good.version);
    // And a push over a version that is not text still works.
    let next = config_store::push(&client, &object, &with_buffer(4))
        .await
        .expect("push over a bad version");
    assert_eq!(
        next.previous, None,
        "the bad text is not shown as the previous one"
    );
    assert_eq!(feed.current().await.version, next.version);
}

#[tokio::test]
async fn a_200_kb_configuration_is_pushed_and_loaded() {
    let (client, object) = fresh_object().await;
    let mut text = EXAMPLE.to_string();
    let mut packs = 0;
    while text.len() < 200 * 1024 {
        packs += 1;
        text.push_str(&format!(
            "\n[orders.units_of_measure.\"PACK-{packs:05}\"]\nitem_code = \"ITEM-{packs:05}\"\nfactor = {}\n",
            2 + packs % 10
        ));
    }
    let pushed = config_store::push(&client, &object, &text)
        .await
        .expect("a 200 KB push");
    let feed: Arc<dyn ConfigFeed> = Arc::new(
        S3ConfigFeed::load(client, object, Duration::ZERO)
            .await
            .expect("a 200 KB load"),
    );
    let loaded = feed.current().await;
    assert_eq!(loaded.version, pushed.version);
    assert!(
        loaded.config.orders.units_of_measure.len() > packs,
        "{} pack SKUs",
        loaded.config.orders.units_of_measure.len()
    );
}
