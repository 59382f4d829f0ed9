//! What ctpvx remembers of each subscription, since Peoplevox cannot list them: one state-store
//! item per name (pk [`RECORD_PK`], sk the name), holding the Peoplevox id, what was subscribed
//! (the URL with the token redacted) and the fingerprint of the full request. The token itself
//! is never stored.

use serde::{Deserialize, Serialize};

use crate::store::{StateStore, StoreError};

/// Partition key of subscription records.
pub const RECORD_PK: &str = "pvx-subscription";

/// Records read at most (there are a handful per site).
const MAX_RECORDS: usize = 1000;

/// One subscription as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// Peoplevox event type.
    pub event_type: String,
    /// The site a stock subscription is filtered to.
    #[serde(default)]
    pub site: Option<String>,
    /// The subscribe operation (`SubscribeEventWithSitesFilters`, ...); absent in records
    /// written before ctpvx read the tenant's WSDL.
    #[serde(default)]
    pub operation: Option<String>,
    /// The filter clause sent (`sitesFilter` for SubscribeEventWithSitesFilters).
    pub filter: String,
    /// The `encodeParameterData` sent, if any.
    #[serde(default)]
    pub encode_parameter_data: Option<bool>,
    /// `GET` (SubscribeEvent) or `POST` (SubscribePostEvent).
    pub method: String,
    /// The callback URL with the token redacted.
    pub url: String,
    /// `postParams` of a POST subscription.
    #[serde(default)]
    pub post_params: Option<String>,
    /// SHA-256 of the full request, token included ([`super::Callback::fingerprint`]).
    pub fingerprint: String,
    /// The Peoplevox subscription id. `None` is an *intent*: SubscribeEvent was (being) sent
    /// and its answer never recorded, so Peoplevox may or may not hold the subscription.
    pub id: Option<i64>,
    /// When the intent was written or the id recorded, epoch ms.
    pub at_ms: i64,
    /// Ids this subscription replaced that are still to be unsubscribed: recorded before the
    /// new one is sent, so a crash never loses the old id.
    #[serde(default)]
    pub retired: Vec<i64>,
}

impl SubscriptionRecord {
    /// Every Peoplevox id this record knows of: its own and the retired ones.
    pub fn ids(&self) -> Vec<i64> {
        self.id.iter().chain(&self.retired).copied().collect()
    }

    /// JSON for the store.
    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// A record with the version that guards writing it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The name (sort key).
    pub name: String,
    /// The record.
    pub record: SubscriptionRecord,
    /// Its state-store version.
    pub version: u64,
}

/// Every record, by name. A record that does not parse is an error naming it, not a silent
/// skip: it may hold the only copy of a subscription id.
pub async fn load_all(state: &dyn StateStore) -> Result<Vec<Stored>, StoreError> {
    let items = state.query(RECORD_PK, MAX_RECORDS).await?;
    items
        .into_iter()
        .map(|(name, item)| {
            let record = serde_json::from_str(&item.data)
                .map_err(|e| StoreError::Corrupt(format!("subscription record `{name}`: {e}")))?;
            Ok(Stored {
                name,
                record,
                version: item.version,
            })
        })
        .collect()
}
