//! RFC 9449 §4.3 and §7.1: the DPoP proof that must come with a DPoP-bound access token.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, DecodingKey, decode_header};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::VerifyError;
use crate::keys::fits;
use crate::verifier::signed_claims;

/// RFC 9449 §4.2: the proof's `typ`.
const PROOF_TYP: &str = "dpop+jwt";
/// RFC 7517 §9.2 / RFC 7518 §6: members that only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

pub(crate) struct DpopSettings {
    /// How old a proof may be (by its `iat`), before leeway.
    pub max_age: u64,
    pub leeway: u64,
    pub algorithms: Vec<Algorithm>,
    /// Where clients reach this service (`https://api.example.com`), for `htu`.
    pub public_base_url: Option<Url>,
    pub replay: ReplayCache,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default)]
    ath: Option<String>,
}

fn bad(why: impl Into<String>) -> VerifyError {
    VerifyError::InvalidDpopProof(why.into())
}

/// RFC 9449 §4.3 checks 1-12 for a request carrying the DPoP-bound `access_token` whose
/// `cnf.jkt` is `jkt`. The `nonce` of §8-9 is not asked for.
pub(crate) fn check(
    settings: &DpopSettings,
    parts: &Parts,
    access_token: &str,
    jkt: &str,
    now: u64,
) -> Result<(), VerifyError> {
    let proof = single_proof(parts)?;
    let header = decode_header(proof).map_err(|e| bad(format!("malformed proof: {e}")))?;
    if header.typ.as_deref() != Some(PROOF_TYP) {
        return Err(bad("the proof's typ is not dpop+jwt"));
    }
    if !settings.algorithms.contains(&header.alg) {
        return Err(bad("the proof's algorithm is not accepted"));
    }
    let jwk = header
        .jwk
        .ok_or_else(|| bad("the proof has no jwk header"))?;
    if has_private_members(proof) || !fits(header.alg, &jwk) {
        return Err(bad("the proof's jwk is not a public key for its algorithm"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| bad(format!("proof key: {e}")))?;
    let claims =
        signed_claims(proof, &key, header.alg).map_err(|e| bad(format!("proof signature: {e}")))?;
    let claims = ProofClaims::deserialize(Value::Object(claims))
        .map_err(|e| bad(format!("proof claims: {e}")))?;
    check_claims(settings, parts, &claims, access_token, now)?;
    let thumbprint = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| bad(format!("proof key: {e}")))?;
    if thumbprint != jkt {
        return Err(VerifyError::InvalidToken(
            "the token is bound to another key than the proof's".into(),
        ));
    }
    let until = claims
        .iat
        .saturating_add(settings.max_age + settings.leeway);
    if !settings
        .replay
        .first_use(&format!("{jkt}:{}", claims.jti), until, now)
    {
        return Err(bad("the proof was used before"));
    }
    Ok(())
}

/// RFC 9449 §4.3 check 1: exactly one `DPoP` header.
fn single_proof(parts: &Parts) -> Result<&str, VerifyError> {
    let mut values = parts.headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().map_err(|_| bad("the proof is not ASCII")),
        (None, _) => Err(bad("a DPoP-bound token needs a DPoP proof")),
        (Some(_), Some(_)) => Err(bad("more than one DPoP proof")),
    }
}

