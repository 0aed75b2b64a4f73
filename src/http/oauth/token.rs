//! `POST /token` (RFC 6749 §3.2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{Unauthenticated, answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::Client;
use crate::oauth::{OAuthError, grants};
use crate::oidc;
use crate::service::limits::Limit;

pub async fn token(State(state): State<AppState>, form: OAuthForm) -> Response {
    match admit(&state, &form).await {
        Ok(client) => answer(issue(&state, &form, &client).await, &client),
        Err(refused) => refused.into_response(),
    }
}

/// Before any grant: the per-IP limit, a `grant_type` (RFC 6749 §4.1.3, §4.4.2, §6: REQUIRED)
/// and client authentication (RFC 6749 §3.2.1).
async fn admit(state: &AppState, form: &OAuthForm) -> Result<Arc<Client>, Unauthenticated> {
    limit(state, Limit::TokenPerIp, &form.ip)?;
    form.params.require("grant_type")?;
    authenticate(state, form, "token").await
}

async fn issue(
    state: &AppState,
    form: &OAuthForm,
    client: &Client,
) -> Result<Response, OAuthError> {
    limit(state, Limit::TokenPerClient, &client.client_id.0)?;
    // Read after authentication: a caller that fails it gets `invalid_client` whatever grant
    // it named.
    let grant = grants::grant_type(form.params.require("grant_type")?)?;
    let response = oidc::token::issue(state, client, grant, &form.params, &form.ip).await?;
    state
        .metrics
        .token_issued(grant.as_str(), &client.client_id.0);
    state.audit.token_issued(&client.client_id.0, grant);
    let mut response = Json(response).into_response();
    no_store(&mut response);
    crate::http::cors::for_client(client, form.origin.as_deref(), &mut response);
    Ok(response)
}
