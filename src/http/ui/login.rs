//! The sign-in page: one generic error whatever was wrong, the same timing for unknown users
//! (the password service runs a dummy hash), a new session id at sign-in.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::proceed;
use super::{
    SIGNED_IN, check_csrf, csrf_token, error_page, internal, parked, render, too_many, unpark,
};
use crate::crypto::random;
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::log::{Outcome, tag_client, tag_outcome};
use crate::model::ClientId;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::authorize::decision::SignedIn;
use crate::service::limits::Limit;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    client_name: &'a str,
    request: &'a str,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct RequestRef {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    request: Option<String>,
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

const GENERIC_ERROR: &str = "Incorrect username or password.";

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RequestRef>,
) -> Response {
    let request = match parked(&session, q.request.as_deref()).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let caller = Some(ClientId(request.client_id.clone()));
    tag_client(show_page(&state, &session, &q, &request).await, caller)
}

async fn show_page(
    state: &AppState,
    session: &Session,
    q: &RequestRef,
    request: &AuthorizationRequest,
) -> Response {
    let client = match state.cached_client(&request.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The application is no longer registered.",
            );
        }
        Err(e) => return internal(e),
    };
    let csrf = match csrf_token(session).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    render(
        StatusCode::OK,
        &LoginPage {
            client_name: &client.name,
            request: q.request.as_deref().unwrap_or_default(),
            csrf: &csrf,
            username: request.login_hint.as_deref().unwrap_or_default(),
            error: None,
        },
    )
}

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(page) = check_csrf(&session, form.csrf.as_deref()).await {
        return page;
    }
    if let Err(wait) = state.limits.check(Limit::LoginPerIp, &ip) {
        state.metrics.rate_limited(Limit::LoginPerIp.name());
        return too_many(
            wait,
            "Too many sign-in attempts from your network. Please wait a moment and try again.",
        );
    }
    // Brute-force protection: the same wait whether or not the account exists.
    let username = form.username.trim();
    match state.login_delay(username, &ip).await {
        Ok(Some(wait)) => {
            state.metrics.login("delayed");
            return too_many(
                u64::try_from(wait).unwrap_or(1),
                &format!("Too many failed sign-in attempts. Try again in {wait} seconds."),
            );
        }
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let request = match parked(&session, form.request.as_deref()).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let caller = Some(ClientId(request.client_id.clone()));
    tag_client(sign_in(&state, &ip, &session, &form, request).await, caller)
}

/// Checks the password of a request whose parked authorization request was found.
async fn sign_in(
    state: &AppState,
    ip: &str,
    session: &Session,
    form: &LoginForm,
    request: AuthorizationRequest,
) -> Response {
    let username = form.username.trim();
    let id = form.request.as_deref().unwrap_or_default();
    let client = match state.cached_client(&request.client_id).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "The application is no longer registered.",
            );
        }
        Err(e) => return internal(e),
    };
    let user = match state.authenticate_user(username, &form.password).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let Some(user) = user else {
        tracing::info!(client_id = %client.client_id, "login failed");
        state.metrics.login("failure");
        if let Err(e) = state.login_failed(username, ip).await {
            return internal(e);
        }
        let csrf = match csrf_token(session).await {
            Ok(t) => t,
            Err(page) => return page,
        };
        let page = render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                client_name: &client.name,
                request: id,
                csrf: &csrf,
                username,
                error: Some(GENERIC_ERROR),
            },
        );
        return tag_outcome(page, Outcome("login_failed"));
    };
    if let Err(e) = state.login_succeeded(username).await {
        return internal(e);
    }
    // A new session id at sign-in defeats session fixation (OWASP Session Management).
    if let Err(e) = session.cycle_id().await {
        return internal(e);
    }
    let signed_in = SignedIn {
        sub: user.sub.clone(),
        auth_time: state.now(),
        sid: random::token::<16>(),
    };
    if let Err(e) = session.insert(SIGNED_IN, &signed_in).await {
        return internal(e);
    }
    tracing::info!(client_id = %client.client_id, "login succeeded");
    state.metrics.login("success");
    if let Err(page) = unpark(session, id).await {
        return page;
    }
    proceed(state, session, &client, request, true).await
}
