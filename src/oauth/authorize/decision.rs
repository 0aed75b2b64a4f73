//! What happens to a valid authorization request: sign in, consent, or a code (OIDC Core
//! §3.1.2.3–§3.1.2.6).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{AuthorizationRequest, AuthorizeError};
use crate::crypto::random;
use crate::model::{Client, Scope};
use crate::oauth::ErrorCode;
use crate::oauth::Protocol;
use crate::oauth::defaults::CODE_TTL;
use crate::store::{codes, consents};

/// The signed-in user as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub sub: String,
    pub auth_time: i64,
    /// The OIDC session id (`sid` claim); unlike the cookie it survives id rotation.
    pub sid: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Login,
    Consent,
    Issue,
}

/// Decides the next step. `fresh_login` is true right after the user signed in for this
/// request, which satisfies prompt=login and max_age.
pub async fn next_step(
    ctx: &Protocol,
    client: &Client,
    req: &AuthorizationRequest,
    signed_in: Option<&SignedIn>,
    fresh_login: bool,
) -> Result<Next, AuthorizeError> {
    let now = ctx.now();
    let absolute = i64::from(ctx.config.sessions.absolute_hours) * 3600;
    let session = signed_in.filter(|s| now - s.auth_time < absolute);
    let user_ok = match session {
        Some(s) => ctx
            .user_by_sub(&s.sub)
            .await
            .map_err(|e| AuthorizeError::Internal(e.to_string()))?
            .is_some_and(|u| !u.disabled),
        None => false,
    };
    // max_age=0 always asks again, like prompt=login (OIDC Core §3.1.2.1).
    let needs_login = match session.filter(|_| user_ok) {
        None => true,
        Some(s) => {
            // OIDC Registration §2: the client's default_max_age when the request has none.
            let too_old = req
                .max_age
                .or(client.default_max_age)
                .is_some_and(|max| max == 0 || now - s.auth_time > max);
            let other_user = req.hint_sub.as_deref().is_some_and(|h| h != s.sub);
            !fresh_login && (req.prompt_login || too_old || other_user)
        }
    };
    if needs_login {
        return if req.prompt_none {
            Err(req
                .target
                .error(ErrorCode::LoginRequired, "the user must sign in"))
        } else {
            Ok(Next::Login)
        };
    }
    let sub = session.map(|s| s.sub.as_str()).unwrap_or_default();
    if needs_consent(ctx, client, req, sub).await? {
        return if req.prompt_none {
            Err(req.target.error(
                ErrorCode::ConsentRequired,
                "the user must approve this request",
            ))
        } else {
            Ok(Next::Consent)
        };
    }
    Ok(Next::Issue)
}

/// First-party clients skip consent; others need a remembered consent that covers every
/// requested scope, and prompt=consent always asks. offline_access is always asked for (OIDC
/// Core §11), unless an admin pre-authorised it for a first-party client.
async fn needs_consent(
    ctx: &Protocol,
    client: &Client,
    req: &AuthorizationRequest,
    sub: &str,
) -> Result<bool, AuthorizeError> {
    if req.scope().contains("offline_access") {
        return Ok(!(client.first_party && client.offline_preauthorized));
    }
    if client.first_party {
        return Ok(false);
    }
    if req.prompt_consent {
        return Ok(true);
    }
    let remembered = consents::get(&ctx.db, sub, &client.client_id.0).await?;
    let remembered = remembered
        .as_deref()
        .and_then(Scope::parse)
        .unwrap_or_default();
    Ok(!req.scope().is_subset_of(&remembered))
}

/// Remembers the consent (adding to what was consented before).
pub async fn remember_consent(
    ctx: &Protocol,
    req: &AuthorizationRequest,
    sub: &str,
) -> Result<(), AuthorizeError> {
    let before = consents::get(&ctx.db, sub, &req.client_id).await?;
    let mut all: Vec<String> = req.scope().iter().map(str::to_owned).collect();
    if let Some(before) = before.as_deref().and_then(Scope::parse) {
        all.extend(before.iter().map(str::to_owned));
    }
    let scope = Scope::from_tokens(all).to_string();
    consents::put(&ctx.db, sub, &req.client_id, &scope, ctx.now()).await?;
    Ok(())
}

/// SHA-256 of a code or token, as stored.
pub fn hash_secret(value: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Issues a 256-bit single-use code bound to everything /token must check.
pub async fn issue_code(
    ctx: &Protocol,
    req: &AuthorizationRequest,
    signed_in: &SignedIn,
) -> Result<String, AuthorizeError> {
    let code = random::token::<32>();
    let row = codes::CodeRow {
        code_hash: hash_secret(&code),
        client_id: req.client_id.clone(),
        sub: signed_in.sub.clone(),
        redirect_uri: req.target.redirect_uri.clone(),
        redirect_uri_sent: req.redirect_uri_sent,
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        scope: req.scope.clone(),
        resource: req.resource.clone(),
        auth_time: signed_in.auth_time,
        sid: signed_in.sid.clone(),
        expires_at: ctx.now() + CODE_TTL,
    };
    codes::insert(&ctx.db, &row).await?;
    Ok(code)
}
