//! The consent page (OIDC Core §3.1.2.4): who asks, where the answer goes, what it may do in
//! plain words; Allow or Deny.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    CsrfForm, PageError, authorize_error, csrf_token, parked, render, respond, secure_page,
    signed_in, unpark,
};
use crate::http::AppState;
use crate::http::log::tag_client;
use crate::model::ClientId;
use crate::oauth::ErrorCode;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::authorize::decision::{issue_code, remember_consent};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    redirect_host: &'a str,
    scopes: &'a [(String, String)],
    request: &'a str,
    csrf: &'a str,
}

#[derive(Deserialize)]
pub struct RequestRef {
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    request: Option<String>,
    decision: Option<String>,
}

/// Plain words for each requested scope: the resource's own description, or OIDC's.
async fn describe(
    state: &AppState,
    request: &AuthorizationRequest,
) -> Result<Vec<(String, String)>, PageError> {
    let resource = match &request.resource {
        Some(r) => state.cached_resource(r).await?,
        None => None,
    };
    // OIDC scopes first (who you are), then what the application may do at the API.
    let scope = request.scope();
    let oidc = crate::oauth::authorize::OIDC_SCOPES;
    let ordered = oidc
        .iter()
        .copied()
        .filter(|s| scope.contains(s))
        .chain(scope.iter().filter(|s| !oidc.contains(s)));
    Ok(ordered
        .map(|s| {
            let words = match s {
                "openid" => "Sign you in with your account".to_owned(),
                "profile" => "See your name and username, and your profile details".to_owned(),
                "email" => "See your email address".to_owned(),
                "address" => "See your postal address".to_owned(),
                "phone" => "See your phone number".to_owned(),
                "offline_access" => "Stay connected when you are not using it".to_owned(),
                other => resource
                    .as_ref()
                    .and_then(|r| r.scopes.iter().find(|d| d.name == other))
                    .map(|d| d.description.clone())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| other.to_owned()),
            };
            (s.to_owned(), words)
        })
        .collect())
}

/// Until someone is signed in, the request continues at the sign-in page.
fn to_login(id: &str) -> Response {
    secure_page(Redirect::to(&format!("/login?request={id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<RequestRef>,
) -> Result<Response, PageError> {
    let request = parked(&session, q.request.as_deref()).await?;
    let caller = Some(ClientId(request.client_id.clone()));
    let page = show_page(&state, &session, &q, &request).await;
    Ok(tag_client(page.into_response(), caller))
}

async fn show_page(
    state: &AppState,
    session: &Session,
    q: &RequestRef,
    request: &AuthorizationRequest,
) -> Result<Response, PageError> {
    let id = q.request.as_deref().unwrap_or_default();
    if signed_in(session).await?.is_none() {
        return Ok(to_login(id));
    }
    let Some(client) = state.cached_client(&request.client_id).await? else {
        return Err(PageError::client_gone());
    };
    let scopes = describe(state, request).await?;
    let csrf = csrf_token(session).await?;
    render(
        StatusCode::OK,
        &ConsentPage {
            client_name: &client.name,
            redirect_host: &redirect_host(&request.target.redirect_uri),
            scopes: &scopes,
            request: id,
            csrf: &csrf,
        },
    )
}

/// Where the answer goes, as the user knows it: the redirect URI's host, or its scheme for a
/// native app's private-use URI.
fn redirect_host(redirect_uri: &str) -> String {
    url::Url::parse(redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(format!("{}:", u.scheme())))
        })
        .unwrap_or_default()
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<Response, PageError> {
    let request = parked(&session, form.request.as_deref()).await?;
    let caller = Some(ClientId(request.client_id.clone()));
    let answer = decide(&state, &session, &form, request).await;
    Ok(tag_client(answer.into_response(), caller))
}

/// Carries out the user's answer to a parked request.
async fn decide(
    state: &AppState,
    session: &Session,
    form: &ConsentForm,
    request: AuthorizationRequest,
) -> Result<Response, PageError> {
    let id = form.request.as_deref().unwrap_or_default();
    let Some(user) = signed_in(session).await? else {
        return Ok(to_login(id));
    };
    unpark(session, id).await?;
    let issuer = state.issuer();
    if form.decision.as_deref() != Some("allow") {
        tracing::info!(client_id = %request.client_id, "consent denied");
        // RFC 6749 §4.1.2.1: the resource owner denied the request.
        let denied = request
            .target
            .error(ErrorCode::AccessDenied, "the user denied the request");
        return authorize_error(denied, issuer);
    }
    if let Err(e) = remember_consent(state, &request, &user.sub).await {
        return authorize_error(e, issuer);
    }
    match issue_code(state, &request, &user).await {
        Ok(code) => respond(&request.target, issuer, vec![("code", code)]),
        Err(e) => authorize_error(e, issuer),
    }
}
