//! Secrets: held in types that never print, read from the environment or handed over by the
//! AWS adapter after reading Secrets Manager.
//!
//! They come in two halves, each a secret of its own in AWS, so that a function can read only
//! the half it needs: the API credentials ([`ApiSecrets`]: the commercetools client secret and
//! the Peoplevox password) for the flows, and the two tokens that prove a caller
//! ([`WebhookSecrets`]) for the internet-facing webhooks function. A breach of the webhooks
//! function then yields no credential to either system. The operator CLI holds both
//! ([`Secrets`]).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

/// The API credentials the flows use. `Debug` prints no value.
#[derive(Clone)]
pub struct ApiSecrets {
    /// commercetools API client secret.
    pub ct_client_secret: SecretString,
    /// Peoplevox integration user password.
    pub pvx_password: SecretString,
}

/// The tokens the webhooks function checks callers against. `Debug` prints no value.
#[derive(Clone)]
pub struct WebhookSecrets {
    /// Token that commercetools webhook callers must present (Bearer).
    pub webhook_token: SecretString,
    /// Token in the path of Peoplevox callback URLs: Peoplevox cannot sign or send headers,
    /// so a long random path segment is the only proof a callback is genuine.
    pub pvx_callback_token: SecretString,
}

/// Both halves: what the operator CLI and the local runner hold.
#[derive(Clone)]
pub struct Secrets {
    /// The API credentials.
    pub api: ApiSecrets,
    /// The caller tokens.
    pub hooks: WebhookSecrets,
}

impl std::fmt::Debug for ApiSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecrets { ct_client_secret: [redacted], pvx_password: [redacted] }")
    }
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecrets { webhook_token: [redacted], pvx_callback_token: [redacted] }")
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secrets {{ api: {:?}, hooks: {:?} }}",
            self.api, self.hooks
        )
    }
}

impl AsRef<ApiSecrets> for ApiSecrets {
    fn as_ref(&self) -> &ApiSecrets {
        self
    }
}

impl AsRef<ApiSecrets> for Secrets {
    fn as_ref(&self) -> &ApiSecrets {
        &self.api
    }
}

impl AsRef<WebhookSecrets> for WebhookSecrets {
    fn as_ref(&self) -> &WebhookSecrets {
        self
    }
}

impl AsRef<WebhookSecrets> for Secrets {
    fn as_ref(&self) -> &WebhookSecrets {
        &self.hooks
    }
}

/// Environment variable names, also the keys of the JSON secrets in Secrets Manager
/// (lower-cased without the prefix: `ct_client_secret` and `pvx_password` in the API secret,
/// `webhook_token` and `pvx_callback_token` in the webhook secret).
pub const ENV_CT_CLIENT_SECRET: &str = "CTPVX_CT_CLIENT_SECRET";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_PVX_PASSWORD: &str = "CTPVX_PVX_PASSWORD";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_WEBHOOK_TOKEN: &str = "CTPVX_WEBHOOK_TOKEN";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_PVX_CALLBACK_TOKEN: &str = "CTPVX_PVX_CALLBACK_TOKEN";

/// Shortest webhook token accepted: callers cannot sign, so the token is the only proof.
pub const MIN_WEBHOOK_TOKEN_LEN: usize = 32;

/// A secret from the environment, named by its variable.
fn from_env(name: &str) -> Result<SecretString, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| ConfigError::MissingSecret(name.to_string()))
}

/// A field of a JSON secret, named by its key.
fn from_map(map: &BTreeMap<String, SecretString>, key: &str) -> Result<SecretString, ConfigError> {
    map.get(key)
        .cloned()
        .ok_or_else(|| ConfigError::MissingSecret(key.to_string()))
}

impl ApiSecrets {
    /// Reads the API credentials from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            ct_client_secret: from_env(ENV_CT_CLIENT_SECRET)?,
            pvx_password: from_env(ENV_PVX_PASSWORD)?,
        })
    }

    /// The API credentials from a key/value map (the API secret from Secrets Manager).
    pub fn from_map(map: &BTreeMap<String, SecretString>) -> Result<Self, ConfigError> {
        Ok(Self {
            ct_client_secret: from_map(map, "ct_client_secret")?,
            pvx_password: from_map(map, "pvx_password")?,
        })
    }
}

