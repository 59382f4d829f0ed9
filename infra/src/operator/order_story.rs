//! An order's story as operators read it (`ctpvx audit order`, the console's Orders page): the
//! order named by the number people see or by its commercetools id, and its audit entries.

use ctpvx_shared::app::Stores;
use ctpvx_shared::flows::order_export::order_id_by_number;
use ctpvx_shared::store::{AuditEntry, StoreError};

/// Entries of one order read at most: the newest.
pub const STORY_LIMIT: usize = 1000;

/// The commercetools id `number_or_id` names (an order number through the order-number index,
/// else the id itself), and that order's newest audit entries, oldest first.
pub async fn order_story(
    stores: &Stores,
    number_or_id: &str,
) -> Result<(String, Vec<AuditEntry>), StoreError> {
    let order_id = order_id_by_number(stores.state.as_ref(), number_or_id)
        .await?
        .unwrap_or_else(|| number_or_id.to_string());
    let entries = stores
        .audit
        .list_recent(&format!("order#{order_id}"), STORY_LIMIT)
        .await?;
    Ok((order_id, entries))
}
