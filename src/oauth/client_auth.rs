//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, §3.2.1; OIDC Core §9 method names).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::OAuthError;
use super::params::{Params, form_decode};
use crate::model::{AuthMethod, Client, limits};
use crate::oauth::Protocol;
use crate::store::StoreError;

/// The credentials a request presented, before they are checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1: HTTP Basic with client_id and secret each form-urlencoded before base64.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or_else(OAuthError::invalid_client)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client());
    }
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::invalid_client())?;
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(OAuthError::invalid_client)?;
    let id = form_decode(&raw[..colon]).ok_or_else(OAuthError::invalid_client)?;
    let secret = form_decode(&raw[colon + 1..]).ok_or_else(OAuthError::invalid_client)?;
    // An id longer than any client's is refused before it is looked up or keys anything.
    if id.is_empty() || id.len() > limits::CLIENT_ID {
        return Err(OAuthError::invalid_client());
    }
    Ok((id, secret))
}

/// Reads the credentials from the `Authorization` header and the form. RFC 6749 §2.3: a client
/// MUST NOT use more than one authentication method in a request.
pub fn presented(
    authorization: Option<&str>,
    params: &Params,
) -> Result<Option<Presented>, OAuthError> {
    let form_id = params.get("client_id");
    let form_secret = params.get("client_secret");
    if let Some(header) = authorization {
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client credentials sent both in the Authorization header and in the body",
            ));
        }
        let (client_id, secret) = parse_basic(header)?;
        if form_id.is_some_and(|f| f != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body does not match the Authorization header",
            ));
        }
        return Ok(Some(Presented {
            client_id,
            secret: Some(secret),
            method: AuthMethod::ClientSecretBasic,
        }));
    }
    Ok(form_id.map(|id| Presented {
        client_id: id.to_owned(),
        secret: form_secret.map(str::to_owned),
        method: if form_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
    }))
}

/// Checks presented credentials. Every failure is the same `invalid_client` (RFC 6749 §5.2), and
/// an unknown client runs the same constant-time comparison as a known one.
pub async fn authenticate(
    ctx: &Protocol,
    presented: Option<Presented>,
) -> Result<Arc<Client>, OAuthError> {
    let presented = presented.ok_or_else(OAuthError::invalid_client)?;
    let client = ctx.cached_client(&presented.client_id).await?;
    let Some(client) = client else {
        if let Some(secret) = &presented.secret {
            ctx.hasher.verify_dummy(secret);
        }
        return Err(OAuthError::invalid_client());
    };
    let mut current_matched = false;
    let ok = match &presented.secret {
        None => client.public && presented.method == AuthMethod::None,
        Some(secret) => {
            let current = client
                .secret_hash
                .as_deref()
                .is_some_and(|h| ctx.hasher.verify(secret, h));
            current_matched = current;
            let previous = !current
                && client
                    .previous_secret_expires_at
                    .is_some_and(|t| t > ctx.now())
                && client
                    .previous_secret_hash
                    .as_deref()
                    .is_some_and(|h| ctx.hasher.verify(secret, h));
            (current || previous) && client.auth_method == presented.method
        }
    };
    if !ok || client.disabled {
        return Err(OAuthError::invalid_client());
    }
    // The secret was just checked against the current hash (or the previous one during an
    // overlap); a current hash under an older master key is replaced now.
    if let Some(secret) = &presented.secret
        && current_matched
        && client
            .secret_hash
            .as_deref()
            .is_some_and(|h| ctx.hasher.is_outdated(h))
    {
        rehash_secret(ctx, &client, secret).await?;
    }
    Ok(client)
}

/// After a master-key rewrap: stores the secret's hash under the new primary key, keeping any
/// rotation overlap as it was. Runs on the secret's next successful use.
async fn rehash_secret(ctx: &Protocol, client: &Client, secret: &str) -> Result<(), StoreError> {
    let hash = ctx.hasher.hash(secret);
    let previous = client
        .previous_secret_hash
        .as_deref()
        .zip(client.previous_secret_expires_at);
    crate::store::clients::set_secret(&ctx.db, &client.client_id, &hash, previous, ctx.now(), None)
        .await?;
    ctx.clients.invalidate(&client.client_id.0);
    tracing::info!(client_id = %client.client_id, "client secret re-hashed under the new master key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let (id, secret) = parse_basic(&basic("a%3Ab+c%25", "s%3A+x")).expect("valid");
        assert_eq!(id, "a:b c%");
        assert_eq!(secret, "s: x");
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
        assert!(parse_basic(&basic(&"a".repeat(limits::CLIENT_ID + 1), "s")).is_err());
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let params = Params::parse(b"client_secret=x").expect("valid");
        let err = presented(Some(&basic("a", "b")), &params).unwrap_err();
        assert_eq!(err.code, crate::oauth::ErrorCode::InvalidRequest);
        let params = Params::parse(b"client_id=a&client_secret=x").expect("valid");
        let p = presented(None, &params).expect("ok").expect("some");
        assert_eq!(p.method, AuthMethod::ClientSecretPost);
    }
}
