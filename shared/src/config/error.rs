//! Configuration errors that name the offending field.

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The path tried.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown or mistyped field (toml names it).
    #[error("configuration is not valid: {0}")]
    Parse(String),
    /// A field has a value that cannot work.
    #[error("configuration field `{field}`: {problem}")]
    Invalid {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A secret is missing from the environment or the secret store.
    #[error("secret `{0}` is not set (environment variable or Secrets Manager key)")]
    MissingSecret(String),
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
