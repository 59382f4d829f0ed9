//! The configuration store: one TOML object in a versioned S3 bucket, read by every function
//! and written by `ctpvx config push`.
//!
//! Why S3: a configuration with a few dozen shipping methods, routing rules and pack SKUs
//! outgrows an environment variable (4 KB for all of a function's variables), a CloudFormation
//! parameter (4 KB) and an SSM parameter (8 KB in the advanced tier); an S3 object holds any
//! size. A versioned bucket gives every push a version id, which the functions log and an
//! operator can roll back to, and keeps the previous versions for a cold start to fall back on.
//! AWS AppConfig would validate on its side and roll back on an alarm, which this module does
//! on the client instead (validation before a push and before a function takes a version);
//! but its data API (`appconfigdata`) has no local emulator, so nothing here could be tested
//! as shipped.
//!
//! The bucket must keep versions (the stack's `ConfigBucket` does; [`push`] says when it
//! does not). The functions need `s3:GetObject`, `s3:GetObjectVersion` on the object and
//! `s3:ListBucket`, `s3:ListBucketVersions` on the bucket (without `ListBucket` a missing
//! object reads as access denied).
//!
//! How a function reads it ([`S3ConfigFeed`]):
//! - at a cold start, the newest version that validates: a version that does not (written
//!   around `ctpvx config push`) is skipped, with an error naming it, for the one before;
//! - then, at the start of the first invocation after each refresh interval
//!   (`CTPVX_CONFIG_REFRESH_S`, 60 s by default), a `HeadObject`: a new version is read and
//!   validated, and taken only if it validates. So a new version takes effect at a function's
//!   first invocation after the interval, and a bad one never replaces a good one. Every call
//!   has a short timeout: a slow S3 delays an invocation by at most a few seconds.
//!
//! Deleting the object (a delete marker) leaves running functions on their version; new
//! instances then cannot start until a version is pushed again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::timeout::TimeoutConfig;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use crate::config::{Config, ConfigFeed, Versioned};
use crate::store::StoreError;

use super::error::sdk_error;

/// Versions looked at, newest first, for one that validates at a cold start.
const FALLBACK_VERSIONS: i32 = 20;

/// Where the configuration lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigObject {
    /// The bucket (the stack's `ConfigBucket`).
    pub bucket: String,
    /// The object's key (the stack's `ConfigKey`, `ctpvx.toml` by default).
    pub key: String,
}

impl std::fmt::Display for ConfigObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An S3 client for the configuration store. Path-style addressing when the SDK is pointed
/// at an endpoint of its own (an emulator on loopback has no per-bucket host names). Calls
/// time out after a few seconds: a function looks at the store on its request path.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .build();
    Client::from_conf(conf)
}

/// A version as the store names it: the S3 version id (the ETag where there is none).
fn version_of(version_id: Option<&str>, e_tag: Option<&str>) -> String {
    version_id
        .filter(|v| !v.is_empty() && *v != "null")
        .or(e_tag)
        .unwrap_or_default()
        .to_string()
}

/// A configuration's text, validated: the reason it is not valid otherwise.
fn validate(bytes: &[u8]) -> Result<(String, Config), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "the object is not UTF-8 text".to_string())?;
    let config = Config::from_toml(text).map_err(|e| e.to_string())?;
    Ok((text.to_string(), config))
}

