//! [`StateStore`] on DynamoDB: versioned items, conditional puts, expiry checked in code.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use crate::store::{Condition, Item, StateStore, StoreError, now_epoch_s};

use super::attr::{Attrs, get_n, get_s, n, opt_n, s};
use super::error::sdk_error;

/// BatchGetItem reads at most this many keys per call.
const BATCH_GET_MAX: usize = 100;

/// `Condition::Always` is a read then a conditional write; under a storm of concurrent writers
/// to one key it gives up after this many lost races (a retryable `Backend` error).
const MAX_ALWAYS_ATTEMPTS: usize = 16;

/// The state table: pk `pk`, sk `sk`, `data`, `version`, `expiration` (TTL).
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
}

impl DynamoStateStore {
    /// A store on `table`, using `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store on `table`, with a client built from `config`.
    pub fn from_conf(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    fn key(pk: &str, sk: &str) -> Attrs {
        Attrs::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    /// The live version at (pk, sk), read consistently.
    async fn live_version(&self, pk: &str, sk: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.get(pk, sk).await?.map(|item| item.version))
    }

    /// One conditional PutItem: `NotExists` or `Version` only.
    async fn put_if(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        live_version: Option<u64>,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        let now = now_epoch_s();
        let next = crate::store::next_version(live_version)?;
        let mut item = Self::key(pk, sk);
        item.insert("data".into(), s(data));
        item.insert("version".into(), n(next));
        if let Some(exp) = expires_at {
            item.insert("expiration".into(), n(exp));
        }
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#exp", "expiration")
            .expression_attribute_values(":now", n(now));
        // An expired item counts as absent: it may be overwritten as new, and it never matches
        // a version.
        let req = match live_version {
            None => req
                .condition_expression("attribute_not_exists(#pk) OR #exp < :now")
                .expression_attribute_names("#pk", "pk"),
            Some(v) => req
                .condition_expression(
                    "#version = :version AND (attribute_not_exists(#exp) OR #exp >= :now)",
                )
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(next),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::ConditionFailed)
            }
            Err(e) => Err(sdk_error("state put", e)),
        }
    }
}

impl DynamoStateStore {
    /// One BatchGetItem of at most [`BATCH_GET_MAX`] distinct keys, read consistently, with
    /// the keys DynamoDB leaves unprocessed (throttling) asked again after a backoff.
    async fn batch_get(&self, keys: &[&(String, String)]) -> Result<Vec<Attrs>, StoreError> {
        let mut pending: Vec<Attrs> = keys.iter().map(|(pk, sk)| Self::key(pk, sk)).collect();
        let mut found = Vec::with_capacity(keys.len());
        let mut rounds = super::unprocessed::Rounds::new();
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(format!("state get_many: {e}")))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_error("state get_many", e))?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                found.extend(items.iter().cloned());
            }
            pending = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            if !pending.is_empty() {
                rounds.pause("state get_many", pending.len()).await?;
            }
        }
        Ok(found)
    }
}

fn item_from(attrs: &Attrs) -> Result<Item, StoreError> {
    Ok(Item {
        data: get_s(attrs, "data")?,
        version: get_n(attrs, "version")?,
        expires_at: opt_n(attrs, "expiration")?,
    })
}

fn is_live(item: &Item, now_s: i64) -> bool {
    item.expires_at.is_none_or(|e| e >= now_s)
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("state get", e))?;
        let now = now_epoch_s();
        match out.item() {
            None => Ok(None),
            Some(attrs) => Ok(Some(item_from(attrs)?).filter(|i| is_live(i, now))),
        }
    }

    async fn put(
        &self,
        pk: &str,
        sk: &str,
        data: &str,
        cond: Condition,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        match cond {
            Condition::NotExists => self.put_if(pk, sk, data, None, expires_at).await,
            Condition::Version(v) => self.put_if(pk, sk, data, Some(v), expires_at).await,
            // The new version depends on the live one, and "expired counts as absent" restarts
            // it at 1: no single UpdateItem expresses that, so read and write conditionally.
            Condition::Always => {
                for _ in 0..MAX_ALWAYS_ATTEMPTS {
                    let live = self.live_version(pk, sk).await?;
                    match self.put_if(pk, sk, data, live, expires_at).await {
                        Err(StoreError::ConditionFailed) => continue,
                        other => return other,
                    }
                }
                Err(StoreError::Backend(format!(
                    "state put {pk}/{sk}: lost {MAX_ALWAYS_ATTEMPTS} races to concurrent writers"
                )))
            }
        }
    }

    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        // BatchGetItem refuses a request that names one key twice, and answers in no order.
        let mut unique: Vec<&(String, String)> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let mut by_key: HashMap<(String, String), Item> = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_MAX) {
            for attrs in self.batch_get(chunk).await? {
                let key = (get_s(&attrs, "pk")?, get_s(&attrs, "sk")?);
                by_key.insert(key, item_from(&attrs)?);
            }
        }
        let now = now_epoch_s();
        Ok(keys
            .iter()
            .map(|key| by_key.get(key).filter(|i| is_live(i, now)).cloned())
            .collect())
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .send()
            .await
            .map_err(|e| sdk_error("state delete", e))?;
        Ok(())
    }

    async fn query(&self, pk: &str, limit: usize) -> Result<Vec<(String, Item)>, StoreError> {
        let now = now_epoch_s();
        let mut out = Vec::new();
        let mut start: Option<Attrs> = None;
        while out.len() < limit {
            // No `Limit`: it would count the expired items the filter drops.
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#pk = :pk")
                .filter_expression("attribute_not_exists(#exp) OR #exp >= :now")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#exp", "expiration")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("state query", e))?;
            for attrs in page.items() {
                out.push((get_s(attrs, "sk")?, item_from(attrs)?));
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
