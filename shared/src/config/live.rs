//! The configuration a running function works with, and where it comes from: a store that may
//! hand out a newer version at any time (S3 in AWS: `crate::aws::config_store`), or a fixed
//! one (a file, a test). A flow is rebuilt when the version changes
//! ([`crate::invocation::LazyFlow::configured`]), so that a pushed configuration takes effect
//! without a redeploy.

use std::sync::Arc;

use async_trait::async_trait;

use super::Config;

/// A validated configuration and the version it was read as (an S3 version id, a file path).
#[derive(Debug)]
pub struct Versioned {
    /// The configuration.
    pub config: Config,
    /// Its version, as the store names it: logged, so that an operator can tell which version
    /// a function ran.
    pub version: String,
}

/// A source of the newest valid configuration.
#[async_trait]
pub trait ConfigFeed: Send + Sync {
    /// The newest valid configuration. Never fails: a store that cannot be read, or a version
    /// that does not validate, leaves the one before in force.
    async fn current(&self) -> Arc<Versioned>;
}

/// A configuration that never changes (a file read at start, a test's).
pub struct FixedConfig(Arc<Versioned>);

impl FixedConfig {
    /// `config`, known as `version`.
    pub fn new(config: Config, version: impl Into<String>) -> Self {
        Self(Arc::new(Versioned {
            config,
            version: version.into(),
        }))
    }
}

#[async_trait]
impl ConfigFeed for FixedConfig {
    async fn current(&self) -> Arc<Versioned> {
        self.0.clone()
    }
}
