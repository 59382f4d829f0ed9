//! The configuration store: one TOML object in a versioned S3 bucket, read by every function
//! and written by `ctpvx config push`.
//!
//! Why S3: a configuration with a few dozen shipping methods, routing rules and pack SKUs
//! outgrows an environment variable (4 KB for all of a function's variables), a CloudFormation
//! parameter (4 KB) and an SSM parameter (8 KB in the advanced tier); an S3 object holds any
//! size. A versioned bucket gives every push a version id, which the functions log and an
//! operator can roll back to, and keeps the previous versions for a cold start to fall back on.
//! AWS AppConfig would add staged rollouts, but its data API (`appconfigdata`) has no local
//! emulator to test against, and its Lambda extension is a layer per region and architecture.
//!
//! How a function reads it ([`S3ConfigFeed`]):
//! - at a cold start, the newest version that validates: a version that does not (written
//!   around `ctpvx config push`) is skipped, with an error naming it, for the one before;
//! - then, at most once per refresh interval (`CTPVX_CONFIG_REFRESH_S`, 60 s by default), a
//!   `HeadObject` between invocations: a new version is read and validated, and taken only if
//!   it validates. So a new version takes effect within the interval plus one invocation,
//!   and a bad one never replaces a good one.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
/// at an endpoint of its own (an emulator on loopback has no per-bucket host names).
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Client::from_conf(conf)
}

/// What a push wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The new version (the S3 version id; the ETag in a bucket without versioning).
    pub version: String,
    /// The text of the version it replaced, if there was one.
    pub previous: Option<String>,
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
    let previous = match read(client, object, None).await {
        Ok((text, _)) => Some(text),
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
    let version = out
        .version_id()
        .or(out.e_tag())
        .unwrap_or_default()
        .to_string();
    Ok(Pushed { version, previous })
}

/// The text of `object` (its newest version, or `version`) and the version it is.
pub async fn read(
    client: &Client,
    object: &ConfigObject,
    version: Option<&str>,
) -> Result<(String, String), ConfigStoreError> {
    let out = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| missing_or(object, sdk_error(&format!("reading {object}"), e)))?;
    let version = out
        .version_id()
        .or(out.e_tag())
        .unwrap_or_default()
        .to_string();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| {
            ConfigStoreError::Store(StoreError::Backend(format!("reading {object}: {e}")))
        })?
        .into_bytes();
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ConfigStoreError::Invalid {
        version: version.clone(),
        reason: "the object is not UTF-8 text".into(),
    })?;
    Ok((text, version))
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
    Ok(out
        .version_id()
        .or(out.e_tag())
        .unwrap_or_default()
        .to_string())
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
    #[error("no configuration at {0}: push one with `ctpvx config push --config ctpvx.toml --aws`")]
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

    /// The first configuration, for what a function builds once at init.
    pub async fn first(&self) -> Arc<Versioned> {
        self.state.lock().await.current.clone()
    }
}

/// The newest version that validates, and the newest that did not, if it was newer.
async fn newest_valid(
    client: &Client,
    object: &ConfigObject,
) -> Result<(Arc<Versioned>, Option<String>), ConfigStoreError> {
    let (text, version) = read(client, object, None).await?;
    let first_error = match Config::from_toml(&text) {
        Ok(config) => return Ok((Arc::new(Versioned { config, version }), None)),
        Err(e) => ConfigStoreError::Invalid {
            version: version.clone(),
            reason: e.to_string(),
        },
    };
    tracing::error!(error = %first_error, object = %object, "the newest configuration version is not valid; looking for the one before");
    for older in versions(client, object).await? {
        if older == version {
            continue;
        }
        let (text, older) = read(client, object, Some(&older)).await?;
        if let Ok(config) = Config::from_toml(&text) {
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
        match read(&self.client, &self.object, Some(&newest)).await {
            Ok((text, version)) => match Config::from_toml(&text) {
                Ok(config) => {
                    tracing::info!(configuration = %version, previous = %state.current.version, "new configuration version taken");
                    state.current = Arc::new(Versioned { config, version });
                    state.rejected = None;
                }
                Err(e) => {
                    tracing::error!(rejected = %version, error = %e, configuration = %state.current.version, "new configuration version is not valid; going on with the version in force");
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
