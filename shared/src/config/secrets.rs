//! Secrets: held in types that never print, read from the environment or handed over by the
//! AWS adapter after reading Secrets Manager.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::ConfigError;

/// The secrets ctpvx needs. `Debug` prints only which are present.
#[derive(Clone)]
pub struct Secrets {
    /// commercetools API client secret.
    pub ct_client_secret: SecretString,
    /// Peoplevox integration user password.
    pub pvx_password: SecretString,
    /// Token that commercetools webhook callers must present (Bearer).
    pub webhook_token: SecretString,
    /// Token in the path of Peoplevox callback URLs: Peoplevox cannot sign or send headers,
    /// so a long random path segment is the only proof a callback is genuine.
    pub pvx_callback_token: SecretString,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { ct_client_secret: [redacted], pvx_password: [redacted], webhook_token: [redacted], pvx_callback_token: [redacted] }")
    }
}

/// Environment variable names, also the keys of the JSON secret in Secrets Manager
/// (lower-cased without the prefix: `ct_client_secret`, `pvx_password`, `webhook_token`,
/// `pvx_callback_token`).
pub const ENV_CT_CLIENT_SECRET: &str = "CTPVX_CT_CLIENT_SECRET";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_PVX_PASSWORD: &str = "CTPVX_PVX_PASSWORD";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_WEBHOOK_TOKEN: &str = "CTPVX_WEBHOOK_TOKEN";
/// See [`ENV_CT_CLIENT_SECRET`].
pub const ENV_PVX_CALLBACK_TOKEN: &str = "CTPVX_PVX_CALLBACK_TOKEN";

/// Shortest webhook token accepted: callers cannot sign, so the token is the only proof.
pub const MIN_WEBHOOK_TOKEN_LEN: usize = 32;

impl Secrets {
    /// Reads the four secrets from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
                .ok_or_else(|| ConfigError::MissingSecret(name.to_string()))
        };
        Self::checked(
            get(ENV_CT_CLIENT_SECRET)?,
            get(ENV_PVX_PASSWORD)?,
            get(ENV_WEBHOOK_TOKEN)?,
            get(ENV_PVX_CALLBACK_TOKEN)?,
        )
    }

    /// Builds the secrets from a key/value map (the JSON secret from Secrets Manager).
    pub fn from_map(map: &BTreeMap<String, SecretString>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            map.get(key)
                .cloned()
                .ok_or_else(|| ConfigError::MissingSecret(key.to_string()))
        };
        Self::checked(
            get("ct_client_secret")?,
            get("pvx_password")?,
            get("webhook_token")?,
            get("pvx_callback_token")?,
        )
    }

    fn checked(
        ct_client_secret: SecretString,
        pvx_password: SecretString,
        webhook_token: SecretString,
        pvx_callback_token: SecretString,
    ) -> Result<Self, ConfigError> {
        use secrecy::ExposeSecret;
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
            ct_client_secret,
            pvx_password,
            webhook_token,
            pvx_callback_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_values() {
        let s = Secrets {
            ct_client_secret: "ct-secret-value".to_string().into(),
            pvx_password: "pvx-secret-value".to_string().into(),
            webhook_token: "token-secret-value".to_string().into(),
            pvx_callback_token: "callback-secret-value".to_string().into(),
        };
        let shown = format!("{s:?}");
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
}
