//! Browser pages: the authorization endpoint, sign-in, consent and sign-out. Server-rendered
//! (askama), no inline script, and every page refuses framing and caching (RFC 9700 §4.16).
//! Handlers return `Result<Response, PageError>` ([`error`]); posted forms are read through
//! [`CsrfForm`] ([`csrf`]).

pub mod authorize;
pub mod consent;
pub mod csrf;
pub mod error;
pub mod login;
pub mod logout;
pub mod statics;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

pub use self::csrf::{CsrfForm, csrf_token, rotate_csrf, verify_csrf};
pub use self::error::PageError;
use super::AppState;
use super::extract::{BODY_LIMIT, BodyFailure};
use super::log::{RequestOutcome, tag_outcome};
use crate::crypto::random;
use crate::model::Client;
use crate::oauth::authorize::decision::SignedIn;
use crate::oauth::authorize::{AuthorizationRequest, AuthorizeError, ResponseMode, Target};

/// Session keys.
pub use crate::model::SIGNED_IN;
const PENDING: &str = "pending";
/// How many unfinished authorization requests one browser may have at once.
const MAX_PENDING: usize = 8;

/// `default-src 'none'` with our own styles and scripts only: no inline script anywhere.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Headers every page carries: no framing, no sniffing, no caching, no referrer.
pub fn secure_page(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Renders a page; a template failure is an internal error.
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, PageError> {
    let html = page.render()?;
    Ok(secure_page(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    ))
}

/// The raw parameters of a browser endpoint that takes both GET and POST (OIDC Core §3.1.2.1):
/// the form body of a POST, else the query string.
pub async fn request_parameters(
    req: axum::extract::Request,
) -> Result<axum::body::Bytes, PageError> {
    if req.method() == axum::http::Method::POST {
        axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| match BodyFailure::of(&e) {
                BodyFailure::TooLarge => PageError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    "The request is too large.",
                ),
                BodyFailure::TooSlow => PageError::status(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "The request took too long to arrive. Please try again.",
                ),
                BodyFailure::Broken => PageError::bad_request("The request could not be read."),
            })
    } else {
        let query = req.uri().query().unwrap_or_default();
        Ok(axum::body::Bytes::copy_from_slice(query.as_bytes()))
    }
}

/// The signed-in user of this browser, if any.
pub async fn signed_in(session: &Session) -> Result<Option<SignedIn>, PageError> {
    Ok(session.get::<SignedIn>(SIGNED_IN).await?)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    created: i64,
    request: AuthorizationRequest,
}

/// Parks a validated request in the session while the user signs in or consents; returns its id.
pub async fn park(
    session: &Session,
    request: AuthorizationRequest,
    now: i64,
) -> Result<String, PageError> {
    let mut all: HashMap<String, Pending> = session.get(PENDING).await?.unwrap_or_default();
    while all.len() >= MAX_PENDING {
        let oldest = all
            .iter()
            .min_by_key(|(_, p)| p.created)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => all.remove(&k),
            None => break,
        };
    }
    let id = random::token::<16>();
    all.insert(
        id.clone(),
        Pending {
            created: now,
            request,
        },
    );
    session.insert(PENDING, &all).await?;
    Ok(id)
}

/// The parked request, or a page saying it expired.
pub async fn parked(
    session: &Session,
    id: Option<&str>,
) -> Result<AuthorizationRequest, PageError> {
    let mut all: HashMap<String, Pending> = session.get(PENDING).await?.unwrap_or_default();
    id.and_then(|id| all.remove(id))
        .map(|p| p.request)
        .ok_or_else(PageError::request_expired)
}

/// The parked request and its client, which must still be registered and enabled.
pub async fn parked_with_client(
    state: &AppState,
    session: &Session,
    id: Option<&str>,
) -> Result<(AuthorizationRequest, Arc<Client>), PageError> {
    let request = parked(session, id).await?;
    match state.cached_client(&request.client_id).await? {
        Some(client) if !client.disabled => Ok((request, client)),
        _ => Err(PageError::client_gone()),
    }
}

pub async fn unpark(session: &Session, id: &str) -> Result<(), PageError> {
    let mut all: HashMap<String, Pending> = session.get(PENDING).await?.unwrap_or_default();
    all.remove(id);
    session.insert(PENDING, &all).await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(&'static str, String)],
}

/// Sends the answer to the client: a 303 redirect with the parameters in the query, or an
/// auto-submitting form for response_mode=form_post (OAuth 2.0 Form Post Response Mode §2).
/// Every answer carries `iss` (RFC 9207 §2) and the request's `state`.
pub fn respond(
    target: &Target,
    issuer: &str,
    mut fields: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    if let Some(state) = &target.state {
        fields.push(("state", state.clone()));
    }
    fields.push(("iss", issuer.to_owned()));
    match target.response_mode {
        ResponseMode::Query => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            let sep = if target.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            };
            let location = format!("{}{sep}{query}", target.redirect_uri);
            Ok(secure_page(Redirect::to(&location).into_response()))
        }
        ResponseMode::FormPost => render(
            StatusCode::OK,
            &FormPostPage {
                action: &target.redirect_uri,
                fields: &fields,
            },
        ),
    }
}

/// Turns an authorization error into a page, a redirect to the client, or a 500.
pub fn authorize_error(e: AuthorizeError, issuer: &str) -> Result<Response, PageError> {
    match e {
        AuthorizeError::Page(message) => Err(PageError::bad_request(message)),
        AuthorizeError::Redirect {
            target,
            error,
            description,
        } => Ok(tag_outcome(
            respond(
                &target,
                issuer,
                vec![
                    ("error", error.as_str().to_owned()),
                    ("error_description", description.into_owned()),
                ],
            )?,
            RequestOutcome(error.as_str()),
        )),
        AuthorizeError::Internal(cause) => Err(PageError::internal(cause)),
    }
}
