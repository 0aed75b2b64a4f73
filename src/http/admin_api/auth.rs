//! Who may call the admin API: a client holding an access token issued for the admin API's own
//! resource (`{issuer}/admin/api`) with the `tessera:admin` scope, checked on every call. Every
//! call is audited: reads and refusals here, successful changes by the service in their own
//! transaction.

use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Refusal};
use crate::http::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::extract::BearerToken;
use crate::model::kind;
use crate::model::{Actor, AuditEvent, Outcome};
use crate::oauth::access_token::{
    ExpectedAudience, Reason, Refused, Verified, verify_access_token,
};
use crate::oauth::defaults::ADMIN_SCOPE;
use crate::oauth::{ErrorCode, OAuthError};
use crate::state::Core;

/// The authenticated caller, put in the request by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub ip: String,
}

impl Caller {
    /// Changes are audited with the calling client as actor.
    pub fn actor(&self) -> Actor {
        Actor::api(&self.client_id, &self.ip)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    /// Fails closed: a handler mounted without the authentication layer answers 500, never
    /// serves an anonymous caller.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("admin API handler reached without authentication"))
    }
}

/// A refused token, with its client when the signature verified (for the audit line).
#[derive(Debug)]
pub struct Denied {
    pub error: OAuthError,
    pub client_id: Option<String>,
}

impl From<OAuthError> for Denied {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            client_id: None,
        }
    }
}

fn invalid_token(description: &'static str, client_id: &str) -> Denied {
    Denied {
        error: OAuthError::new(ErrorCode::InvalidToken, description),
        client_id: Some(client_id.to_owned()),
    }
}

/// RFC 6750 §3.1 and RFC 9068 §4: the token must be still good and issued for the admin API
/// (`verify_access_token`: our signature and issuer, unexpired, not revoked, its client
/// registered and enabled, `aud` the admin API), to a client for itself (the client credentials
/// grant: `sub` is the client), and that client marked `admin_api`; otherwise `invalid_token`
/// (401). A valid admin-API token without `tessera:admin` is `insufficient_scope` (403).
/// Returns the calling client's id.
pub async fn verify(core: &Core, token: &str) -> Result<String, Denied> {
    let admin_api = core.admin_api_identifier();
    let verified = verify_access_token(core, token, ExpectedAudience::Includes(&admin_api)).await;
    let Verified { claims, client, .. } = match verified {
        Ok(verified) => verified,
        Err(Refused::Internal(error)) => return Err(error.into()),
        Err(Refused::Token { reason, client_id }) => {
            let description = match reason {
                Reason::WrongAudience => "the access token is not for the admin API",
                other => other.description(),
            };
            return Err(Denied {
                error: OAuthError::new(ErrorCode::InvalidToken, description),
                client_id,
            });
        }
    };
    let client_id = claims.client_id.as_str();
    if claims.sub != claims.client_id {
        return Err(invalid_token(
            "admin API tokens come from the client_credentials grant",
            client_id,
        ));
    }
    if !client.admin_api {
        return Err(invalid_token(
            "the client may not use the admin API",
            client_id,
        ));
    }
    let scope = claims.scope.as_deref().unwrap_or_default();
    if !scope.split(' ').any(|s| s == ADMIN_SCOPE) {
        return Err(Denied {
            error: OAuthError::insufficient_scope(
                "the access token does not grant tessera:admin",
                ADMIN_SCOPE,
            ),
            client_id: Some(claims.client_id),
        });
    }
    Ok(claims.client_id)
}

/// The authentication layer of every admin-API route, and the audit of reads, refusals and
/// refused tokens.
pub async fn authenticate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    BearerToken(token): BearerToken,
    mut req: Request,
    next: Next,
) -> Response {
    // Inside the nest the URI has lost its /admin/api prefix; the audit names the whole path.
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path().to_owned(), |u| u.path().to_owned());
    let client_id = match verify(&state, &token).await {
        Ok(client_id) => client_id,
        Err(denied) => {
            if denied.error.code != ErrorCode::ServerError {
                let mut event =
                    AuditEvent::new(kind::ADMIN_API_DENIED, state.now(), Outcome::Failure)
                        .ip(ip.as_str())
                        .target(path)
                        .detail(serde_json::json!({
                            "error": denied.error.code.as_str(),
                            "reason": denied.error.description.as_deref(),
                        }));
                if let Some(c) = denied.client_id {
                    event = event.actor(c.as_str()).client(c);
                }
                state.audit.record(event);
            }
            return denied.error.into_response();
        }
    };
    let method = req.method().clone();
    req.extensions_mut().insert(Caller {
        client_id: client_id.clone(),
        ip: ip.clone(),
    });
    let response = next.run(req).await;
    let status = response.status();
    let outcome = if status.is_client_error() || status.is_server_error() {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let event = |kind: &str, detail: serde_json::Value| {
        AuditEvent::new(kind, state.now(), outcome)
            .actor(client_id.as_str())
            .client(client_id.as_str())
            .ip(ip.as_str())
            .target(path.as_str())
            .detail(detail)
    };
    if method == Method::GET {
        state.audit.record(event(
            kind::ADMIN_API_READ,
            serde_json::json!({"status": status.as_u16()}),
        ));
    } else if outcome == Outcome::Failure {
        let refusal = response.extensions().get::<Refusal>();
        state.audit.record(event(
            kind::ADMIN_API_REFUSED,
            serde_json::json!({
                "method": method.as_str(),
                "status": status.as_u16(),
                "error": refusal.map(|r| r.error),
                "field": refusal.and_then(|r| r.field.as_deref()),
            }),
        ));
    }
    response
}
