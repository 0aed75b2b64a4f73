//! `POST /token` (RFC 6749 §3.2).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::{ClientId, GrantType};
use crate::oauth::{ErrorCode, OAuthError, grants};
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
    let (grant, response) = match grant_type {
        "client_credentials" => (
            GrantType::ClientCredentials,
            grants::client_credentials::grant(state, &client, &form.params).await?,
        ),
        "authorization_code" => (
            GrantType::AuthorizationCode,
            grants::authorization_code::grant(state, &client, &form.params, &form.ip).await?,
        ),
        "refresh_token" => (
            GrantType::RefreshToken,
            grants::refresh_token::grant(state, &client, &form.params, &form.ip).await?,
        ),
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "supported grant types: authorization_code, client_credentials, refresh_token",
            ));
        }
    };
    state
        .metrics
        .token_issued(grant.as_str(), &client.client_id.0);
    state.audit.token_issued(&client.client_id.0, grant);
    let mut response = Json(response).into_response();
    no_store(&mut response);
    crate::http::cors::for_client(&client, form.origin.as_deref(), &mut response);
    Ok(response)
}