impl WebhookSecrets {
    /// Reads the caller tokens from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::checked(
            from_env(ENV_WEBHOOK_TOKEN)?,
            from_env(ENV_PVX_CALLBACK_TOKEN)?,
        )
    }

    /// The caller tokens from a key/value map (the webhook secret from Secrets Manager).
    pub fn from_map(map: &BTreeMap<String, SecretString>) -> Result<Self, ConfigError> {
        Self::checked(
            from_map(map, "webhook_token")?,
            from_map(map, "pvx_callback_token")?,
        )
    }

    fn checked(
        webhook_token: SecretString,
        pvx_callback_token: SecretString,
    ) -> Result<Self, ConfigError> {
        for (name, token) in [
            ("webhook_token", &webhook_token),
            ("pvx_callback_token", &pvx_callback_token),
        ] {
            if token.expose_secret().len() < MIN_WEBHOOK_TOKEN_LEN {
                return Err(ConfigError::invalid(
                    name,
                    format!("must be at least {MIN_WEBHOOK_TOKEN_LEN} characters"),
                ));
            }
        }
        // The callback token travels in a URL path: characters that need encoding would be
        // mangled by someone, somewhere.
        if !pvx_callback_token
            .expose_secret()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::invalid(
                "pvx_callback_token",
                "must use only letters, digits, '-' and '_' (it is part of a URL path)",
            ));
        }
        Ok(Self {
            webhook_token,
            pvx_callback_token,
        })
    }
}

impl Secrets {
    /// Reads all four secrets from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            api: ApiSecrets::from_env()?,
            hooks: WebhookSecrets::from_env()?,
        })
    }

    /// All four secrets from one key/value map (tests and local tools).
    pub fn from_map(map: &BTreeMap<String, SecretString>) -> Result<Self, ConfigError> {
        Ok(Self {
            api: ApiSecrets::from_map(map)?,
            hooks: WebhookSecrets::from_map(map)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_values() {
        let s = Secrets {
            api: ApiSecrets {
                ct_client_secret: "ct-secret-value".to_string().into(),
                pvx_password: "pvx-secret-value".to_string().into(),
            },
            hooks: WebhookSecrets {
                webhook_token: "token-secret-value".to_string().into(),
                pvx_callback_token: "callback-secret-value".to_string().into(),
            },
        };
        let shown = format!("{s:?} {:?} {:?}", s.api, s.hooks);
        assert!(!shown.contains("secret-value"), "{shown}");
    }

    #[test]
    fn short_webhook_token_is_refused() {
        let mut map = BTreeMap::new();
        map.insert("ct_client_secret".to_string(), SecretString::from("a"));
        map.insert("pvx_password".to_string(), SecretString::from("b"));
        map.insert("webhook_token".to_string(), SecretString::from("short"));
        map.insert(
            "pvx_callback_token".to_string(),
            SecretString::from("pvx-callback-token-0123456789-abcdefghij"),
        );
        let e = Secrets::from_map(&map).unwrap_err();
        assert!(e.to_string().contains("webhook_token"), "{e}");
        map.remove("pvx_password");
        let e = Secrets::from_map(&map).unwrap_err();
        assert!(e.to_string().contains("pvx_password"), "{e}");
    }

    #[test]
    fn each_half_needs_only_its_own_keys() {
        let mut api = BTreeMap::new();
        api.insert("ct_client_secret".to_string(), SecretString::from("a"));
        api.insert("pvx_password".to_string(), SecretString::from("b"));
        assert!(ApiSecrets::from_map(&api).is_ok());
        let e = WebhookSecrets::from_map(&api).unwrap_err();
        assert!(e.to_string().contains("webhook_token"), "{e}");

        let mut hooks = BTreeMap::new();
        hooks.insert(
            "webhook_token".to_string(),
            SecretString::from("webhook-token-0123456789-abcdefghij"),
        );
        hooks.insert(
            "pvx_callback_token".to_string(),
            SecretString::from("pvx-callback-token-0123456789-abcdefghij"),
        );
        assert!(WebhookSecrets::from_map(&hooks).is_ok());
        let e = ApiSecrets::from_map(&hooks).unwrap_err();
        assert!(e.to_string().contains("ct_client_secret"), "{e}");
    }
}
