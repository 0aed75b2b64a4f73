//! `POST /revoke` (RFC 7009 §2).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::oauth::{OAuthError, revocation};
use crate::service::limits::Limit;

pub async fn revoke(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let caller = authenticate(&state, &form, "revoke").await?;
    limit(&state, Limit::RevokePerClient, &caller.client_id.0)?;
    let token = form.params.require("token")?;
    revocation::revoke(&state, &caller, token, &form.ip).await?;
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    crate::http::cors::for_client(&caller, form.origin.as_deref(), &mut response);
    Ok(response)
}
