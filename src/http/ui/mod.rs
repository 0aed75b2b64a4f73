//! Browser pages: the authorization endpoint, sign-in and consent. Server-rendered (askama),
//! no inline script, and every page refuses framing and caching (RFC 9700 §4.16).

pub mod authorize;
pub mod consent;
pub mod login;
pub mod logout;
pub mod statics;

use std::collections::HashMap;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::log::{ErrorCause, RequestOutcome, tag_outcome};
use crate::crypto::{constant_time_eq, random};
use crate::oauth::authorize::{AuthorizationRequest, AuthorizeError, ResponseMode, Target};

/// Session keys.
pub const SIGNED_IN: &str = "signed_in";
const CSRF: &str = "csrf";
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
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => secure_page(
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
        ),
        Err(e) => internal(format!("template: {e}")),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A readable error page (never a redirect).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = if status.is_server_error() {
        "Something went wrong"
    } else {
        "This request cannot be completed"
    };
    render(status, &ErrorPage { title, message })
}

/// The raw parameters of a browser endpoint that takes both GET and POST (OIDC Core §3.1.2.1):
/// the form body of a POST, else the query string.
pub async fn request_parameters(
    req: axum::extract::Request,
) -> Result<axum::body::Bytes, Response> {
    if req.method() == axum::http::Method::POST {
        axum::body::to_bytes(req.into_body(), crate::http::extract::BODY_LIMIT)
            .await
            .map_err(|e| match crate::http::extract::BodyFailure::of(&e) {
                crate::http::extract::BodyFailure::TooLarge => {
                    error_page(StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.")
                }
                crate::http::extract::BodyFailure::TooSlow => error_page(
                    StatusCode::REQUEST_TIMEOUT,
                    "The request took too long to arrive. Please try again.",
                ),
                crate::http::extract::BodyFailure::Broken => {
                    error_page(StatusCode::BAD_REQUEST, "The request could not be read.")
                }
            })
    } else {
        let query = req.uri().query().unwrap_or_default();
        Ok(axum::body::Bytes::copy_from_slice(query.as_bytes()))
    }
}

/// A 429 page with `Retry-After`.
pub fn too_many(seconds: u64, message: &str) -> Response {
    let mut response = error_page(StatusCode::TOO_MANY_REQUESTS, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A generic 500 page; the cause goes to the log only.
pub fn internal(cause: impl std::fmt::Display) -> Response {
    let page = ErrorPage {
        title: "Something went wrong",
        message: "Please try again in a moment.",
    };
    let mut response = match page.render() {
        Ok(html) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    response
        .extensions_mut()
        .insert(ErrorCause(cause.to_string()));
    secure_page(response)
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, Response> {
    if let Some(t) = session.get::<String>(CSRF).await.map_err(internal)? {
        return Ok(t);
    }
    let token = random::token::<32>();
    session.insert(CSRF, &token).await.map_err(internal)?;
    Ok(token)
}

/// Drops the session's CSRF token at sign-in, so that a token issued before it (to the signed-out
/// page, or planted by an attacker: OWASP CSRF Prevention Cheat Sheet, "Login CSRF") is no
/// good afterwards; the next form gets a fresh one from [`csrf_token`].
pub async fn rotate_csrf(session: &Session) -> Result<(), Response> {
    session
        .remove::<String>(CSRF)
        .await
        .map(drop)
        .map_err(internal)
}

/// Checks a form's CSRF token against the session's, in constant time; a mismatch is a 403 page.
pub async fn check_csrf(session: &Session, submitted: Option<&str>) -> Result<(), Response> {
    let expected = session.get::<String>(CSRF).await.map_err(internal)?;
    match (expected, submitted) {
        (Some(e), Some(s)) if constant_time_eq(e.as_bytes(), s.as_bytes()) => Ok(()),
        _ => Err(error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )),
    }
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
) -> Result<String, Response> {
    let mut all: HashMap<String, Pending> = session
        .get(PENDING)
        .await
        .map_err(internal)?
        .unwrap_or_default();
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
    session.insert(PENDING, &all).await.map_err(internal)?;
    Ok(id)
}

/// The parked request, or a page saying it expired.
pub async fn parked(session: &Session, id: Option<&str>) -> Result<AuthorizationRequest, Response> {
    let all: HashMap<String, Pending> = session
        .get(PENDING)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    id.and_then(|id| all.get(id))
        .map(|p| p.request.clone())
        .ok_or_else(|| {
            error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired or was already completed. Return to the application and start again.",
            )
        })
}

pub async fn unpark(session: &Session, id: &str) -> Result<(), Response> {
    let mut all: HashMap<String, Pending> = session
        .get(PENDING)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    all.remove(id);
    session.insert(PENDING, &all).await.map_err(internal)?;
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
pub fn respond(target: &Target, issuer: &str, mut fields: Vec<(&'static str, String)>) -> Response {
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
            secure_page(Redirect::to(&location).into_response())
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
pub fn authorize_error(e: AuthorizeError, issuer: &str) -> Response {
    match e {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect {
            target,
            error,
            description,
        } => tag_outcome(
            respond(
                &target,
                issuer,
                vec![
                    ("error", error.as_str().to_owned()),
                    ("error_description", description.into_owned()),
                ],
            ),
            RequestOutcome(error.as_str()),
        ),
        AuthorizeError::Internal(cause) => internal(cause),
    }
}
