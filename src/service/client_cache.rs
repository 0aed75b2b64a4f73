//! Client lookups cached in memory. A write through this instance's services invalidates the
//! entry at once; another instance's write is seen when the entry expires (`clients.cache_ttl_ms`,
//! default 1 s), so the cache never serves a disabled client or an old secret for longer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::model::Client;
use crate::store::{Db, StoreError, clients};

/// Bounds memory when someone sends many random client_ids.
const MAX_ENTRIES: usize = 10_000;

/// The client (None: known not to exist) and when the entry expires, in unix milliseconds.
type Entry = (Option<Arc<Client>>, i64);

#[derive(Debug)]
pub struct ClientCache {
    ttl_ms: i64,
    entries: RwLock<HashMap<String, Entry>>,
}

impl ClientCache {
    pub fn new(ttl_ms: u32) -> Self {
        Self {
            ttl_ms: i64::from(ttl_ms),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The client (or its absence) as of at most `ttl_ms` ago.
    pub async fn get(
        &self,
        db: &Db,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        if let Ok(entries) = self.entries.read()
            && let Some((client, expires)) = entries.get(id)
            && now_ms < *expires
        {
            return Ok(client.clone());
        }
        let client = clients::get(db, id).await?.map(Arc::new);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (_, expires)| now_ms < *expires);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(id.to_owned(), (client.clone(), now_ms + self.ttl_ms));
        }
        Ok(client)
    }

    pub fn invalidate(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}
