//! ID tokens (OIDC Core §2, §3.1.3.6) and id_token_hint checks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::crypto::CryptoError;
use crate::model::{Client, SigningAlg};
use crate::oauth::Protocol;
use crate::oauth::tokens::SignIn;

pub const ID_TOKEN_TYP: &str = "JWT";

/// OIDC Core §2 claims we issue.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    pub azp: String,
    pub sid: String,
}

/// OIDC Core §3.1.3.6: the left half of the hash of the access token's ASCII, with the hash
/// of the signing algorithm (SHA-256 for RS256/ES256; SHA-512 for Ed25519, as EdDSA uses).
pub fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let algorithm = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => &ring::digest::SHA256,
        SigningAlg::EdDSA => &ring::digest::SHA512,
    };
    let digest = ring::digest::digest(algorithm, access_token.as_bytes());
    let bytes = digest.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Signs an ID token for `client` with its `id_token_signed_response_alg`.
pub fn issue(
    ctx: &Protocol,
    client: &Client,
    sign_in: &SignIn,
    access_token: &str,
    ttl: i64,
) -> Result<String, CryptoError> {
    let signer = ctx
        .keys
        .current()
        .signer(client.id_token_alg)
        .ok_or(CryptoError::Signing)?;
    let now = ctx.now();
    let claims = IdTokenClaims {
        iss: ctx.issuer().to_owned(),
        sub: sign_in.sub.clone(),
        aud: client.client_id.0.clone(),
        exp: now + ttl,
        iat: now,
        auth_time: sign_in.auth_time,
        nonce: sign_in.nonce.clone(),
        at_hash: Some(at_hash(client.id_token_alg, access_token)),
        azp: client.client_id.0.clone(),
        sid: sign_in.sid.clone(),
    };
    signer.sign(ID_TOKEN_TYP, &claims)
}

/// A verified id_token_hint (OIDC Core §3.1.2.1): signed by us, our issuer; expiry tolerated.
pub struct IdTokenHint {
    pub sub: String,
    /// The client the ID token was issued to.
    pub aud: String,
}

impl IdTokenHint {
    pub fn verify(ctx: &Protocol, token: &str) -> Option<Self> {
        let claims: IdTokenClaims = ctx
            .keys
            .current()
            .verifier
            .verify(token, ID_TOKEN_TYP, ctx.issuer())
            .ok()?;
        Some(Self {
            sub: claims.sub,
            aud: claims.aud,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OIDC Core §3.1.3.6 with the example from the spec's test vectors shape: 16 bytes for
    /// SHA-256, 32 for SHA-512, base64url without padding.
    #[test]
    fn at_hash_lengths() {
        assert_eq!(at_hash(SigningAlg::RS256, "token").len(), 22);
        assert_eq!(at_hash(SigningAlg::EdDSA, "token").len(), 43);
        assert_ne!(
            at_hash(SigningAlg::ES256, "a"),
            at_hash(SigningAlg::ES256, "b")
        );
    }
}
