//! One file per grant type (RFC 6749 §4).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::sync::Arc;

use super::params::Params;
use super::tokens::{Grant, SignIn, TokenResponse, issue_access_token};
use super::{ErrorCode, OAuthError};
use crate::model::{Client, GrantType, Resource, Scope, SigningAlg, validate_resource_identifier};
use crate::oauth::Protocol;
use crate::oauth::defaults::DEFAULT_TOKEN_TTL;

/// RFC 6749 §5.2 `invalid_grant`: the code or refresh token is unknown, expired, revoked or
/// was issued to another client or redirect URI.
fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// RFC 6749 §5.2: a `grant_type` the server does not implement is `unsupported_grant_type`.
pub fn grant_type(wire: &str) -> Result<GrantType, OAuthError> {
    wire.parse().map_err(|_| {
        OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "supported grant types: authorization_code, client_credentials, refresh_token",
        )
    })
}

/// RFC 6749 §4.1.3, §4.4.2 and §6: the token request of an authenticated client, handed to its
/// grant. `ip` is the caller's, for the audit event of a replayed code or refresh token.
pub async fn issue(
    ctx: &Protocol,
    client: &Client,
    grant: GrantType,
    params: &Params,
    ip: &str,
) -> Result<TokenResponse, OAuthError> {
    match grant {
        GrantType::ClientCredentials => client_credentials::grant(ctx, client, params).await,
        GrantType::AuthorizationCode => authorization_code::grant(ctx, client, params, ip).await,
        GrantType::RefreshToken => refresh_token::grant(ctx, client, params, ip).await,
    }
}

/// RFC 8707 §2: picks the token's audience. An explicit `resource` must be an absolute URI
/// without a fragment and granted to the client; none means the client's default resource; a
/// token is never issued without an audience.
pub async fn select_resource(
    ctx: &Protocol,
    client: &Client,
    params: &Params,
) -> Result<Arc<Resource>, OAuthError> {
    let target = |d: &'static str| OAuthError::new(ErrorCode::InvalidTarget, d);
    let mut requested = params.all("resource");
    let identifier = match (requested.next(), requested.next()) {
        (Some(first), Some(second)) if first != second => {
            return Err(target("one resource per access token"));
        }
        (Some(first), _) => {
            validate_resource_identifier(first)
                .map_err(|_| target("resource must be an absolute URI without a fragment"))?;
            first
        }
        (None, _) => client.default_resource.as_deref().ok_or_else(|| {
            target("no resource requested and the client has no default resource")
        })?,
    };
    if client.grant_for(identifier).is_none() {
        return Err(target("the resource is not granted to this client"));
    }
    ctx.cached_resource(identifier)
        .await?
        .ok_or_else(|| target("unknown resource"))
}

/// RFC 6749 §3.3: requested scopes must all be granted for the resource; without `scope` the
/// client's default scopes apply (restricted to what it holds on this resource).
pub fn select_scope(
    client: &Client,
    resource: &Resource,
    params: &Params,
) -> Result<Scope, OAuthError> {
    let invalid = |d: &'static str| OAuthError::new(ErrorCode::InvalidScope, d);
    let granted = client
        .grant_for(&resource.identifier)
        .map(|g| g.scopes.clone())
        .unwrap_or_default();
    match params.get("scope") {
        Some(raw) => {
            let requested = Scope::parse(raw).ok_or_else(|| invalid("malformed scope"))?;
            if !requested.is_subset_of(&granted) {
                return Err(invalid(
                    "a requested scope is not granted to this client for this resource",
                ));
            }
            Ok(requested)
        }
        None => Ok(Scope::from_tokens(
            client
                .default_scopes
                .iter()
                .filter(|s| granted.contains(s))
                .map(str::to_owned)
                .collect(),
        )),
    }
}

/// The userinfo endpoint as a resource: the audience of tokens issued for OpenID sign-in.
pub fn userinfo_resource(ctx: &Protocol) -> Resource {
    Resource {
        identifier: format!("{}/userinfo", ctx.issuer()),
        name: "userinfo".into(),
        scopes: Vec::new(),
        signing_alg: SigningAlg::ES256,
        access_token_ttl: DEFAULT_TOKEN_TTL,
        created_at: 0,
        updated_at: 0,
    }
}

/// Tokens about a user: an access token for the granted resource (and for userinfo when the
/// scope has `openid`, RFC 9068 §3 with two audiences). An OpenID grant's response carries the
/// sign-in its ID token will describe (OIDC Core §3.1.3.3; on refresh §12.2, which is why the
/// caller decides the nonce).
pub async fn user_tokens(
    ctx: &Protocol,
    client: &Client,
    resource: Option<&str>,
    scope: &Scope,
    jti: String,
    sign_in: SignIn,
) -> Result<TokenResponse, OAuthError> {
    let openid = scope.contains("openid");
    let userinfo = userinfo_resource(ctx);
    let api = match resource {
        Some(r) => Some(ctx.cached_resource(r).await?.ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidGrant, "the resource no longer exists")
        })?),
        None => None,
    };
    let mut response = issue_access_token(
        ctx,
        Grant {
            client,
            resource: api.as_deref().unwrap_or(&userinfo),
            also_for: (api.is_some() && openid).then_some(userinfo.identifier.as_str()),
            subject: &sign_in.sub,
            scope,
            jti,
        },
    )?;
    response.sign_in = openid.then_some(sign_in);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6749 §5.2: the wire strings of the three grants, and nothing else (not even another
    /// spelling), are known.
    #[test]
    fn grant_types_are_parsed_from_the_wire() {
        for grant in [
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
        ] {
            assert_eq!(grant_type(grant.as_str()).ok(), Some(grant));
        }
        for unknown in [
            "password",
            "implicit",
            "Client_Credentials",
            "client_credentials ",
        ] {
            let e = grant_type(unknown).expect_err(unknown);
            assert_eq!(e.code, ErrorCode::UnsupportedGrantType, "{unknown}");
        }
    }
}
