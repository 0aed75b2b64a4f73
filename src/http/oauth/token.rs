//! `POST /token` (RFC 6749 §3.2).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::ClientId;
use crate::oauth::{OAuthError, grants};
use crate::service::limits::Limit;

pub async fn token(State(state): State<AppState>, form: OAuthForm) -> Response {
    let mut caller = None;
    let result = issue(&state, &form, &mut caller).await;
    answer(result, caller)
}

async fn issue(
    state: &AppState,
    form: &OAuthForm,
    caller: &mut Option<ClientId>,
) -> Result<Response, OAuthError> {
    limit(state, Limit::TokenPerIp, &form.ip)?;
    let grant_type = form.params.require("grant_type")?;
    let client = authenticate(state, form, "token", caller).await?;
    limit(state, Limit::TokenPerClient, &client.client_id.0)?;
    // Parsed after authentication: a caller that fails it gets `invalid_client` whatever grant
    // it named.
    let grant = grants::grant_type(grant_type)?;
    let response = grants::issue(state, &client, grant, &form.params, &form.ip).await?;
    state
        .metrics
        .token_issued(grant.as_str(), &client.client_id.0);
    state.audit.token_issued(&client.client_id.0, grant);
    let mut response = Json(response).into_response();
    no_store(&mut response);
    crate::http::cors::for_client(&client, form.origin.as_deref(), &mut response);
    Ok(response)
}
