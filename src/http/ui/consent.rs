//! The consent page (OIDC Core §3.1.2.4): who asks, where the answer goes, what it may do in
//! plain words; Allow or Deny.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    SIGNED_IN, authorize_error, check_csrf, csrf_token, error_page, internal, parked, render,
    respond, secure_page, unpark,
};
use crate::http::AppState;
use crate::http::log::tag_client;
use crate::model::ClientId;
use crate::oauth::ErrorCode;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::authorize::decision::{SignedIn, issue_code, remember_consent};

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
    csrf: Option<String>,
    decision: Option<String>,
}

/// Plain words for each requested scope: the resource's own description, or OIDC's.
async fn describe(
    state: &AppState,
    request: &AuthorizationRequest,
) -> Result<Vec<(String, String)>, Response> {
    let resource = match &request.resource {
        Some(r) => state.cached_resource(r).await.map_err(internal)?,
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

async fn signed_in(session: &Session) -> Result<Option<SignedIn>, Response> {
    session.get::<SignedIn>(SIGNED_IN).await.map_err(internal)
}

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
    let id = q.request.as_deref().unwrap_or_default();
    match signed_in(session).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return secure_page(Redirect::to(&format!("/login?request={id}")).into_response());
        }
        Err(page) => return page,
    }
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
    let scopes = match describe(state, request).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let csrf = match csrf_token(session).await {
        Ok(t) => t,
        Err(page) => return page,
    };
    let redirect_host = url::Url::parse(&request.target.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(format!("{}:", u.scheme())))
        })
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &ConsentPage {
            client_name: &client.name,
            redirect_host: &redirect_host,
            scopes: &scopes,
            request: id,
            csrf: &csrf,
        },
    )
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ConsentForm>,
) -> Response {
    if let Err(page) = check_csrf(&session, form.csrf.as_deref()).await {
        return page;
    }
    let request = match parked(&session, form.request.as_deref()).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let caller = Some(ClientId(request.client_id.clone()));
    tag_client(decide(&state, &session, &form, request).await, caller)
}

/// Carries out the user's answer to a parked request.
async fn decide(
    state: &AppState,
    session: &Session,
    form: &ConsentForm,
    request: AuthorizationRequest,
) -> Response {
    let id = form.request.as_deref().unwrap_or_default();
    let user = match signed_in(session).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return secure_page(Redirect::to(&format!("/login?request={id}")).into_response());
        }
        Err(page) => return page,
    };
    if let Err(page) = unpark(session, id).await {
        return page;
    }
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
