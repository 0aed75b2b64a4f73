//! `POST /introspect` (RFC 7662 §2).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::error::no_store;
use super::{answer, authenticate, limit};
use crate::http::AppState;
use crate::http::extract::OAuthForm;
use crate::model::Client;
use crate::oauth::{OAuthError, introspection};
use crate::service::limits::Limit;

pub async fn introspect(State(state): State<AppState>, form: OAuthForm) -> Response {
    match authenticate(&state, &form, "introspect").await {
        Ok(client) => answer(answer_introspection(&state, &form, &client).await, &client),
        Err(refused) => refused.into_response(),
    }
}

async fn answer_introspection(
    state: &AppState,
    form: &OAuthForm,
    client: &Client,
) -> Result<Response, OAuthError> {
    limit(state, Limit::IntrospectPerClient, &client.client_id.0)?;
    // RFC 7662 §2.1: the protected resource must authenticate; public clients cannot.
    if client.public {
        return Err(OAuthError::invalid_client());
    }
    let token = form.params.require("token")?;
    let result = introspection::introspect(state, client, token).await?;
    let mut response = Json(result).into_response();
    no_store(&mut response);
    Ok(response)
}
