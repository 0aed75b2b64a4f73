//! One file per grant type (RFC 6749 §4).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::sync::Arc;

use super::OAuthError;
use super::params::Params;
use crate::model::{Client, Resource, Scope, validate_resource_identifier};
use crate::service::Core;

/// RFC 8707 §2: picks the token's audience. An explicit `resource` must be an absolute URI
/// without a fragment and granted to the client; none means the client's default resource; a
/// token is never issued without an audience.
pub async fn select_resource(
    core: &Core,
    client: &Client,
    params: &Params,
) -> Result<Arc<Resource>, OAuthError> {
    let target = |d: &'static str| OAuthError::new(super::ErrorCode::InvalidTarget, d);
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
    core.cached_resource(identifier)
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
    let invalid = |d: &'static str| OAuthError::new(super::ErrorCode::InvalidScope, d);
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
