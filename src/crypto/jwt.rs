//! JWS compact serialization (RFC 7515 §7.1). Signing uses our cached aws-lc-rs key pairs rather
//! than `jsonwebtoken::encode`, which re-parses the private key on every call and halves ES256
//! throughput; decoding and verification use jsonwebtoken.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CryptoError;
use super::keys::KeyPair;
use crate::model::SigningAlg;

/// A key that may sign, with its id.
#[derive(Debug)]
pub struct Signer {
    pub kid: String,
    pub alg: SigningAlg,
    pub pair: KeyPair,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl Signer {
    /// `typ` is the JWS `typ` header, e.g. `at+jwt` for RFC 9068 access tokens.
    pub fn sign<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, CryptoError> {
        let header = serde_json::to_vec(&Header {
            alg: self.alg.as_str(),
            typ,
            kid: &self.kid,
        })
        .map_err(|_| CryptoError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|_| CryptoError::Signing)?;
        let mut out = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header, &mut out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.pair.sign(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

fn jwt_alg(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    }
}

/// Why a JWT was not accepted. Callers turn every variant into "inactive" or `invalid_token`;
/// the distinction is for logs.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("bad signature or claims: {0}")]
    Invalid(String),
}

/// Public keys by kid, for verifying our own tokens.
#[derive(Default)]
pub struct Verifier {
    keys: HashMap<String, (SigningAlg, DecodingKey)>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    pub fn insert(
        &mut self,
        kid: &str,
        alg: SigningAlg,
        jwk: &serde_json::Value,
    ) -> Result<(), CryptoError> {
        let bad = |reason: String| CryptoError::BadKey {
            kid: kid.to_owned(),
            reason,
        };
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| bad(e.to_string()))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
        self.keys.insert(kid.to_owned(), (alg, key));
        Ok(())
    }

    /// Checks the signature with the key named by `kid` (its algorithm, never the header's
    /// choice: RFC 8725 §3.1), the `typ` header and the issuer. Expiry is left to the caller,
    /// which owns the clock.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
    ) -> Result<C, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let (alg, key) = self.keys.get(kid).ok_or(VerifyError::UnknownKey)?;
        if header.alg != jwt_alg(*alg) {
            return Err(VerifyError::Invalid(
                "algorithm does not match the key".into(),
            ));
        }
        if !header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(typ) || t.eq_ignore_ascii_case(&format!("application/{typ}"))
        }) {
            return Err(VerifyError::WrongType);
        }
        let mut validation = Validation::new(jwt_alg(*alg));
        validation.validate_exp = false;
        validation.validate_aud = false;
        // jsonwebtoken checks `iss` only when present: require it (and a string).
        validation.set_required_spec_claims(&["iss"]);
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<C>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| VerifyError::Invalid(e.to_string()))
    }
}
