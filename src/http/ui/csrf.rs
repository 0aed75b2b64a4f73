//! CSRF protection of the pages' forms (OWASP CSRF Prevention Cheat Sheet, "Synchronizer Token
//! Pattern"): one random token per session, sent back in every form as `csrf` and compared in
//! constant time. [`CsrfForm`] is the only way a page handler reads a posted form, so a new form
//! cannot forget the check.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::error::PageError;
use crate::crypto::{constant_time_eq, random};
use crate::http::extract::is_form;

const CSRF: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, PageError> {
    if let Some(t) = session.get::<String>(CSRF).await? {
        return Ok(t);
    }
    let token = random::token::<32>();
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// Drops the session's CSRF token at sign-in, so that a token issued before it (to the signed-out
/// page, or planted by an attacker: OWASP CSRF Prevention Cheat Sheet, "Login CSRF") is no
/// good afterwards; the next form gets a fresh one from [`csrf_token`].
pub async fn rotate_csrf(session: &Session) -> Result<(), PageError> {
    session.remove::<String>(CSRF).await?;
    Ok(())
}

/// Checks a submitted token against the session's, in constant time; a mismatch is a 403 page.
pub async fn verify_csrf(session: &Session, submitted: Option<&str>) -> Result<(), PageError> {
    let expected = session.get::<String>(CSRF).await?;
    match (expected, submitted) {
        (Some(e), Some(s)) if constant_time_eq(e.as_bytes(), s.as_bytes()) => Ok(()),
        _ => Err(PageError::csrf()),
    }
}

/// A posted `application/x-www-form-urlencoded` form whose `csrf` field matches the session's
/// token; anything else is refused with a page (403 for the token) before the handler runs.
pub struct CsrfForm<T>(pub T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        if !is_form(&req) {
            return Err(PageError::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The form must be sent as application/x-www-form-urlencoded.",
            ));
        }
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(|(_, why)| PageError::internal(why))?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|r| PageError::status(r.status(), "invalid_request", r.body_text()))?;
        let submitted = url::form_urlencoded::parse(&body)
            .find(|(name, _)| name == CSRF)
            .map(|(_, value)| value);
        verify_csrf(&session, submitted.as_deref()).await?;
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| PageError::bad_request(format!("The form could not be read: {e}")))
    }
}
