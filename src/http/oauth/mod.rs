pub mod error;
pub mod introspect;
pub mod revoke;
pub mod token;

use std::sync::Arc;

use super::AppState;
use super::extract::OAuthForm;
use crate::model::{AuditEvent, Client, Outcome};
use crate::oauth::{ErrorCode, OAuthError, client_auth};
use crate::service::audit::kind;
use crate::service::limits::Limit;

/// Client authentication (RFC 6749 §2.3) behind the failure limit: a client id and IP that
/// failed too often get 429 until their allowance refills, before any secret is checked.
/// Failures are audited with the `endpoint` they happened at.
pub async fn authenticate(
    state: &AppState,
    form: &OAuthForm,
    endpoint: &'static str,
) -> Result<Arc<Client>, OAuthError> {
    let presented = client_auth::presented(form.authorization.as_deref(), &form.params)?;
    let id = presented
        .as_ref()
        .map(|p| p.client_id.clone())
        .unwrap_or_default();
    if let Err(wait) = state.limits.client_blocked(&id, &form.ip) {
        state.metrics.rate_limited("client_auth_failures");
        return Err(OAuthError::rate_limited(wait));
    }
    match client_auth::authenticate(state, presented).await {
        Err(e) if e.code == ErrorCode::InvalidClient => {
            state.limits.client_failed(&id, &form.ip);
            let mut event =
                AuditEvent::new(kind::CLIENT_AUTH_FAILED, state.now(), Outcome::Failure)
                    .ip(form.ip.clone())
                    .detail(serde_json::json!({ "endpoint": endpoint }));
            if !id.is_empty() {
                event = event.actor(id.clone()).client(id);
            }
            state.audit.record(event);
            Err(e)
        }
        other => other,
    }
}

/// A configured limit on successful traffic (off unless set).
pub fn limit(state: &AppState, limit: Limit, key: &str) -> Result<(), OAuthError> {
    state
        .limits
        .check(limit, key)
        .map_err(OAuthError::rate_limited)
}
