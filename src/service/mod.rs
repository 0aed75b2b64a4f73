//! Management of resources, clients and keys, with their validation: the one place the CLI and
//! the HTTP handlers (and later the console and admin API) call. No axum types here.

pub mod admin;
pub mod audit;
mod cache;
pub mod clients;
pub mod keys;
pub mod limits;
pub mod lockouts;
pub mod resources;
pub mod sign_in;
pub mod user_claims;
pub mod users;

use std::sync::Arc;

pub use cache::Cache;
pub use keys::KeyStore;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::master_key::Keyring;
use crate::crypto::secrets::SecretHasher;
use crate::error::AppError;
use crate::model::{Actor, AuditEvent, Client, Resource};
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

    /// The browser-session records, bounded by the configured absolute session lifetime.
    pub fn session_store(&self) -> crate::store::session_store::DbSessionStore {
        let absolute = i64::from(self.config.sessions.absolute_hours) * 3600;
        crate::store::session_store::DbSessionStore::new(
            self.db.clone(),
            self.clock.clone(),
            absolute,
        )
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

impl Core {
    /// The audit line of an admin change, with the object as it now stands (no secrets: the
    /// model types skip them when serialised).
    pub(crate) fn audit_change(
        &self,
        actor: &Actor,
        kind: &str,
        target: &str,
        object: &impl serde::Serialize,
    ) -> AuditEvent {
        let event = actor.event(kind, self.now(), target);
        match serde_json::to_value(object) {
            Ok(detail) => event.detail(detail),
            Err(_) => event,
        }
    }

    /// Removes what can no longer matter: expired revocations, sessions, codes, refresh-token
    /// families, shared rate-limit windows, failed-login counters past their reset period and
    /// audit events past `audit.retention_days`. Safe
    /// on several instances at once (plain deletes).
    pub async fn purge_expired(&self) -> Result<(), StoreError> {
        let now = self.now();
        crate::store::revocations::purge_expired(&self.db, now).await?;
        crate::store::sessions::purge_expired(&self.db, now).await?;
        crate::store::codes::purge(&self.db, now).await?;
        crate::store::refresh_tokens::purge(&self.db, now).await?;
        crate::store::rate_limits::purge(&self.db, now).await?;
        crate::store::login_failures::purge(&self.db, now - lockouts::RESET_AFTER, now).await?;
        let retention = i64::from(self.config.audit.retention_days) * 86_400;
        crate::store::audit::purge_before(&self.db, now - retention).await?;
        Ok(())
    }
}

/// What a management operation can refuse, in words an admin can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] AppError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(AppError::Store(e))
    }
}

impl From<crate::crypto::CryptoError> for ServiceError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        ServiceError::Internal(AppError::Crypto(e))
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        field,
        message: message.into(),
    }
}
