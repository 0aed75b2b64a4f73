//! Read-through caches for the rows every token request needs (clients, resources). A write
//! through this instance's services invalidates the entry at once; another instance's write is
//! seen when the entry expires (`clients.cache_ttl_ms`, default 1 s), so a disabled client or an
//! old secret is never served for longer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use crate::store::StoreError;

/// Bounds memory when someone sends many random ids.
const MAX_ENTRIES: usize = 10_000;

/// The value (None: known not to exist) and when the entry expires, in unix milliseconds.
type Entry<V> = (Option<Arc<V>>, i64);

#[derive(Debug)]
pub struct Cache<V> {
    ttl_ms: i64,
    entries: RwLock<HashMap<String, Entry<V>>>,
}

impl<V> Cache<V> {
    pub fn new(ttl_ms: u32) -> Self {
        Self {
            ttl_ms: i64::from(ttl_ms),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The value (or its absence) as of at most `ttl_ms` ago, loading it when needed.
    pub async fn get<F, Fut>(
        &self,
        id: &str,
        now_ms: i64,
        load: F,
    ) -> Result<Option<Arc<V>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, StoreError>>,
    {
        if let Ok(entries) = self.entries.read()
            && let Some((value, expires)) = entries.get(id)
            && now_ms < *expires
        {
            return Ok(value.clone());
        }
        let value = load().await?.map(Arc::new);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (_, expires)| now_ms < *expires);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(id.to_owned(), (value.clone(), now_ms + self.ttl_ms));
        }
        Ok(value)
    }

    /// Entries held (expired ones included until the next insertion past the cap clears them).
    pub fn entries(&self) -> usize {
        self.entries.read().map_or(0, |entries| entries.len())
    }

    pub fn invalidate(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}
