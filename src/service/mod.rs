//! Management of resources, clients and keys, with their validation: the one place the CLI and
//! the HTTP handlers (and later the console and admin API) call. No axum types here.

mod client_cache;
pub mod clients;
pub mod keys;
pub mod resources;

use std::sync::Arc;

pub use client_cache::ClientCache;
pub use keys::KeyStore;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::master_key::Keyring;
use crate::crypto::secrets::SecretHasher;
use crate::error::AppError;
use crate::store::{Db, StoreError};

/// Everything a request or a CLI command needs: config, database, keys and clock. No globals.
#[derive(Debug)]
pub struct Core {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub keyring: Keyring,
    pub hasher: SecretHasher,
    pub clients: ClientCache,
    pub keys: KeyStore,
}

impl Core {
    pub fn issuer(&self) -> &str {
        self.config.issuer()
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
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
