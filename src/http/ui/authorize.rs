//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{
    PageError, authorize_error, park, request_parameters, respond, secure_page, signed_in,
};
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::log::tag_client;
use crate::model::Client;
use crate::oauth::authorize::decision::{Next, issue_code, next_step};
use crate::oauth::authorize::{self, AuthorizationRequest};
use crate::oauth::params::Params;
use crate::oidc;
use crate::service::limits::Limit;

pub async fn authorize(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    req: Request,
) -> Result<Response, PageError> {
    if let Err(wait) = state.limits.check(Limit::AuthorizePerIp, &ip) {
        state.metrics.rate_limited(Limit::AuthorizePerIp.name());
        return Err(PageError::too_many(
            wait,
            "Too many requests from your network. Please wait a moment and try again.",
        ));
    }
    let raw = request_parameters(req).await?;
    let issuer = state.issuer();
    let params = match authorize::parse_params(&raw) {
        Ok(p) => p,
        Err(e) => return authorize_error(e, issuer),
    };
    let (client, redirect_uri) = match authorize::trusted(&state, &params).await {
        Ok(trusted) => trusted,
        Err(e) => return authorize_error(e, issuer),
    };
    // From here on the request is known to come from this client: the access log names it.
    let answer = validated(&state, &session, &client, redirect_uri, &params).await;
    Ok(tag_client(
        answer.into_response(),
        Some(client.client_id.clone()),
    ))
}

/// The trusted request's remaining checks, then the next step; refusals go back to the client.
async fn validated(
    state: &AppState,
    session: &Session,
    client: &Client,
    redirect_uri: String,
    params: &Params,
) -> Result<Response, PageError> {
    match oidc::authorize::check_request(state, client, redirect_uri, params) {
        Ok(request) => proceed(state, session, client, request, false).await,
        Err(e) => authorize_error(e, state.issuer()),
    }
}

/// Moves a valid request on: to the login page, the consent page, or back to the client with
/// a code. Shared by /authorize, the login form and the consent form.
pub async fn proceed(
    state: &AppState,
    session: &Session,
    client: &Client,
    request: AuthorizationRequest,
    fresh_login: bool,
) -> Result<Response, PageError> {
    let signed_in = signed_in(session).await?;
    let issuer = state.issuer();
    match next_step(state, client, &request, signed_in.as_ref(), fresh_login).await {
        Err(e) => authorize_error(e, issuer),
        Ok(Next::Login) => to_page(state, session, request, "/login").await,
        Ok(Next::Consent) => to_page(state, session, request, "/consent").await,
        Ok(Next::Issue) => {
            let Some(signed_in) = signed_in else {
                return Err(PageError::internal(
                    "issuing a code without a signed-in user",
                ));
            };
            match issue_code(state, &request, &signed_in).await {
                Ok(code) => respond(&request.target, issuer, vec![("code", code)]),
                Err(e) => authorize_error(e, issuer),
            }
        }
    }
}

/// Parks the request in the session and sends the browser to the page that continues it.
async fn to_page(
    state: &AppState,
    session: &Session,
    request: AuthorizationRequest,
    page: &str,
) -> Result<Response, PageError> {
    let id = park(session, request, state.now()).await?;
    Ok(secure_page(
        Redirect::to(&format!("{page}?request={id}")).into_response(),
    ))
}
