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

/// A request refused before its client was authenticated, with the registered client it named
/// (when it named one) for the access log. An unknown id is the caller's free text: not logged.
#[derive(Debug)]
pub struct Unauthenticated {
    pub error: OAuthError,
    pub named: Option<ClientId>,
}

impl From<OAuthError> for Unauthenticated {
    fn from(error: OAuthError) -> Self {
        Self { error, named: None }
    }
}

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        tag_client(self.error.into_response(), self.named)
    }
}

/// Client authentication (RFC 6749 §2.3) behind the failure limit: a client id and IP that
/// failed too often get 429 until their allowance refills, before any secret is checked.
/// Failures are audited with the `endpoint` they happened at (sampled and counted, so a flood
/// does not add a row per request) and carry the registered client that was named.
pub async fn authenticate(
    state: &AppState,
    form: &OAuthForm,
    endpoint: &'static str,
) -> Result<Arc<Client>, Unauthenticated> {
    let presented = client_auth::presented(form.authorization.as_deref(), &form.params)?;
    let id = presented
        .as_ref()
        .map(|p| p.client_id.clone())
        .unwrap_or_default();
    if let Err(wait) = state.limits.client_blocked(&id, &form.ip) {
        state.metrics.rate_limited("client_auth_failures");
        return Err(Unauthenticated {
            error: OAuthError::rate_limited(wait),
            named: registered(state, &id).await,
        });
    }
    match client_auth::authenticate(state, presented).await {
        Ok(client) => Ok(client),
        Err(error) if error.code == ErrorCode::InvalidClient => {
            state.limits.client_failed(&id, &form.ip);
            let named = registered(state, &id).await;
            state.audit.client_auth_failed(endpoint, &id, &form.ip);
            Err(Unauthenticated { error, named })
        }
        Err(error) => Err(error.into()),
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

/// The answer to an authenticated client's request, tagged with that client for the access log.
pub fn answer(result: Result<Response, OAuthError>, client: &Client) -> Response {
    tag_client(
        result.unwrap_or_else(IntoResponse::into_response),
        Some(client.client_id.clone()),
    )
}

/// A configured limit on successful traffic (off unless set).
pub fn limit(state: &AppState, limit: Limit, key: &str) -> Result<(), OAuthError> {
    state
        .limits
        .check(limit, key)
        .map_err(OAuthError::rate_limited)
}
