pub mod error;
pub mod introspect;
pub mod revoke;
pub mod token;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::OAuthForm;
use super::log::tag_client;
use crate::model::{Client, ClientId};
use crate::oauth::{ErrorCode, OAuthError, client_auth};
use crate::service::limits::Limit;

/// Client authentication (RFC 6749 §2.3) behind the failure limit: a client id and IP that
/// failed too often get 429 until their allowance refills, before any secret is checked.
/// Failures are audited with the `endpoint` they happened at (sampled and counted, so a flood
/// does not add a row per request). `caller` learns the client for
/// the access log: the authenticated one, or on failure the registered client that was named
/// (an unknown id is the caller's free text: not logged).
pub async fn authenticate(
    state: &AppState,
    form: &OAuthForm,
    endpoint: &'static str,
    caller: &mut Option<ClientId>,
) -> Result<Arc<Client>, OAuthError> {
    let presented = client_auth::presented(form.authorization.as_deref(), &form.params)?;
    let id = presented
        .as_ref()
        .map(|p| p.client_id.clone())
        .unwrap_or_default();
    if let Err(wait) = state.limits.client_blocked(&id, &form.ip) {
        state.metrics.rate_limited("client_auth_failures");
        *caller = registered(state, &id).await;
        return Err(OAuthError::rate_limited(wait));
    }
    match client_auth::authenticate(state, presented).await {
        Ok(client) => {
            *caller = Some(client.client_id.clone());
            Ok(client)
        }
        Err(e) if e.code == ErrorCode::InvalidClient => {
            state.limits.client_failed(&id, &form.ip);
            *caller = registered(state, &id).await;
            state.audit.client_auth_failed(endpoint, &id, &form.ip);
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// The id when it names a registered client (from the client cache, which also remembers
/// unknown ids, so a failure costs no second database read).
async fn registered(state: &AppState, id: &str) -> Option<ClientId> {
    if id.is_empty() {
        return None;
    }
    match state.cached_client(id).await {
        Ok(Some(client)) => Some(client.client_id.clone()),
        _ => None,
    }
}

/// A protocol handler's answer, tagged with the client it was about for the access log.
pub fn answer(result: Result<Response, OAuthError>, caller: Option<ClientId>) -> Response {
    tag_client(result.unwrap_or_else(IntoResponse::into_response), caller)
}

/// A configured limit on successful traffic (off unless set).
pub fn limit(state: &AppState, limit: Limit, key: &str) -> Result<(), OAuthError> {
    state
        .limits
        .check(limit, key)
        .map_err(OAuthError::rate_limited)
}
