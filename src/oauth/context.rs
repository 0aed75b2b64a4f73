//! What the protocol (`oauth/`, `oidc/`) runs on: the store, the signing and master keys, the
//! clock, the issuer's configuration, the client-secret hasher and the audit trail, with the read-through
//! caches of clients and resources. Nothing of the management layer: the application state
//! (`state::Core`) holds one of these and adds what people and operators need (password
//! hashing, rate limits, request ids).

use std::sync::Arc;

use super::keys::KeyStore;
use crate::auditor::Auditor;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::master_key::Keyring;
use crate::crypto::secrets::SecretHasher;
use crate::metrics::Metrics;
use crate::model::{Client, Resource, User};
use crate::store::cache::Cache;
use crate::store::{Db, StoreError};

/// The protocol's context. Built once by `Core::open`; every protocol function borrows it.
#[derive(Debug)]
pub struct Protocol {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub keys: KeyStore,
    /// The master keys: they seal signing keys and refresh-token successors, and key the
    /// secret hasher.
    pub keyring: Keyring,
    /// Hashes and checks client secrets (keyed by the master key).
    pub hasher: SecretHasher,
    /// Security events, written in the background.
    pub audit: Auditor,
    pub metrics: Metrics,
    pub clients: Cache<Client>,
    pub resources: Cache<Resource>,
}

impl Protocol {
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

    /// The user a token or a code is about, as stored now (a disabled user included: the caller
    /// decides what that means).
    pub async fn user_by_sub(&self, sub: &str) -> Result<Option<User>, StoreError> {
        Ok(crate::store::users::by_sub(&self.db, sub)
            .await?
            .map(|s| s.user))
    }
}
