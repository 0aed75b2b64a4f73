//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).

use axum::extract::{Request, State};
use axum::response::{Redirect, Response};
use tower_sessions::Session;

use super::{
    SIGNED_IN, authorize_error, internal, park, request_parameters, respond, secure_page, too_many,
};
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::log::tag_client;
use crate::model::{Client, ClientId};
use crate::oauth::authorize::decision::{Next, SignedIn, issue_code, next_step};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError};
use crate::service::limits::Limit;

pub async fn authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    req: Request,
) -> Response {
    let mut caller = None;
    let response = handle(&state, &ip, &session, req, &mut caller).await;
    tag_client(response, caller)
}

/// `caller` learns the client once the request is known to come from a registered one.
async fn handle(
    state: &AppState,
    ip: &str,
    session: &Session,
    req: Request,
    caller: &mut Option<ClientId>,
) -> Response {
    if let Err(wait) = state.limits.check(Limit::AuthorizePerIp, ip) {
        state.metrics.rate_limited(Limit::AuthorizePerIp.name());
        return too_many(
            wait,
            "Too many requests from your network. Please wait a moment and try again.",
        );
    }
    let raw = match request_parameters(req).await {
        Ok(raw) => raw,
        Err(page) => return page,
    };
    let issuer = state.issuer();
    let params = match authorize::parse_params(&raw) {
        Ok(p) => p,
        Err(e) => return authorize_error(e, issuer),
    };
    let (client, request) = match authorize::validate(state, &params).await {
        Ok(v) => v,
        Err(e) => {
            // Errors are redirected only once the client and redirect URI are trusted.
            if matches!(e, AuthorizeError::Redirect { .. }) {
                *caller = params.get("client_id").map(|id| ClientId(id.to_owned()));
            }
            return authorize_error(e, issuer);
        }
    };
    *caller = Some(client.client_id.clone());
    proceed(state, session, &client, request, false).await
}

/// Moves a valid request on: to the login page, the consent page, or back to the client with
/// a code. Shared by /authorize, the login form and the consent form.
pub async fn proceed(
    state: &AppState,
    session: &Session,
    client: &Client,
    request: AuthorizationRequest,
    fresh_login: bool,
) -> Response {
    let signed_in = match session.get::<SignedIn>(SIGNED_IN).await {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let issuer = state.issuer();
    match next_step(state, client, &request, signed_in.as_ref(), fresh_login).await {
        Err(e) => authorize_error(e, issuer),
        Ok(Next::Login) => to_page(state, session, request, "/login").await,
        Ok(Next::Consent) => to_page(state, session, request, "/consent").await,
        Ok(Next::Issue) => {
            let Some(signed_in) = signed_in else {
                return internal("issuing a code without a signed-in user");
            };
            match issue_code(state, &request, &signed_in).await {
                Ok(code) => respond(&request.target, issuer, vec![("code", code)]),
                Err(e) => authorize_error(e, issuer),
            }
        }
    }
}

async fn to_page(
    state: &AppState,
    session: &Session,
    request: AuthorizationRequest,
    page: &str,
) -> Response {
    match park(session, request, state.now()).await {
        Ok(id) => secure_page(axum::response::IntoResponse::into_response(Redirect::to(
            &format!("{page}?request={id}"),
        ))),
        Err(r) => r,
    }
}
