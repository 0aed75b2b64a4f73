//! Management of resources, clients and keys, with their validation: the one place the CLI and
//! the HTTP handlers (and later the console and admin API) call. No axum types here.

pub mod admin;
pub mod audit;
pub mod clients;
pub mod keys;
pub mod limits;
pub mod lockouts;
pub mod resources;
pub mod sign_in;
pub mod user_claims;
pub mod users;

use crate::error::AppError;
use crate::model::{Actor, AuditEvent};
use crate::state::Core;
use crate::store::StoreError;

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
        crate::store::used_jtis::purge(&self.db, now).await?;
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
