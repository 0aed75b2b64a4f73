//! Internal failures: never a client's fault, never shown to one. Handlers turn them into a
//! generic 500; the cause goes to the log through the error-logging middleware.

use crate::config::ConfigError;
use crate::crypto::CryptoError;
// Re-exported: the layers above the store (handlers) name its failure without reaching into it.
pub use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Startup(String),
}
