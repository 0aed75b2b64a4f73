//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0. The rules are in
//! [`crate::oidc::logout`]; here they become pages: with a valid id_token_hint the session ends
//! at once, without one the user confirms on a CSRF-protected page.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{
    PageError, csrf_token, render, request_parameters, secure_page, signed_in, verify_csrf,
};
use crate::http::AppState;
use crate::oauth::params::Params;
use crate::oidc::logout::{self, Decision, LogoutError, LogoutRequest};

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    client_id: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage;

impl From<LogoutError> for PageError {
    fn from(e: LogoutError) -> Self {
        match e {
            LogoutError::Invalid(message) => PageError::bad_request(message),
            LogoutError::Internal(cause) => PageError::internal(cause),
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    req: Request,
) -> Result<Response, PageError> {
    let raw = request_parameters(req).await?;
    let params = Params::parse(&raw)
        .map_err(|_| PageError::bad_request("The sign-out request is malformed."))?;
    let request = logout::validate(&state, &params).await?;
    let signed_in = signed_in(&session).await?;
    let confirmed = params.get("confirm") == Some("yes");
    if confirmed {
        verify_csrf(&session, params.get("csrf")).await?;
    }
    match request.decide(signed_in.as_ref(), confirmed) {
        Decision::Confirm => confirm_page(&session, &request).await,
        Decision::SignOut => {
            if let Some(s) = &signed_in {
                logout::end_session(&state, s).await?;
            }
            session.flush().await?;
            match &request.destination {
                Some(d) => Ok(secure_page(Redirect::to(&d.url()).into_response())),
                None => render(StatusCode::OK, &SignedOutPage),
            }
        }
    }
}

/// "Sign out?": the form posts the request back with `confirm=yes` and the CSRF token.
async fn confirm_page(session: &Session, request: &LogoutRequest) -> Result<Response, PageError> {
    let csrf = csrf_token(session).await?;
    let destination = request.destination.as_ref();
    render(
        StatusCode::OK,
        &ConfirmPage {
            csrf: &csrf,
            client_id: request.client_id.as_deref().unwrap_or_default(),
            post_logout_redirect_uri: destination.map(|d| d.uri.as_str()).unwrap_or_default(),
            state: destination
                .and_then(|d| d.state.as_deref())
                .unwrap_or_default(),
        },
    )
}
