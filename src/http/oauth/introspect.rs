//! `POST /introspect` (RFC 7662 §2).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::oauth::{OAuthError, client_auth, introspection};

pub async fn introspect(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let presented = client_auth::presented(form.authorization.as_deref(), &form.params)?;
    let caller = client_auth::authenticate(&state, presented).await?;
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
