//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, RFC 9207, OIDC Core §3.1.2): a request
//! is checked in order, one small rule at a time. Until the client and the redirect URI are
//! trusted, an error is shown on a page and never redirected (RFC 6749 §4.1.2.1); after that,
//! errors go back to the client with `state` and `iss`.

pub mod checks;
pub mod decision;
pub mod pkce;
pub mod redirect_uri;

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use super::params::Params;
use crate::model::{Client, Scope};
use crate::oauth::Protocol;

/// Scopes defined by OpenID Connect (OIDC Core §5.4, §11); every other scope belongs to a
/// resource.
pub const OIDC_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// Where an answer goes once the client and its redirect URI are trusted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

/// A validated authorization request, kept in the session while the user signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub target: Target,
    /// Whether the request carried redirect_uri (then /token must repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    pub scope: String,
    pub resource: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub prompt_none: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid id_token_hint.
    pub hint_sub: Option<String>,
}

impl AuthorizationRequest {
    pub fn scope(&self) -> Scope {
        Scope::parse(&self.scope).unwrap_or_default()
    }

    pub fn is_openid(&self) -> bool {
        self.scope().contains("openid")
    }
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown on an error page: the client or redirect URI is not trusted (never redirected).
    Page(Cow<'static, str>),
    /// Sent back to the client (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
    Redirect {
        target: Target,
        error: ErrorCode,
        description: Cow<'static, str>,
    },
    Internal(String),
}

impl From<crate::store::StoreError> for AuthorizeError {
    fn from(e: crate::store::StoreError) -> Self {
        AuthorizeError::Internal(e.to_string())
    }
}

impl Target {
    pub fn error(
        &self,
        error: ErrorCode,
        description: impl Into<Cow<'static, str>>,
    ) -> AuthorizeError {
        AuthorizeError::Redirect {
            target: self.clone(),
            error,
            description: description.into(),
        }
    }
}

/// Repeated parameters are refused (RFC 6749 §3.1); the parse already did that, so a parse error
/// before the client is known can only be shown on a page.
pub fn parse_params(raw: &[u8]) -> Result<Params, AuthorizeError> {
    Params::parse(raw).map_err(|e| {
        AuthorizeError::Page(e.description.unwrap_or(Cow::Borrowed("malformed request")))
    })
}

/// RFC 6749 §4.1.2.1: the two checks before anything may be redirected, shown on a page when
/// they fail. Returns the client and the redirect URI answers go to.
pub async fn trusted(
    ctx: &Protocol,
    params: &Params,
) -> Result<(Arc<Client>, String), AuthorizeError> {
    let client = known_client(ctx, params).await?;
    let redirect_uri = registered_redirect_uri(&client, params)?;
    Ok((client, redirect_uri))
}

/// RFC 6749 §4.1.1: client_id is REQUIRED and names a registered client (here also an enabled
/// one); §4.1.2.1: when it is missing or unknown the user is told, never redirected.
async fn known_client(ctx: &Protocol, params: &Params) -> Result<Arc<Client>, AuthorizeError> {
    let client_id = params.get("client_id").ok_or(AuthorizeError::Page(
        "The request does not say which application sent you here (no client_id). Return to the application and try again."
            .into(),
    ))?;
    ctx.cached_client(client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or(AuthorizeError::Page(
            "The application that sent you here is not registered. Return to it and try again."
                .into(),
        ))
}

/// RFC 6749 §3.1.2.3, RFC 8252 §7.3, OIDC Core §3.1.2.1: the redirect URI is trusted only when
/// it matches a registered one (OIDC requires it to be sent); otherwise the user is told on a
/// page (RFC 6749 §4.1.2.1).
fn registered_redirect_uri(client: &Client, params: &Params) -> Result<String, AuthorizeError> {
    let openid = params
        .get("scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid");
    redirect_uri::resolve(client, params.get("redirect_uri"), openid).map_err(AuthorizeError::Page)
}

/// The rest of the request's OAuth parameters, once the client and `redirect_uri` are
/// [`trusted`]: each check in [`checks`], in order; the first refusal goes back to the client.
/// The OpenID Connect parameters (prompt, max_age, id_token_hint, nonce, login_hint) are left
/// empty here and filled by `oidc::authorize::check_request`, which runs this first.
pub fn check_request(
    client: &Client,
    redirect_uri: String,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let target = checks::target(redirect_uri, params)?;
    checks::no_request_object(params, &target)?;
    checks::response_type(params, &target)?;
    checks::code_flow_allowed(client, &target)?;
    let scope = checks::scope(params, &target)?;
    let resource = checks::resource(client, params, &scope, &target)?;
    let (scope, resource) = checks::granted_scope(client, params, (scope, resource), &target)?;
    checks::some_scope(&scope, &target)?;
    let code_challenge = checks::pkce(client, params, &target)?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.0.clone(),
        redirect_uri_sent: params.get("redirect_uri").is_some(),
        target,
        scope: scope.to_string(),
        resource,
        code_challenge,
        nonce: None,
        prompt_login: false,
        prompt_consent: false,
        prompt_none: false,
        max_age: None,
        login_hint: None,
        hint_sub: None,
    })
}
