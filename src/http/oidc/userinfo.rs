//! `GET|POST /userinfo` (OIDC Core §5.3, RFC 6750 §2).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::extract::{BearerToken, FormBodyToken};
use crate::http::log::tag_client;
use crate::http::oauth::error::{no_credentials, no_store};
use crate::oauth::OAuthError;
use crate::oidc::userinfo;

/// OIDC Core §5.3.1: the token comes in the `Authorization` header (RFC 6750 §2.1) or in a
/// form-encoded POST body (RFC 6750 §2.2), never both (RFC 6750 §2: one method per request).
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    in_header: Option<BearerToken>,
    FormBodyToken(in_body): FormBodyToken,
) -> Result<Response, OAuthError> {
    let token = match (in_header, in_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the access token was sent in two places",
            ));
        }
        (Some(BearerToken(t)), None) | (None, Some(t)) => t,
        (None, None) => return Ok(no_credentials()),
    };
    let (claims, client) = userinfo::claims(&state, &token).await?;
    let mut response = Json(claims).into_response();
    no_store(&mut response);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    crate::http::cors::for_client(&client, origin, &mut response);
    // The access-log line names the client the token was issued to.
    Ok(tag_client(response, Some(client.client_id.clone())))
}
