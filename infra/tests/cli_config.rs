//! `ctpvx config push|show` as an operator runs them: the real binary against moto's S3 (the
//! moto server at `CTPVX_TEST_AWS_ENDPOINT`). A file that does not validate is refused with
//! the field named and nothing written; a valid one becomes the version in force; without a
//! bucket the command says where to find it.

use std::process::Command;

use ctpvx_shared::aws::config_store::{self, ConfigObject, ConfigStoreError};
use ctpvx_shared::aws::provision::{create_config_bucket, emulator_sdk_config};

const EXAMPLE: &str = include_str!("../config/ctpvx.example.toml");

fn ctpvx(endpoint: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ctpvx"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("CTPVX_CONFIG_BUCKET")
        .env_remove("CTPVX_CONFIG_KEY")
        .output()
        .expect("running ctpvx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn config_push_validates_before_anything_goes_live() {
    let endpoint = std::env::var("CTPVX_TEST_AWS_ENDPOINT")
        .expect("CTPVX_TEST_AWS_ENDPOINT (a moto server) is needed: see infra/dev/test-all.sh");
    let client = config_store::client(&emulator_sdk_config(&endpoint).await);
    let bucket = format!("ctpvx-cli-config-{}", uuid::Uuid::new_v4().simple());
    create_config_bucket(&client, &bucket).await.unwrap();
    let object = ConfigObject {
        bucket: bucket.clone(),
        key: "ctpvx.toml".into(),
    };
    let dir = std::env::temp_dir().join(format!(
        "ctpvx-cli-config-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad) = (dir.join("good.toml"), dir.join("bad.toml"));
    std::fs::write(&good, EXAMPLE).unwrap();
    std::fs::write(&bad, EXAMPLE.replace("factor = 3", "factor = 0")).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();

    let (code, _, err) = ctpvx(
        &endpoint,
        &[
            "config",
            "push",
            "--config",
            &path(&bad),
            "--bucket",
            &bucket,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("factor"), "the field is named: {err}");
    assert!(err.contains("Nothing was pushed"), "{err}");
    assert!(
        matches!(
            config_store::read(&client, &object, None).await,
            Err(ConfigStoreError::Missing(_))
        ),
        "nothing written"
    );

    let (code, out, err) = ctpvx(
        &endpoint,
        &[
            "config",
            "push",
            "--config",
            &path(&good),
            "--bucket",
            &bucket,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (text, version) = config_store::read(&client, &object, None).await.unwrap();
    assert_eq!(text, EXAMPLE);
    assert!(out.contains(&version), "the new version is printed: {out}");

    let (code, out, err) = ctpvx(&endpoint, &["config", "show", "--bucket", &bucket]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&version), "{out}");

    let (code, _, err) = ctpvx(&endpoint, &["config", "push", "--config", &path(&good)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("ConfigBucketName"),
        "says where the bucket is named: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
