//! The sign-in page: one generic error whatever was wrong, the same timing for unknown users
//! (the password service runs a dummy hash), a new session id at sign-in.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::proceed;
use super::{
    SIGNED_IN, check_csrf, csrf_token, error_page, internal, parked, render, rotate_csrf,
    secure_page, too_many, unpark,
};
use crate::crypto::random;
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::log::{RequestOutcome, tag_client, tag_outcome};
use crate::model::username::canonical;
use crate::model::{AuditEvent, ClientId, Outcome};
use crate::oauth::authorize::decision::SignedIn;
use crate::service::audit::kind;
use crate::service::limits::Limit;
use crate::service::lockouts::LoginGate;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    client_name: &'a str,
    request: &'a str,
    /// For a console sign-in: where to go afterwards.
    next: &'a str,
    csrf: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct RequestRef {
    request: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    request: Option<String>,
    next: Option<String>,
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

const GENERIC_ERROR: &str = "Incorrect username or password.";
const CONSOLE: &str = "the Tessera admin console";

/// A sign-in either continues a parked authorization request or opens a console page. Only
/// local console paths are accepted as `next`, so the page cannot be used as an open
/// redirector (RFC 9700 §4.11).
fn console_path(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        (*n == "/admin" || n.starts_with("/admin/"))
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// A sign-in attempt for the audit log: the username as typed in its canonical form (as
/// accounts match it, capped in length), the client IP and, once the authorize request is
/// known, its client. Never the password.
/// A refused sign-in: counted under `metric` and audited as `login.failed` with `reason`.
fn record_failure(
    state: &AppState,
    metric: &str,
    reason: &str,
    username: &str,
    ip: &str,
    client_id: Option<&str>,
) {
    state.metrics.login(metric);
    state.audit.record(
        attempt(
            state,
            kind::LOGIN_FAILED,
            Outcome::Failure,
            username,
            ip,
            client_id,
        )
        .detail(serde_json::json!({ "reason": reason })),
    );
}

fn attempt(
    state: &AppState,
    kind: &str,
    outcome: Outcome,
    username: &str,
    ip: &str,
    client_id: Option<&str>,
) -> AuditEvent {
    let mut event = AuditEvent::new(kind, state.now(), outcome).ip(ip);
    let name = canonical(username);
    if !name.is_empty() {
        event = event.actor(name);
    }
    if let Some(client_id) = client_id {
        event = event.client(client_id);
    }
    event
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RequestRef>,
) -> Response {
    let mut caller = None;
    let response = show_page(&state, &session, &q, &mut caller).await;
    tag_client(response, caller)
}

/// The page; `caller` learns the client of the parked request, for the access log.
async fn show_page(
    state: &AppState,
    session: &Session,
    q: &RequestRef,
    caller: &mut Option<ClientId>,
) -> Response {
    if q.request.is_none()
        && let Some(next) = console_path(q.next.as_deref())
    {
        let csrf = match csrf_token(session).await {
            Ok(t) => t,
            Err(page) => return page,
        };
        let page = LoginPage {
            client_name: CONSOLE,
            request: "",
            next,
            csrf: &csrf,
            username: "",
            error: None,
        };
        return render(StatusCode::OK, &page);
    }
    let request = match parked(session, q.request.as_deref()).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    *caller = Some(ClientId(request.client_id.clone()));
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
            next: "",
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
    let mut caller = None;
    let response = sign_in(&state, &ip, &session, &form, &mut caller).await;
    tag_client(response, caller)
}

/// Checks the form; `caller` learns the client of the parked request, for the access log.
async fn sign_in(
    state: &AppState,
    ip: &str,
    session: &Session,
    form: &LoginForm,
    caller: &mut Option<ClientId>,
) -> Response {
    if let Err(page) = check_csrf(session, form.csrf.as_deref()).await {
        return page;
    }
    if let Err(wait) = state.limits.check(Limit::LoginPerIp, ip) {
        state.metrics.rate_limited(Limit::LoginPerIp.name());
        return too_many(
            wait,
            "Too many sign-in attempts from your network. Please wait a moment and try again.",
        );
    }
    let username = form.username.trim();
    let id = form.request.as_deref().unwrap_or_default();
    let console = console_path(form.next.as_deref()).filter(|_| form.request.is_none());
    let parked_request = match console {
        Some(_) => None,
        None => match parked(session, form.request.as_deref()).await {
            Ok(r) => Some(r),
            Err(page) => return page,
        },
    };
    let client = match &parked_request {
        None => None,
        Some(request) => match state.cached_client(&request.client_id).await {
            Ok(Some(c)) if !c.disabled => Some(c),
            Ok(_) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The application is no longer registered.",
                );
            }
            Err(e) => return internal(e),
        },
    };
    *caller = client.as_ref().map(|c| c.client_id.clone());
    let client_id = client.as_ref().map(|c| c.client_id.0.as_str());
    let client_name = client.as_ref().map_or(CONSOLE, |c| c.name.as_str());
    // Brute-force protection: the same wait whether or not the account exists, decided before
    // the password is checked so that parallel guesses cannot outrun it.
    let reserved = match state.begin_login(username, ip).await {
        Ok(LoginGate::Open(reserved)) => reserved,
        Ok(LoginGate::Delayed(wait)) => {
            record_failure(state, "delayed", "delayed", username, ip, client_id);
            return too_many(
                u64::try_from(wait).unwrap_or(1),
                &format!("Too many failed sign-in attempts. Try again in {wait} seconds."),
            );
        }
        Err(e) => return internal(e),
    };
    let user = match state.authenticate_user(username, &form.password).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let Some(user) = user else {
        tracing::info!(client_id, "login failed");
        record_failure(state, "failure", "bad_credentials", username, ip, client_id);
        state.login_failed(reserved);
        let csrf = match csrf_token(session).await {
            Ok(t) => t,
            Err(page) => return page,
        };
        let page = render(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                client_name,
                request: id,
                next: console.unwrap_or_default(),
                csrf: &csrf,
                username,
                error: Some(GENERIC_ERROR),
            },
        );
        return tag_outcome(page, RequestOutcome("login_failed"));
    };
    if let Err(e) = state.login_succeeded(reserved).await {
        return internal(e);
    }
    // A new session id at sign-in defeats session fixation (OWASP Session Management).
    if let Err(e) = session.cycle_id().await {
        return internal(e);
    }
    if let Err(page) = rotate_csrf(session).await {
        return page;
    }
    let signed_in = SignedIn {
        sub: user.sub.clone(),
        auth_time: state.now(),
        sid: random::token::<16>(),
    };
    if let Err(e) = session.insert(SIGNED_IN, &signed_in).await {
        return internal(e);
    }
    tracing::info!(client_id, "login succeeded");
    state.metrics.login("success");
    state.audit.record(
        attempt(
            state,
            kind::LOGIN_SUCCEEDED,
            Outcome::Success,
            username,
            ip,
            client_id,
        )
        .target(user.sub.clone()),
    );
    match (parked_request, client) {
        (Some(request), Some(client)) => {
            if let Err(page) = unpark(session, id).await {
                return page;
            }
            proceed(state, session, &client, request, true).await
        }
        _ => secure_page(Redirect::to(console.unwrap_or("/admin")).into_response()),
    }
}