/// A validation error fit for a log line: without the lines of the file that TOML's messages
/// quote (a credential pasted in by mistake would end up in the log otherwise).
fn loggable(reason: &str) -> String {
    reason
        .lines()
        .filter(|line| {
            let t = line.trim_start();
            !(t.starts_with('|')
                || t.split_once('|')
                    .is_some_and(|(n, _)| n.trim().parse::<u64>().is_ok()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a push wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The new version (the S3 version id; the ETag in a bucket without versioning).
    pub version: String,
    /// The text of the version it replaced, if there was one (and it was text).
    pub previous: Option<String>,
    /// The bucket keeps versions: a function can fall back to the last valid one. Without,
    /// a version written around `push` that does not validate stops new instances.
    pub versioned: bool,
}

/// Validates `text` as a configuration and, only if it validates, writes it as the new
/// version of `object`.
pub async fn push(
    client: &Client,
    object: &ConfigObject,
    text: &str,
) -> Result<Pushed, ConfigStoreError> {
    Config::from_toml(text).map_err(|e| ConfigStoreError::Invalid {
        version: "the file to push".into(),
        reason: e.to_string(),
    })?;
    let previous = match read_bytes(client, object, None).await {
        Ok((bytes, _)) => String::from_utf8(bytes).ok(),
        Err(ConfigStoreError::Missing(_)) => None,
        Err(e) => return Err(e),
    };
    let out = client
        .put_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .content_type("application/toml")
        .body(ByteStream::from(text.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| ConfigStoreError::Store(sdk_error(&format!("writing {object}"), e)))?;
    let version = version_of(out.version_id(), out.e_tag());
    // A versioned bucket answers every write with a version id ("null" when versioning is
    // suspended). (moto answers GetBucketVersioning in a shape the SDK cannot read, so the
    // write's answer is what tells.)
    let versioned = out
        .version_id()
        .is_some_and(|v| !v.is_empty() && v != "null");
    Ok(Pushed {
        version,
        previous,
        versioned,
    })
}

/// The text of `object` (its newest version, or `version`) and the version it is.
pub async fn read(
    client: &Client,
    object: &ConfigObject,
    version: Option<&str>,
) -> Result<(String, String), ConfigStoreError> {
    let (bytes, version) = read_bytes(client, object, version).await?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigStoreError::Invalid {
        version: version.clone(),
        reason: "the object is not UTF-8 text".into(),
    })?;
    Ok((text, version))
}

/// The bytes of `object` (its newest version, or `version`) and the version they are.
async fn read_bytes(
    client: &Client,
    object: &ConfigObject,
    version: Option<&str>,
) -> Result<(Vec<u8>, String), ConfigStoreError> {
    let out = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| missing_or(object, sdk_error(&format!("reading {object}"), e)))?;
    let version = version_of(out.version_id(), out.e_tag());
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| {
            ConfigStoreError::Store(StoreError::Backend(format!("reading {object}: {e}")))
        })?
        .into_bytes();
    Ok((bytes.to_vec(), version))
}

/// The newest version's id, without reading it.
async fn head(client: &Client, object: &ConfigObject) -> Result<String, ConfigStoreError> {
    let out = client
        .head_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|e| missing_or(object, sdk_error(&format!("looking at {object}"), e)))?;
    Ok(version_of(out.version_id(), out.e_tag()))
}

/// The version ids of `object`, newest first (the newest alone when the bucket keeps none).
async fn versions(client: &Client, object: &ConfigObject) -> Result<Vec<String>, ConfigStoreError> {
    let out = client
        .list_object_versions()
        .bucket(&object.bucket)
        .prefix(&object.key)
        .max_keys(FALLBACK_VERSIONS)
        .send()
        .await
        .map_err(|e| ConfigStoreError::Store(sdk_error(&format!("listing {object}"), e)))?;
    // Listed newest first per key; other keys sharing the prefix are skipped.
    Ok(out
        .versions()
        .iter()
        .filter(|v| v.key() == Some(object.key.as_str()))
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect())
}

fn missing_or(object: &ConfigObject, e: StoreError) -> ConfigStoreError {
    match e {
        StoreError::NotFound(_) => ConfigStoreError::Missing(object.clone()),
        other => ConfigStoreError::Store(other),
    }
}

/// Why the configuration could not be read or taken.
#[derive(Debug, thiserror::Error)]
pub enum ConfigStoreError {
    /// Nothing has been pushed yet.
    #[error(
        "no configuration at {0}: push one with `ctpvx config push --config ctpvx.toml --bucket BUCKET` (the stack's output ConfigBucketName)"
    )]
    Missing(ConfigObject),
    /// A version that does not validate.
    #[error("configuration version {version} is not valid: {reason}")]
    Invalid {
        /// The version (or what was pushed).
        version: String,
        /// The validation error.
        reason: String,
    },
    /// S3 failed.
    #[error(transparent)]
    Store(StoreError),
}

/// A function's configuration, read from S3 and looked at again between invocations.
pub struct S3ConfigFeed {
    client: Client,
    object: ConfigObject,
    refresh: Duration,
    state: tokio::sync::Mutex<FeedState>,
}

