//! The audit trail as people read it: stored events by filter (CLI, console, admin API) and the
//! names shown beside their ids ([`names`]). Events are written by [`crate::auditor`].

pub mod names;

pub use crate::auditor::SYSTEM;

use crate::model::{AuditFilter, StoredEvent};
use crate::state::Core;
use crate::store;

use super::ServiceError;

impl Core {
    /// Stored events matching `filter`, newest first: at most `limit` (1–10000) with an id
    /// below `before`.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, ServiceError> {
        if !(1..=10_000).contains(&limit) {
            return Err(super::invalid("limit", "must be between 1 and 10000"));
        }
        Ok(store::audit::list(&self.db, filter, before, limit).await?)
    }
}
