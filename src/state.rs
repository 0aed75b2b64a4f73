//! The composition root: the application state every request and CLI command runs on (config,
//! database, keys, clock, caches, limits, audit), built once by `Core::open` (app.rs) and
//! passed down; no globals. The protocol (`oauth/`, `oidc/`), the handlers and the management
//! operations of `service/` all take it from here.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::master_key::Keyring;
use crate::crypto::secrets::SecretHasher;
use crate::model::{Client, Resource};
use crate::service::{Cache, KeyStore, audit, limits};
use crate::store::session_store::DbSessionStore;
use crate::store::{Db, StoreError};

/// Everything a request or a CLI command needs: config, database, keys and clock. No globals.
#[derive(Debug)]
pub struct Core {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub keyring: Keyring,
    pub hasher: SecretHasher,
    pub clients: Cache<Client>,
    pub resources: Cache<Resource>,
    /// Browser origins known to be registered by some client (CORS preflights).
    pub origins: Cache<()>,
    pub limits: limits::Limits,
    pub metrics: crate::metrics::Metrics,
    /// Request ids for the access log.
    pub request_ids: crate::crypto::random::Sequence,
    pub keys: KeyStore,
    /// argon2id for human passwords, on its own bounded thread pool.
    pub passwords: crate::crypto::password::PasswordHasher,
    /// Security events, written in the background.
    pub audit: audit::Auditor,
}

impl Core {
    pub fn issuer(&self) -> &str {
        self.config.issuer()
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A client as of at most `clients.cache_ttl_ms` ago.
    pub async fn cached_client(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        // No client has a longer id: answered without a lookup, and never a cache key.
        if id.len() > crate::model::limits::CLIENT_ID {
            return Ok(None);
        }
        let now = self.clock.now_millis();
        self.clients
            .get(id, now, || crate::store::clients::get(&self.db, id))
            .await
    }

    /// Readiness: the database answers a query.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// The metrics exposition with the pool and cache gauges read now.
    pub fn metrics_exposition(&self) -> Result<String, std::fmt::Error> {
        let (size, idle) = self.db.pool_stats();
        let caches = [
            ("clients", self.clients.entries()),
            ("resources", self.resources.entries()),
            ("origins", self.origins.entries()),
        ];
        self.metrics.encode(size, idle, &caches)
    }

    /// The browser-session records, bounded by the configured absolute session lifetime.
    pub fn session_store(&self) -> DbSessionStore {
        let absolute = i64::from(self.config.sessions.absolute_hours) * 3600;
        DbSessionStore::new(self.db.clone(), self.clock.clone(), absolute)
    }

    /// A resource as of at most `clients.cache_ttl_ms` ago.
    pub async fn cached_resource(
        &self,
        identifier: &str,
    ) -> Result<Option<Arc<Resource>>, StoreError> {
        let now = self.clock.now_millis();
        self.resources
            .get(identifier, now, || {
                crate::store::resources::get(&self.db, identifier)
            })
            .await
    }
}
