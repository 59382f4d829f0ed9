//! Loading a JSON secret (`{"name": "value", …}`) from Secrets Manager.
//!
//! Values go straight into [`SecretString`]s; no error message or log line ever contains one.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;

use crate::store::StoreError;

use super::error::sdk_error;

/// Loads the secret `secret_id` (name or ARN) and returns its JSON fields by name.
/// String, number and boolean values are taken as their text; anything else is `Corrupt`.
pub async fn load_json_secret(
    client: &Client,
    secret_id: &str,
) -> Result<BTreeMap<String, SecretString>, StoreError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("secret {secret_id}"), e))?;
    let text = out
        .secret_string()
        .ok_or_else(|| StoreError::Corrupt(format!("secret {secret_id} has no SecretString")))?;
    parse_json_secret(secret_id, text)
}

/// Parses the text of a JSON secret. Errors name the secret and the field, never a value.
pub fn parse_json_secret(
    secret_id: &str,
    text: &str,
) -> Result<BTreeMap<String, SecretString>, StoreError> {
    // serde_json's messages give only line and column, never the offending text.
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| {
            StoreError::Corrupt(format!("secret {secret_id} is not a JSON object: {e}"))
        })?;
    fields
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "secret {secret_id}: field {name} is not a string, number or boolean"
                    )));
                }
            };
            Ok((name, SecretString::from(text)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn fields_become_secret_strings() {
        let m = parse_json_secret("s", r#"{"password":"hunter2","port":5432,"tls":true}"#).unwrap();
        assert_eq!(m["password"].expose_secret(), "hunter2");
        assert_eq!(m["port"].expose_secret(), "5432");
        assert_eq!(m["tls"].expose_secret(), "true");
        assert!(!format!("{:?}", m["password"]).contains("hunter2"));
    }

    #[test]
    fn errors_never_show_values() {
        for bad in [r#"{"password": ["hunter2"]}"#, r#"["hunter2"]"#, "hunter2"] {
            let err = parse_json_secret("s", bad).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(matches!(
                parse_json_secret("s", bad),
                Err(StoreError::Corrupt(_))
            ));
        }
    }
}
