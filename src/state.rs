//! The composition root: the application state every request and CLI command runs on, built
//! once by `Core::open` (app.rs) and passed down; no globals. It is the protocol's context
//! ([`Protocol`]: store, keys, clock, issuer, hasher, audit) plus what the people-facing and
//! operating parts add (password hashing, limits, request ids). Protocol
//! code takes `&Protocol`; a `&Core` hands it over by deref, so handlers and services pass the
//! state as it is.

use std::ops::Deref;

use crate::oauth::Protocol;
use crate::service::limits;
use crate::store::StoreError;
use crate::store::cache::Cache;
use crate::store::session_store::DbSessionStore;

/// Everything a request or a CLI command needs. No globals.
#[derive(Debug)]
pub struct Core {
    /// What the protocol runs on; `Core` derefs to it.
    pub protocol: Protocol,
    /// Browser origins known to be registered by some client (CORS preflights).
    pub origins: Cache<()>,
    pub limits: limits::Limits,
    /// Request ids for the access log.
    pub request_ids: crate::crypto::random::Sequence,
    /// argon2id for human passwords, on its own bounded thread pool.
    pub passwords: crate::crypto::password::PasswordHasher,
}

/// A `Core` is the protocol's context with more: field and method access and `&Core` →
/// `&Protocol` coercion go through here.
impl Deref for Core {
    type Target = Protocol;

    fn deref(&self) -> &Protocol {
        &self.protocol
    }
}

impl Core {
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
}
