//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, RFC 9207, OIDC Core §3.1.2): a request
//! is checked in order, one small rule at a time. Until the client and the redirect URI are
//! trusted, an error is shown on a page and never redirected (RFC 6749 §4.1.2.1); after that,
//! errors go back to the client with `state` and `iss`.

pub mod decision;
pub mod pkce;
pub mod redirect_uri;

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use super::params::Params;
use crate::model::{Client, GrantType, Scope};
use crate::oidc::id_token::IdTokenHint;
use crate::service::Core;

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

/// Validates an authorization request in the documented order.
pub async fn validate(
    core: &Core,
    params: &Params,
) -> Result<(Arc<Client>, AuthorizationRequest), AuthorizeError> {
    // 1. client_id: a known, enabled client.
    let client_id = params
        .get("client_id")
        .ok_or(AuthorizeError::Page(
            "The request does not say which application sent you here (no client_id). Return to the application and try again."
                .into(),
        ))?;
    let client = core
        .cached_client(client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or(AuthorizeError::Page(
            "The application that sent you here is not registered. Return to it and try again."
                .into(),
        ))?;
    // 2. redirect_uri: trusted only if registered (RFC 6749 §3.1.2.3, RFC 8252 §7.3).
    let scope_raw = params.get("scope").unwrap_or_default();
    let openid = scope_raw.split(' ').any(|s| s == "openid");
    let redirect_uri = redirect_uri::resolve(&client, params.get("redirect_uri"), openid)
        .map_err(AuthorizeError::Page)?;
    // From here on, errors go back to the client.
    let response_mode = match params.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => ResponseMode::Query,
    };
    let target = Target {
        redirect_uri,
        response_mode,
        state: params.get("state").map(str::to_owned),
    };
    if let Some(mode) = params.get("response_mode")
        && !matches!(mode, "query" | "form_post")
    {
        return Err(target.error(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        ));
    }
    // 3. Request objects are not supported (OIDC Core §6).
    if params.get("request").is_some() {
        return Err(target.error(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(target.error(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    // 4. response_type: only the code flow.
    match params.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(target.error(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
        None => return Err(target.error(ErrorCode::InvalidRequest, "missing response_type")),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(target.error(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ));
    }
    // 5. Scopes: OIDC scopes, plus resource scopes granted to the client (RFC 6749 §3.3).
    let scope = Scope::parse(scope_raw)
        .ok_or_else(|| target.error(ErrorCode::InvalidScope, "malformed scope"))?;
    // The admin API acts with full rights: it is for services (client credentials), never
    // granted by a person on a consent page.
    if scope.contains(crate::service::admin::ADMIN_SCOPE) {
        return Err(target.error(
            ErrorCode::InvalidScope,
            "tessera:admin is only issued with client credentials",
        ));
    }
    let resource = select_resource(&client, params, &scope, &target)?;
    let granted = resource
        .as_deref()
        .and_then(|r| client.grant_for(r))
        .map(|g| g.scopes.clone())
        .unwrap_or_default();
    let known = |s: &str| OIDC_SCOPES.contains(&s) || granted.contains(s);
    let (scope, resource) = if openid {
        // OIDC Core §3.1.2.1: scope values that are not understood are ignored; the resource
        // stays only if it was asked for or some API scope of it remains.
        let scope = Scope::from_tokens(
            scope
                .iter()
                .filter(|s| known(s))
                .map(str::to_owned)
                .collect(),
        );
        let api_scopes = scope.iter().any(|s| !OIDC_SCOPES.contains(&s));
        let resource = resource.filter(|_| api_scopes || params.get("resource").is_some());
        (scope, resource)
    } else {
        if let Some(bad) = scope.iter().find(|s| !known(s)) {
            return Err(target.error(
                ErrorCode::InvalidScope,
                format!("scope {bad} is not granted to this client"),
            ));
        }
        (scope, resource)
    };
    if scope.is_empty() {
        return Err(target.error(ErrorCode::InvalidScope, "no scope requested"));
    }
    // 6. PKCE (RFC 7636 §4.3, RFC 9700 §2.1.1): S256 only, required unless the client opted out.
    let code_challenge = pkce::challenge(params, client.pkce_required)
        .map_err(|d| target.error(ErrorCode::InvalidRequest, d))?;
    // 7. prompt, max_age, hints (OIDC Core §3.1.2.1).
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account"))
    {
        return Err(target.error(
            ErrorCode::InvalidRequest,
            format!("unsupported prompt value {bad}"),
        ));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(target.error(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            target.error(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
    };
    let hint_sub = match params.get("id_token_hint") {
        None => None,
        Some(hint) => Some(
            IdTokenHint::verify(core, hint)
                .ok_or_else(|| {
                    target.error(
                        ErrorCode::InvalidRequest,
                        "id_token_hint is not a valid ID token of this issuer",
                    )
                })?
                .sub,
        ),
    };
    let request = AuthorizationRequest {
        client_id: client.client_id.0.clone(),
        redirect_uri_sent: params.get("redirect_uri").is_some(),
        target,
        scope: scope.to_string(),
        resource,
        code_challenge,
        nonce: params.get("nonce").map(str::to_owned),
        prompt_login: prompts.contains(&"login") || prompts.contains(&"select_account"),
        prompt_consent: prompts.contains(&"consent"),
        prompt_none,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        hint_sub,
    };
    Ok((client, request))
}

/// RFC 8707 at the authorization endpoint: at most one resource, granted to the client. Without
/// one, resource scopes refer to the client's default resource.
fn select_resource(
    client: &Client,
    params: &Params,
    scope: &Scope,
    target: &Target,
) -> Result<Option<String>, AuthorizeError> {
    let mut requested = params.all("resource");
    match (requested.next(), requested.next()) {
        (Some(a), Some(b)) if a != b => {
            Err(target.error(ErrorCode::InvalidTarget, "one resource per request"))
        }
        (Some(r), _) => {
            crate::model::validate_resource_identifier(r).map_err(|_| {
                target.error(
                    ErrorCode::InvalidTarget,
                    "resource must be an absolute URI without a fragment",
                )
            })?;
            client
                .grant_for(r)
                .map(|g| Some(g.resource.clone()))
                .ok_or_else(|| {
                    target.error(
                        ErrorCode::InvalidTarget,
                        "the resource is not granted to this client",
                    )
                })
        }
        (None, _) => {
            let api_scopes = scope.iter().any(|s| !OIDC_SCOPES.contains(&s));
            Ok(client.default_resource.clone().filter(|_| api_scopes))
        }
    }
}
