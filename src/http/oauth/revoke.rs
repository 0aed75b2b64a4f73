//! `POST /revoke` (RFC 7009 §2).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::Client;
use crate::oauth::{OAuthError, revocation};
use crate::service::limits::Limit;

pub async fn revoke(State(state): State<AppState>, form: OAuthForm) -> Response {
    match authenticate(&state, &form, "revoke").await {
        Ok(client) => answer(revoke_token(&state, &form, &client).await, &client),
        Err(refused) => refused.into_response(),
    }
}

async fn revoke_token(
    state: &AppState,
    form: &OAuthForm,
    client: &Client,
) -> Result<Response, OAuthError> {
    limit(state, Limit::RevokePerClient, &client.client_id.0)?;
    let token = form.params.require("token")?;
    revocation::revoke(state, client, token, &form.ip).await?;
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    crate::http::cors::for_client(client, form.origin.as_deref(), &mut response);
    Ok(response)
}
