//! `POST /introspect` (RFC 7662 §2).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::oauth::{OAuthError, introspection};
use crate::service::limits::Limit;

pub async fn introspect(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let caller = authenticate(&state, &form, "introspect").await?;
    limit(&state, Limit::IntrospectPerClient, &caller.client_id.0)?;
    // RFC 7662 §2.1: the protected resource must authenticate; public clients cannot.
    if caller.public {
        return Err(OAuthError::invalid_client());
    }
    let token = form.params.require("token")?;
    let answer = introspection::introspect(&state, &caller, token).await?;
    let mut response = Json(answer).into_response();
    no_store(&mut response);
    Ok(response)
}
