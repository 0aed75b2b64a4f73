//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0. With a valid id_token_hint the
//! session ends at once; without one the user confirms on a CSRF-protected page. Ending the
//! session revokes the refresh tokens bound to it (not offline ones).

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{
    SIGNED_IN, check_csrf, csrf_token, error_page, internal, render, request_parameters,
    secure_page,
};
use crate::http::AppState;
use crate::oauth::authorize::decision::SignedIn;
use crate::oauth::params::Params;
use crate::oidc::id_token::IdTokenHint;
use crate::store::refresh_tokens;

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

/// Where to send the browser afterwards, checked against the client's registration.
struct Destination {
    uri: String,
    state: Option<String>,
}

pub async fn logout(State(state): State<AppState>, session: Session, req: Request) -> Response {
    let raw = match request_parameters(req).await {
        Ok(raw) => raw,
        Err(page) => return page,
    };
    let Ok(params) = Params::parse(&raw) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The sign-out request is malformed.",
        );
    };
    // id_token_hint: our signature and issuer; expiry tolerated (RP-Initiated Logout §2).
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(h) => match IdTokenHint::verify(&state, h) {
            Some(hint) => Some(hint),
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The id_token_hint is not a valid ID token of this server.",
                );
            }
        },
    };
    let client_id = match (params.get("client_id"), &hint) {
        (Some(c), Some(h)) if c != h.aud => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "client_id does not match the id_token_hint.",
            );
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, Some(h)) => Some(h.aud.clone()),
        (None, None) => None,
    };
    let destination = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match client_id.as_deref() {
                Some(id) => match state.cached_client(id).await {
                    Ok(c) => c,
                    Err(e) => return internal(e),
                },
                None => None,
            };
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)) {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The post_logout_redirect_uri is not registered for this application.",
                );
            }
            Some(Destination {
                uri: uri.to_owned(),
                state: params.get("state").map(str::to_owned),
            })
        }
    };
    // A hint about someone other than the signed-in user proves nothing: ask instead.
    let signed_in = match session.get::<SignedIn>(SIGNED_IN).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let hint_matches = match (&hint, &signed_in) {
        (Some(h), Some(s)) => h.sub == s.sub,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let confirmed = params.get("confirm") == Some("yes");
    if confirmed && let Err(page) = check_csrf(&session, params.get("csrf")).await {
        return page;
    }
    if !hint_matches && !confirmed {
        let csrf = match csrf_token(&session).await {
            Ok(t) => t,
            Err(page) => return page,
        };
        return render(
            StatusCode::OK,
            &ConfirmPage {
                csrf: &csrf,
                client_id: client_id.as_deref().unwrap_or_default(),
                post_logout_redirect_uri: destination
                    .as_ref()
                    .map(|d| d.uri.as_str())
                    .unwrap_or_default(),
                state: destination
                    .as_ref()
                    .and_then(|d| d.state.as_deref())
                    .unwrap_or_default(),
            },
        );
    }
    if let Err(response) = end_session(&state, &session).await {
        return response;
    }
    match destination {
        Some(d) => {
            let mut url = d.uri;
            if let Some(s) = d.state {
                let sep = if url.contains('?') { '&' } else { '?' };
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", &s)
                    .finish();
                url = format!("{url}{sep}{query}");
            }
            secure_page(Redirect::to(&url).into_response())
        }
        None => render(StatusCode::OK, &SignedOutPage),
    }
}

/// Ends the browser session and revokes the refresh tokens bound to it.
async fn end_session(state: &AppState, session: &Session) -> Result<(), Response> {
    let signed_in = session.get::<SignedIn>(SIGNED_IN).await.map_err(internal)?;
    if let Some(s) = signed_in {
        refresh_tokens::revoke_session(&state.db, &s.sid, state.now())
            .await
            .map_err(internal)?;
        tracing::info!("signed out");
    }
    session.flush().await.map_err(internal)
}
