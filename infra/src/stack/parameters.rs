//! What the stack hands the template from outside, as a deployment does: the parameter values
//! (the configuration, the secrets' ARNs, anything the caller sets), the Secrets Manager
//! secrets themselves (made on moto), and the configuration object where the functions read it
//! from S3. This is the one place that knows the template's parameter names and the
//! configuration's environment variables: the rest of the stack reads the template generically.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::Value;

use ctpvx_shared::aws::aws_config::SdkConfig;
use ctpvx_shared::aws::aws_sdk_secretsmanager;
use ctpvx_shared::aws::config_store::{self, ConfigObject};
use ctpvx_shared::lambda_init::DEFAULT_CONFIG_KEY;

/// Where a function finds its configuration in S3, when the template says so.
const CONFIG_BUCKET_VAR: &str = "CTPVX_CONFIG_BUCKET";
const CONFIG_KEY_VAR: &str = "CTPVX_CONFIG_KEY";

/// The secret parameters the template declares, and the secret keys each holds.
const SECRET_PARAMETERS: [(&str, &[&str]); 2] = [
    ("ApiSecretArn", &["ct_client_secret", "pvx_password"]),
    ("WebhookSecretArn", &["webhook_token", "pvx_callback_token"]),
];

/// What the caller gives the stack.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// The configuration TOML.
    pub config_text: String,
    /// Every secret by key (`ct_client_secret`, `pvx_password`, `webhook_token`,
    /// `pvx_callback_token`).
    pub secrets: BTreeMap<String, String>,
    /// Parameter values set explicitly (they win over everything else).
    pub parameters: BTreeMap<String, String>,
}

/// Every parameter of `template` with its value: given, made here (secrets, configuration),
/// or its default. Creates the secrets on moto, named after `prefix`.
pub async fn resolve(
    template: &Value,
    given: &Given,
    sdk: &SdkConfig,
    prefix: &str,
) -> anyhow::Result<BTreeMap<String, Value>> {
    let declared = template["Parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let mut out = BTreeMap::new();
    for (name, definition) in &declared {
        let value = if let Some(value) = given.parameters.get(name) {
            value.clone()
        } else if let Some((_, keys)) = SECRET_PARAMETERS.iter().find(|(p, _)| p == name) {
            make_secret(&secrets, &format!("{prefix}-{name}"), keys, &given.secrets)
                .await
                .with_context(|| format!("the secret of parameter {name}"))?
        } else if let Some(default) = definition.get("Default") {
            match default {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        } else {
            bail!("template parameter {name} has no value: give it to the stack");
        };
        out.insert(name.clone(), Value::String(value));
    }
    Ok(out)
}

/// Creates a JSON secret of `keys` taken from `all`; returns its ARN.
async fn make_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    keys: &[&str],
    all: &BTreeMap<String, String>,
) -> anyhow::Result<String> {
    let mut body = serde_json::Map::new();
    for key in keys {
        let value = all
            .get(*key)
            .with_context(|| format!("no value for secret key {key}"))?;
        body.insert((*key).to_string(), value.clone().into());
    }
    let created = client
        .create_secret()
        .name(name)
        .secret_string(Value::Object(body).to_string())
        .send()
        .await?;
    created
        .arn()
        .map(str::to_string)
        .context("moto returned no secret ARN")
}

/// Pushes the configuration (validated, as `ctpvx config push` does) to every S3 object a
/// function's environment says it reads it from (`CTPVX_CONFIG_BUCKET`, `CTPVX_CONFIG_KEY`).
pub async fn deliver_config<'a>(
    sdk: &SdkConfig,
    environments: impl Iterator<Item = &'a BTreeMap<String, String>>,
    config_text: &str,
) -> anyhow::Result<()> {
    let mut objects: Vec<(String, String)> = environments
        .filter_map(|env| {
            let bucket = env.get(CONFIG_BUCKET_VAR).filter(|b| !b.is_empty())?;
            let key = env
                .get(CONFIG_KEY_VAR)
                .cloned()
                .unwrap_or_else(|| DEFAULT_CONFIG_KEY.to_string());
            Some((bucket.clone(), key))
        })
        .collect();
    objects.sort();
    objects.dedup();
    let client = config_store::client(sdk);
    for (bucket, key) in objects {
        let object = ConfigObject { bucket, key };
        config_store::push(&client, &object, config_text)
            .await
            .with_context(|| format!("pushing the configuration to {object}"))?;
    }
    Ok(())
}