struct FeedState {
    current: Arc<Versioned>,
    /// When the store was last looked at.
    checked: Instant,
    /// The newest version seen that did not validate (not read again until it changes).
    rejected: Option<String>,
}

impl S3ConfigFeed {
    /// Reads the newest valid version of `object`; fails only when there is none.
    pub async fn load(
        client: Client,
        object: ConfigObject,
        refresh: Duration,
    ) -> Result<Self, ConfigStoreError> {
        let (current, rejected) = newest_valid(&client, &object).await?;
        tracing::info!(configuration = %current.version, object = %object, "configuration loaded");
        Ok(Self {
            client,
            object,
            refresh,
            state: tokio::sync::Mutex::new(FeedState {
                current,
                checked: Instant::now(),
                rejected,
            }),
        })
    }
}

/// The newest version that validates, and the newest that did not, if it was newer.
async fn newest_valid(
    client: &Client,
    object: &ConfigObject,
) -> Result<(Arc<Versioned>, Option<String>), ConfigStoreError> {
    let (bytes, version) = read_bytes(client, object, None).await?;
    let reason = match validate(&bytes) {
        Ok((_, config)) => return Ok((Arc::new(Versioned { config, version }), None)),
        Err(reason) => reason,
    };
    tracing::error!(rejected = %version, error = %loggable(&reason), object = %object, "the newest configuration version is not valid; looking for the one before");
    let first_error = ConfigStoreError::Invalid {
        version: version.clone(),
        reason,
    };
    let older = match versions(client, object).await {
        Ok(older) => older,
        Err(e) => {
            tracing::warn!(error = %e, "the versions before could not be listed");
            return Err(first_error);
        }
    };
    for older in older.iter().filter(|v| **v != version) {
        match read_bytes(client, object, Some(older)).await {
            Ok((bytes, older)) => {
                if let Ok((_, config)) = validate(&bytes) {
                    tracing::warn!(configuration = %older, rejected = %version, "running an older configuration version");
                    return Ok((
                        Arc::new(Versioned {
                            config,
                            version: older,
                        }),
                        Some(version),
                    ));
                }
            }
            Err(e) => {
                tracing::warn!(version = %older, error = %e, "an older configuration version could not be read")
            }
        }
    }
    Err(first_error)
}

#[async_trait]
impl ConfigFeed for S3ConfigFeed {
    async fn current(&self) -> Arc<Versioned> {
        let mut state = self.state.lock().await;
        if state.checked.elapsed() < self.refresh {
            return state.current.clone();
        }
        state.checked = Instant::now();
        let newest = match head(&self.client, &self.object).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, configuration = %state.current.version, "configuration store not readable; going on with the version in force");
                return state.current.clone();
            }
        };
        if newest == state.current.version || state.rejected.as_deref() == Some(&newest) {
            return state.current.clone();
        }
        // The newest, read as it is now (by version id would fail where there is none).
        match read_bytes(&self.client, &self.object, None).await {
            Ok((bytes, version)) => match validate(&bytes) {
                Ok((_, config)) => {
                    tracing::info!(configuration = %version, previous = %state.current.version, "new configuration version taken");
                    state.current = Arc::new(Versioned { config, version });
                    state.rejected = None;
                }
                Err(reason) => {
                    tracing::error!(rejected = %version, error = %loggable(&reason), configuration = %state.current.version, "new configuration version is not valid; going on with the version in force");
                    state.rejected = Some(version);
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, configuration = %state.current.version, "new configuration version not readable; going on with the version in force");
            }
        }
        state.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_version_is_logged_without_the_lines_it_quotes() {
        let reason =
            Config::from_toml("[commercetools]\nclient_secret_pasted = \"s3cr3t-value\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            reason.contains("s3cr3t-value") || reason.contains("client_secret_pasted"),
            "{reason}"
        );
        let logged = loggable(&reason);
        assert!(!logged.contains("s3cr3t-value"), "{logged}");
    }

    #[test]
    fn a_null_version_id_names_the_version_by_its_etag() {
        assert_eq!(version_of(Some("null"), Some("\"e1\"")), "\"e1\"");
        assert_eq!(version_of(Some("v2"), Some("\"e1\"")), "v2");
        assert_eq!(version_of(None, Some("\"e1\"")), "\"e1\"");
    }
}
