//! The authorization request's checks, one rule each, in the order [`super::check_request`]
//! runs them (like node-oidc-provider's `lib/actions/authorization/`). Every check here runs
//! once the client and its redirect URI are trusted, so a refusal goes back to the client
//! (RFC 6749 §4.1.2.1); the two checks before that are in [`super::trusted`].

use super::{AuthorizeError, OIDC_SCOPES, ResponseMode, Target, pkce};
use crate::model::{Client, GrantType, Scope};
use crate::oauth::ErrorCode;
use crate::oauth::params::Params;

/// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and OAuth 2.0 Form Post Response
/// Mode §2: the answer is sent in the query or as an auto-submitted form. An unknown mode is an
/// `invalid_request`, answered in the query.
pub fn target(redirect_uri: String, params: &Params) -> Result<Target, AuthorizeError> {
    let response_mode = match params.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    let target = Target {
        redirect_uri,
        response_mode,
        state: params.get("state").map(str::to_owned),
    };
    match params.get("response_mode") {
        None | Some("query" | "form_post") => Ok(target),
        Some(_) => Err(target.error(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        )),
    }
}

/// OIDC Core §6: request objects, by value or by reference, are not supported; the OP MUST
/// answer `request_not_supported` / `request_uri_not_supported` (§6.3).
pub fn no_request_object(params: &Params, target: &Target) -> Result<(), AuthorizeError> {
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
    Ok(())
}

/// RFC 6749 §4.1.1: response_type is REQUIRED and MUST be `code` for this flow; §4.1.2.1:
/// another value is `unsupported_response_type`.
pub fn response_type(params: &Params, target: &Target) -> Result<(), AuthorizeError> {
    match params.get("response_type") {
        Some("code") => Ok(()),
        Some(_) => Err(target.error(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
        None => Err(target.error(ErrorCode::InvalidRequest, "missing response_type")),
    }
}

/// RFC 6749 §4.1.2.1 `unauthorized_client`: the client is not registered for the code flow.
pub fn code_flow_allowed(client: &Client, target: &Target) -> Result<(), AuthorizeError> {
    if client.allows_grant(GrantType::AuthorizationCode) {
        Ok(())
    } else {
        Err(target.error(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code flow",
        ))
    }
}

/// RFC 6749 §3.3: scope is a space-delimited list of tokens; a malformed one is
/// `invalid_scope`. The admin API's scope acts with full rights: it is for services (client
/// credentials), never granted by a person on a consent page.
pub fn scope(params: &Params, target: &Target) -> Result<Scope, AuthorizeError> {
    let scope = Scope::parse(params.get("scope").unwrap_or_default())
        .ok_or_else(|| target.error(ErrorCode::InvalidScope, "malformed scope"))?;
    if scope.contains(crate::oauth::defaults::ADMIN_SCOPE) {
        return Err(target.error(
            ErrorCode::InvalidScope,
            "tessera:admin is only issued with client credentials",
        ));
    }
    Ok(scope)
}

/// RFC 8707 §2 at the authorization endpoint: at most one resource, an absolute URI without a
/// fragment, granted to the client (`invalid_target`). Without one, resource scopes refer to
/// the client's default resource.
pub fn resource(
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

/// Which requested scopes the client may get: OIDC scopes plus the resource's scopes granted
/// to it. With `openid`, scope values that are not understood are ignored (OIDC Core
/// §3.1.2.1) and the resource stays only if it was asked for or some API scope of it remains;
/// in plain OAuth an unknown scope is `invalid_scope` (RFC 6749 §4.1.2.1).
pub fn granted_scope(
    client: &Client,
    params: &Params,
    (scope, resource): (Scope, Option<String>),
    target: &Target,
) -> Result<(Scope, Option<String>), AuthorizeError> {
    let granted = resource
        .as_deref()
        .and_then(|r| client.grant_for(r))
        .map(|g| g.scopes.clone())
        .unwrap_or_default();
    let known = |s: &str| OIDC_SCOPES.contains(&s) || granted.contains(s);
    if !scope.contains("openid") {
        if let Some(bad) = scope.iter().find(|s| !known(s)) {
            return Err(target.error(
                ErrorCode::InvalidScope,
                format!("scope {bad} is not granted to this client"),
            ));
        }
        return Ok((scope, resource));
    }
    let scope = Scope::from_tokens(
        scope
            .iter()
            .filter(|s| known(s))
            .map(str::to_owned)
            .collect(),
    );
    let api_scopes = scope.iter().any(|s| !OIDC_SCOPES.contains(&s));
    let resource = resource.filter(|_| api_scopes || params.get("resource").is_some());
    Ok((scope, resource))
}

/// RFC 6749 §3.3: without a default scope, a request that ends up with none is `invalid_scope`.
pub fn some_scope(scope: &Scope, target: &Target) -> Result<(), AuthorizeError> {
    if scope.is_empty() {
        return Err(target.error(ErrorCode::InvalidScope, "no scope requested"));
    }
    Ok(())
}

/// RFC 7636 §4.3 and RFC 9700 §2.1.1: a code_challenge with method S256, required unless the
/// client opted out; anything else is `invalid_request` (RFC 7636 §4.4.1).
pub fn pkce(
    client: &Client,
    params: &Params,
    target: &Target,
) -> Result<Option<String>, AuthorizeError> {
    pkce::challenge(params, client.pkce_required)
        .map_err(|d| target.error(ErrorCode::InvalidRequest, d))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn params(query: &str) -> Params {
        Params::parse(query.as_bytes()).expect("params")
    }

    /// The error code a check sent back to the client, or "ok".
    pub(crate) fn code<T>(result: Result<T, AuthorizeError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(AuthorizeError::Redirect { error, .. }) => error.as_str(),
            Err(other) => panic!("not redirected: {other:?}"),
        }
    }

    pub(crate) fn target() -> Target {
        Target {
            redirect_uri: "https://app.example/cb".into(),
            response_mode: ResponseMode::Query,
            state: None,
        }
    }

    #[test]
    fn response_mode_and_state() {
        let t = super::target(
            "https://app.example/cb".into(),
            &params("response_mode=form_post&state=s"),
        )
        .expect("form_post");
        assert_eq!(t.response_mode, ResponseMode::FormPost);
        assert_eq!(t.state.as_deref(), Some("s"));
        let refused = super::target(
            "https://app.example/cb".into(),
            &params("response_mode=fragment"),
        );
        assert_eq!(code(refused), "invalid_request");
    }

    #[test]
    fn request_objects_and_response_types() {
        let t = target();
        assert_eq!(
            code(no_request_object(&params("request=x"), &t)),
            "request_not_supported"
        );
        assert_eq!(
            code(no_request_object(&params("request_uri=x"), &t)),
            "request_uri_not_supported"
        );
        assert_eq!(code(response_type(&params("response_type=code"), &t)), "ok");
        assert_eq!(
            code(response_type(&params("response_type=token"), &t)),
            "unsupported_response_type"
        );
        assert_eq!(code(response_type(&params(""), &t)), "invalid_request");
    }
}
