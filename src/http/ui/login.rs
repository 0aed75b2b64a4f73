//! The sign-in page: one generic error whatever was wrong, the same timing for unknown users
//! (the password service runs a dummy hash), a new session id at sign-in.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::proceed;
use super::error::Back;
use super::{
    CsrfForm, PageError, SIGNED_IN, csrf_token, parked, parked_with_client, render, rotate_csrf,
    secure_page, unpark,
};
use crate::crypto::random;
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::log::{RequestOutcome, tag_client, tag_outcome};
use crate::model::{Client, ClientId, User};
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::authorize::decision::SignedIn;
use crate::service::limits::Limit;
use crate::service::sign_in::{SignInAttempt, SignInOutcome};

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

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RequestRef>,
) -> Result<Response, PageError> {
    if q.request.is_none()
        && let Some(next) = console_path(q.next.as_deref())
    {
        let csrf = csrf_token(&session).await?;
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
    let request = parked(&session, q.request.as_deref()).await?;
    // From here on the page is for this client: the access log names it.
    let caller = Some(ClientId(request.client_id.clone()));
    let page = show_page(&state, &session, &q, &request).await;
    Ok(tag_client(page.into_response(), caller))
}

/// The sign-in page of a parked authorization request.
async fn show_page(
    state: &AppState,
    session: &Session,
    q: &RequestRef,
    request: &AuthorizationRequest,
) -> Result<Response, PageError> {
    let Some(client) = state.cached_client(&request.client_id).await? else {
        return Err(PageError::client_gone());
    };
    let csrf = csrf_token(session).await?;
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

/// What a sign-in continues: a parked authorization request of a client, or a console page.
enum Continues<'a> {
    Authorization {
        id: &'a str,
        /// Boxed: far larger than the console variant.
        request: Box<AuthorizationRequest>,
        client: std::sync::Arc<Client>,
    },
    Console(&'a str),
}

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    if let Err(wait) = state.limits.check(Limit::LoginPerIp, &ip) {
        state.metrics.rate_limited(Limit::LoginPerIp.name());
        return Err(PageError::too_many(
            wait,
            "Too many sign-in attempts from your network. Please wait a moment and try again.",
        ));
    }
    let continues = continues(&state, &session, &form).await?;
    let caller = match &continues {
        Continues::Authorization { client, .. } => Some(client.client_id.clone()),
        Continues::Console(_) => None,
    };
    let answer = sign_in(&state, &ip, &session, &form, continues).await;
    Ok(tag_client(answer.into_response(), caller))
}

/// The form's `next` console path, else its parked request with a client still registered.
async fn continues<'a>(
    state: &AppState,
    session: &Session,
    form: &'a LoginForm,
) -> Result<Continues<'a>, PageError> {
    if form.request.is_none()
        && let Some(next) = console_path(form.next.as_deref())
    {
        return Ok(Continues::Console(next));
    }
    let id = form.request.as_deref();
    let (request, client) = parked_with_client(state, session, id).await?;
    Ok(Continues::Authorization {
        id: id.unwrap_or_default(),
        request: Box::new(request),
        client,
    })
}

/// Checks the credentials and answers with the page for the outcome.
async fn sign_in(
    state: &AppState,
    ip: &str,
    session: &Session,
    form: &LoginForm,
    continues: Continues<'_>,
) -> Result<Response, PageError> {
    let username = form.username.trim();
    let client = match &continues {
        Continues::Authorization { client, .. } => Some(client.as_ref()),
        Continues::Console(_) => None,
    };
    let attempt = SignInAttempt {
        username,
        password: &form.password,
        ip,
        client_id: client.map(|c| c.client_id.0.as_str()),
    };
    let outcome = state.sign_in(&attempt).await?;
    match outcome {
        SignInOutcome::SignedIn(user) => signed_in(state, session, &user, continues).await,
        SignInOutcome::LockedOut { wait } => Err(PageError::too_many(
            u64::try_from(wait).unwrap_or(1),
            format!("Too many failed sign-in attempts. Try again in {wait} seconds."),
        )
        .back_to(client.and_then(|c| back_to_client(c, &continues)))),
        SignInOutcome::BadCredentials => {
            let csrf = csrf_token(session).await?;
            let (request, next) = match &continues {
                Continues::Authorization { id, .. } => (*id, ""),
                Continues::Console(next) => ("", *next),
            };
            let page = render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    client_name: client.map_or(CONSOLE, |c| c.name.as_str()),
                    request,
                    next,
                    csrf: &csrf,
                    username,
                    error: Some(GENERIC_ERROR),
                },
            )?;
            Ok(tag_outcome(page, RequestOutcome("login_failed")))
        }
    }
}

/// The application's site, when the request's redirect URI is registered (it is, once parked).
fn back_to_client(client: &Client, continues: &Continues<'_>) -> Option<Back> {
    match continues {
        Continues::Authorization { request, .. } => {
            Back::to_client(&client.name, &request.target.redirect_uri)
        }
        Continues::Console(_) => None,
    }
}

/// A new session for the signed-in user, then on to what the sign-in was for.
async fn signed_in(
    state: &AppState,
    session: &Session,
    user: &User,
    continues: Continues<'_>,
) -> Result<Response, PageError> {
    // A new session id at sign-in defeats session fixation (OWASP Session Management).
    session.cycle_id().await?;
    rotate_csrf(session).await?;
    let signed_in = SignedIn {
        sub: user.sub.clone(),
        auth_time: state.now(),
        sid: random::token::<16>(),
    };
    session.insert(SIGNED_IN, &signed_in).await?;
    match continues {
        Continues::Authorization {
            id,
            request,
            client,
        } => {
            unpark(session, id).await?;
            proceed(state, session, &client, *request, true).await
        }
        Continues::Console(next) => Ok(secure_page(Redirect::to(next).into_response())),
    }
}
