//! `POST /revoke` (RFC 7009 §2).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::ClientId;
use crate::oauth::{OAuthError, revocation};
use crate::service::limits::Limit;

pub async fn revoke(State(state): State<AppState>, form: OAuthForm) -> Response {
    let mut caller = None;
    let result = revoke_token(&state, &form, &mut caller).await;
    answer(result, caller)
}

async fn revoke_token(
    state: &AppState,
    form: &OAuthForm,
    caller: &mut Option<ClientId>,
) -> Result<Response, OAuthError> {
    let client = authenticate(state, form, "revoke", caller).await?;
    limit(state, Limit::RevokePerClient, &client.client_id.0)?;
    let token = form.params.require("token")?;
    revocation::revoke(state, &client, token, &form.ip).await?;
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    crate::http::cors::for_client(&client, form.origin.as_deref(), &mut response);
    Ok(response)
}