/// RFC 9449 §4.3 check 5: the `jwk` header must not hold a private key.
fn has_private_members(proof: &str) -> bool {
    let header = proof
        .split('.')
        .next()
        .and_then(|segment| URL_SAFE_NO_PAD.decode(segment).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let Some(jwk) = header.as_ref().and_then(|h| h.get("jwk")) else {
        return true;
    };
    PRIVATE_MEMBERS
        .iter()
        .any(|member| jwk.get(member).is_some())
}

/// RFC 9449 §4.3 checks 8-11: method, URI, age and the access token hash.
fn check_claims(
    settings: &DpopSettings,
    parts: &Parts,
    claims: &ProofClaims,
    access_token: &str,
    now: u64,
) -> Result<(), VerifyError> {
    if claims.jti.is_empty() {
        return Err(bad("the proof has no jti"));
    }
    if claims.htm != parts.method.as_str() {
        return Err(bad("the proof is for another method"));
    }
    let expected = request_url(settings.public_base_url.as_ref(), parts)
        .ok_or_else(|| bad("the request URI cannot be reconstructed"))?;
    if !same_resource(&claims.htu, &expected) {
        return Err(bad("the proof is for another URI"));
    }
    let too_old = claims
        .iat
        .saturating_add(settings.max_age + settings.leeway)
        < now;
    if too_old || claims.iat > now.saturating_add(settings.leeway) {
        return Err(bad("the proof's iat is outside the accepted window"));
    }
    if claims.ath.as_deref() != Some(access_token_hash(access_token).as_str()) {
        return Err(bad("the proof's ath does not match the access token"));
    }
    Ok(())
}

/// RFC 9449 §4.2 `ath`: base64url(SHA-256(ASCII access token)).
pub fn access_token_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// The URL the client addressed: the configured public base and the path as the client sent
/// it (before any `nest`), else the request's own authority (`Host`) over https.
fn request_url(base: Option<&Url>, parts: &Parts) -> Option<Url> {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |original| original.0.path());
    let origin = match base {
        Some(base) => base.as_str().trim_end_matches('/').to_owned(),
        None => {
            let host = parts
                .uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .or_else(|| {
                    parts
                        .headers
                        .get(http::header::HOST)?
                        .to_str()
                        .ok()
                        .map(str::to_owned)
                })?;
            format!("https://{host}")
        }
    };
    Url::parse(&format!("{origin}{path}")).ok()
}

/// RFC 9449 §4.3 check 9: the same URI, ignoring query and fragment, after RFC 3986 §6.2.2 and
/// §6.2.3 normalisation (case of scheme and host, default ports, percent-encoding).
fn same_resource(htu: &str, expected: &Url) -> bool {
    let Ok(htu) = Url::parse(htu) else {
        return false;
    };
    htu.scheme() == expected.scheme()
        && htu.host_str() == expected.host_str()
        && htu.port_or_known_default() == expected.port_or_known_default()
        && htu.path() == expected.path()
}

/// The `jti`s of proofs seen within their acceptance window (RFC 9449 §11.1), in this process.
/// Instances behind a load balancer each keep their own: a proof replayed to another instance
/// within the window is not caught here (the window is short for that reason).
#[derive(Default)]
pub(crate) struct ReplayCache {
    seen: Mutex<HashMap<String, u64>>,
}

impl ReplayCache {
    /// Records `jti` until `until`; false when it is already recorded.
    pub fn first_use(&self, jti: &str, until: u64, now: u64) -> bool {
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.len() >= 1024 {
            seen.retain(|_, expiry| *expiry >= now);
        }
        match seen.get(jti) {
            Some(expiry) if *expiry >= now => false,
            _ => {
                seen.insert(jti.to_owned(), until);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 §7.1's example: the `ath` of its access token.
    #[test]
    fn ath_matches_the_rfc_example() {
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn htu_ignores_query_fragment_case_and_default_port() {
        let expected = Url::parse("https://api.example.com/orders/1").unwrap();
        assert!(same_resource(
            "https://API.example.com:443/orders/1?x=1#f",
            &expected
        ));
        assert!(!same_resource(
            "https://api.example.com/orders/2",
            &expected
        ));
        assert!(!same_resource("http://api.example.com/orders/1", &expected));
        assert!(!same_resource(
            "https://api.example.com:8443/orders/1",
            &expected
        ));
    }

    #[test]
    fn a_jti_is_accepted_once_within_its_window() {
        let cache = ReplayCache::default();
        assert!(cache.first_use("a", 100, 10));
        assert!(!cache.first_use("a", 100, 50));
        assert!(cache.first_use("b", 100, 50));
        assert!(
            cache.first_use("a", 200, 101),
            "expired entries do not count"
        );
    }
}
