//! `GET|POST /userinfo` (OIDC Core §5.3, RFC 6750 §2).

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::extract::{BODY_LIMIT, BodyFailure};
use crate::http::log::tag_client;
use crate::http::oauth::error::no_store;
use crate::oauth::OAuthError;
use crate::oauth::params::Params;
use crate::oidc::userinfo;

/// RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
fn challenge() -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tessera\""),
    );
    no_store(&mut r);
    r
}

pub async fn userinfo(State(state): State<AppState>, req: Request) -> Result<Response, OAuthError> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // RFC 6750 §2.3 allows the query, but RFC 9700 §2.5 says tokens must not travel in URLs.
    if let Some(q) = req.uri().query()
        && Params::parse(q.as_bytes()).is_ok_and(|p| p.get("access_token").is_some())
    {
        return Err(OAuthError::invalid_request(
            "access tokens are not accepted in the URL query",
        ));
    }
    let header_token = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
            match v.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_owned())
                }
                _ => return Ok(challenge()),
            }
        }
    };
    let form_token = if req.method() == Method::POST {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|e| {
            let failure = BodyFailure::of(&e);
            OAuthError::invalid_request(failure.message()).with_status(failure.status())
        })?;
        if is_form {
            Params::parse(&body)?.get("access_token").map(str::to_owned)
        } else {
            None
        }
    } else {
        None
    };
    let token = match (header_token, form_token) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the access token was sent in two places",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Ok(challenge()),
    };
    let (claims, client_id) = userinfo::claims(&state, &token).await?;
    let mut response = Json(claims).into_response();
    no_store(&mut response);
    let Some(client) = state.cached_client(&client_id).await? else {
        return Ok(response);
    };
    crate::http::cors::for_client(&client, origin.as_deref(), &mut response);
    // The access-log line names the client the token was issued to.
    Ok(tag_client(response, Some(client.client_id.clone())))
}
