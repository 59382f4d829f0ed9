//! [`IdempotencyStore`] on DynamoDB: the Powertools persistence layer, attribute for attribute.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::store::{
    IdempotencyRecord, IdempotencyStatus, IdempotencyStore, PutInProgress, StoreError,
};

use super::attr::{Attrs, get_n, get_s, n, opt_n, opt_s, s};
use super::error::sdk_error;

/// Powertools' put condition (python `dynamodb.py`, TS `DynamoDBPersistenceLayer.ts`).
const PUT_CONDITION: &str = "attribute_not_exists(#id) OR #expiry < :now \
     OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) \
     AND #in_progress_expiry < :now_in_millis)";

/// The idempotency table: pk `id`, `status`, `expiration`, `in_progress_expiration`, `data`,
/// `validation`.
#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoIdempotencyStore {
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

    fn key(id: &str) -> Attrs {
        Attrs::from([("id".to_owned(), s(id))])
    }
}

/// The item for a record; absent optional attributes are left out, as Powertools does.
fn to_attrs(r: &IdempotencyRecord) -> Attrs {
    let mut item = Attrs::from([
        ("id".to_owned(), s(&r.id)),
        ("status".to_owned(), s(r.status.as_str())),
        ("expiration".to_owned(), n(r.expiration)),
    ]);
    if let Some(ipe) = r.in_progress_expiration {
        item.insert("in_progress_expiration".to_owned(), n(ipe));
    }
    if let Some(data) = &r.data {
        item.insert("data".to_owned(), s(data));
    }
    if let Some(validation) = &r.validation {
        item.insert("validation".to_owned(), s(validation));
    }
    item
}

fn from_attrs(item: &Attrs) -> Result<IdempotencyRecord, StoreError> {
    let id = get_s(item, "id")?;
    let status = get_s(item, "status")?;
    let status = IdempotencyStatus::parse(&status).ok_or_else(|| {
        StoreError::Corrupt(format!("idempotency {id}: unknown status {status:?}"))
    })?;
    Ok(IdempotencyRecord {
        status,
        expiration: get_n(item, "expiration")?,
        in_progress_expiration: opt_n(item, "in_progress_expiration")?,
        data: opt_s(item, "data")?,
        validation: opt_s(item, "validation")?,
        id,
    })
}

/// The old item DynamoDB returned (ALL_OLD), if there was one.
fn old_record(item: Option<&Attrs>) -> Result<Option<IdempotencyRecord>, StoreError> {
    match item {
        Some(item) if !item.is_empty() => from_attrs(item).map(Some),
        _ => Ok(None),
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn put_in_progress(
        &self,
        record: &IdempotencyRecord,
        now_s: i64,
        now_ms: i64,
    ) -> Result<PutInProgress, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(record)))
            .condition_expression(PUT_CONDITION)
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiry", "in_progress_expiration")
            .expression_attribute_values(":now", n(now_s))
            .expression_attribute_values(":now_in_millis", n(now_ms))
            .expression_attribute_values(":inprogress", s(IdempotencyStatus::InProgress.as_str()))
            // ALL_OLD both ways: the replaced record on success, the blocking one on failure,
            // so nobody needs a second read (Powertools TS#1573).
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(PutInProgress::Acquired {
                previous: old_record(out.attributes())?,
            }),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    match old_record(failed.item())? {
                        Some(old) => Ok(PutInProgress::Exists(old)),
                        // The condition can only fail on an existing item.
                        None => Err(StoreError::Backend(format!(
                            "idempotency {}: condition failed but no ALL_OLD item returned",
                            record.id
                        ))),
                    }
                }
                _ => Err(sdk_error("idempotency put", e)),
            },
        }
    }

    async fn save_success(&self, id: &str, data: &str, expiration: i64) -> Result<(), StoreError> {
        // Unconditional, as Powertools: the holder of the key is the only writer by now.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .update_expression("SET #data = :data, #expiry = :expiry, #status = :completed")
            .expression_attribute_names("#data", "data")
            .expression_attribute_names("#expiry", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":data", s(data))
            .expression_attribute_values(":expiry", n(expiration))
            .expression_attribute_values(":completed", s(IdempotencyStatus::Completed.as_str()))
            .send()
            .await
            .map_err(|e| sdk_error("idempotency save_success", e))?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .send()
            .await
            .map_err(|e| sdk_error("idempotency delete", e))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("idempotency get", e))?;
        old_record(out.item())
    }
}
