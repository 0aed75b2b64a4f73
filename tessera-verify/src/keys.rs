//! The issuer's signing keys: found through discovery (OIDC Discovery §4: the provider
//! metadata's `jwks_uri`), kept for the JWKS answer's max-age, refreshed when a token names a key
//! the cache does not hold (a rotation), and served stale while the issuer cannot be reached.
//!
//! Refreshes are single-flight (one fetch at a time; requests that wanted one wait for it and use
//! its result) and rate-limited (at most one fetch attempt per `min_refresh_interval`), so a
//! flood of tokens with made-up `kid`s costs the issuer one request per interval, not one each.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::clock::Clock;
use crate::fetch::get_json;

/// The algorithms a Tessera access token or a DPoP proof may use: asymmetric ones only, never
/// `none` or HMAC (a shared secret would let any holder of the JWKS forge tokens).
pub const ALLOWED_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// One verification key of the issuer.
pub(crate) struct Key {
    /// The JWK's `alg`, when it names one: a token must then use exactly that algorithm.
    pub alg: Option<Algorithm>,
    pub jwk: Jwk,
    pub decoding: DecodingKey,
}

/// RFC 7518 §3.1 with RFC 8037 §3.1: whether `jwk` is a key of the kind `alg` verifies with.
pub(crate) fn fits(alg: Algorithm, jwk: &Jwk) -> bool {
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        _ => false,
    }
}

/// A public signing key from a JWKS entry; None for entries this verifier cannot use
/// (encryption keys, symmetric keys, unknown types, no `kid`).
fn parse_key(value: &Value) -> Option<(String, Key)> {
    let kid = value.get("kid")?.as_str()?.to_owned();
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    let alg = match value.get("alg").and_then(Value::as_str) {
        Some(name) => Some(Algorithm::from_str(name).ok()?),
        None => None,
    };
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Key { alg, jwk, decoding }))
}

/// One fetched key set.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<Key>>,
    /// Unix time after which the set is stale (still used while no fresh one can be fetched).
    fresh_until: u64,
    /// Counts successful fetches, so that a waiter can tell whether one happened meanwhile.
    generation: u64,
}

/// What the single refresh slot remembers.
#[derive(Default)]
struct RefreshState {
    jwks_uri: Option<String>,
    last_attempt: Option<u64>,
}

pub(crate) struct KeyCache {
    issuer: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    min_refresh_interval: u64,
    set: RwLock<Arc<KeySet>>,
    refresh: Arc<Mutex<RefreshState>>,
    fetches: AtomicU64,
}

/// Why no key could be found for a token.
pub(crate) enum KeyError {
    /// The keys were fetched, and none has this `kid`.
    Unknown,
    /// No key set could ever be fetched.
    Unavailable(String),
}

impl KeyCache {
    pub fn new(
        issuer: String,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        min_refresh_interval: u64,
    ) -> Self {
        Self {
            issuer,
            http,
            clock,
            min_refresh_interval,
            set: RwLock::default(),
            refresh: Arc::default(),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was requested (successfully or not).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key named `kid`: from the cache while it is fresh; else after a refresh when one is
    /// allowed; else from the stale cache.
    pub async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<Key>, KeyError> {
        let set = self.snapshot();
        if let Some(key) = set.keys.get(kid) {
            if self.clock.now() < set.fresh_until {
                return Ok(key.clone());
            }
            // Stale but known: refresh in the background unless a refresh is under way, and
            // answer with the key held, so that a slow or absent issuer delays no request.
            if let Ok(guard) = self.refresh.clone().try_lock_owned() {
                let (cache, generation) = (self.clone(), set.generation);
                tokio::spawn(async move { cache.refresh_locked(guard, generation).await });
            }
            return Ok(key.clone());
        }
        let guard = self.refresh.clone().lock_owned().await;
        let set = self.refresh_locked(guard, set.generation).await;
        match set.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if set.generation > 0 => Err(KeyError::Unknown),
            None => Err(KeyError::Unavailable(
                "the issuer's keys could not be fetched".into(),
            )),
        }
    }

    /// Fetches a new set unless another caller did while this one waited for the slot, or the
    /// last attempt is under `min_refresh_interval` old. A failed fetch keeps the old set.
    async fn refresh_locked(
        &self,
        mut state: OwnedMutexGuard<RefreshState>,
        seen_generation: u64,
    ) -> Arc<KeySet> {
        let current = self.snapshot();
        let now = self.clock.now();
        let recent = state
            .last_attempt
            .is_some_and(|at| now < at.saturating_add(self.min_refresh_interval));
        if current.generation != seen_generation || recent {
            return current;
        }
        state.last_attempt = Some(now);
        match self.fetch(&mut state).await {
            Ok((keys, max_age)) => {
                let set = Arc::new(KeySet {
                    keys,
                    fresh_until: now.saturating_add(max_age),
                    generation: current.generation + 1,
                });
                match self.set.write() {
                    Ok(mut slot) => *slot = set.clone(),
                    Err(poisoned) => *poisoned.into_inner() = set.clone(),
                }
                set
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, error = %why, "JWKS refresh failed; keeping the keys held");
                current
            }
        }
    }

    async fn fetch(
        &self,
        state: &mut RefreshState,
    ) -> Result<(HashMap<String, Arc<Key>>, u64), String> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let uri = self.discover().await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = get_json(&self.http, &jwks_uri).await?;
        let entries = fetched
            .json
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("the JWKS has no keys array")?;
        let keys = entries
            .iter()
            .filter_map(parse_key)
            .map(|(kid, key)| (kid, Arc::new(key)))
            .collect();
        Ok((keys, fetched.max_age))
    }

    /// OIDC Discovery §4.3: the metadata's `issuer` must be the one configured, exactly.
    async fn discover(&self) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let metadata = get_json(&self.http, &url).await?.json;
        if metadata.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(format!("{url} names another issuer"));
        }
        metadata
            .get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{url} has no jwks_uri"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signature_keys_of_known_kinds_are_kept() {
        let ec = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "e", "alg": "ES256", "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        });
        let (kid, key) = parse_key(&ec).expect("an EC key");
        assert_eq!(kid, "e");
        assert_eq!(key.alg, Some(Algorithm::ES256));
        assert!(fits(Algorithm::ES256, &key.jwk));
        assert!(!fits(Algorithm::RS256, &key.jwk));
        assert!(!fits(Algorithm::EdDSA, &key.jwk));

        let mut enc = ec.clone();
        enc["use"] = "enc".into();
        assert!(parse_key(&enc).is_none(), "encryption key");
        let mut anonymous = ec.clone();
        anonymous.as_object_mut().unwrap().remove("kid");
        assert!(parse_key(&anonymous).is_none(), "no kid");
        let secret = serde_json::json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"});
        assert!(parse_key(&secret).is_none(), "symmetric key");
    }
}
