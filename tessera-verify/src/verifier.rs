//! The verifier: configuration, and the checks of RFC 9068 §4 on one access token.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use url::Url;

use crate::claims::VerifiedToken;
use crate::clock::{Clock, SystemClock};
use crate::dpop::{DpopSettings, ReplayCache};
use crate::error::VerifyError;
use crate::keys::{ALLOWED_ALGORITHMS, KeyCache, KeyError, fits};

/// RFC 9068 §4: the `typ` of an access token (with its media-type spelling).
const ACCESS_TOKEN_TYPES: [&str; 2] = ["at+jwt", "application/at+jwt"];

/// Verifies Tessera's access tokens for one service. Cheap to clone (one shared cache); build it
/// once at start with [`Verifier::builder`].
#[derive(Clone)]
pub struct Verifier {
    pub(crate) inner: Arc<Inner>,
}

/// The settings that identify it; the cache and the clock are left out.
impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("algorithms", &self.inner.algorithms)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    issuer: String,
    audiences: Vec<String>,
    leeway: u64,
    algorithms: Vec<Algorithm>,
    pub(crate) clock: Arc<dyn Clock>,
    keys: Arc<KeyCache>,
    pub(crate) dpop: DpopSettings,
}

/// A configuration the verifier refuses to start with.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the issuer must be an https URL (http is allowed for loopback addresses): {0}")]
    Issuer(String),
    #[error("at least one audience is required: a token for any audience is not for this service")]
    NoAudience,
    #[error("no accepted algorithm left (ES256, EdDSA, RS256 and PS256 are the choices)")]
    NoAlgorithm,
    #[error("the public base URL is not a URL: {0}")]
    PublicBaseUrl(String),
    #[error("the HTTP client cannot be built: {0}")]
    Http(#[from] reqwest::Error),
}

/// The settings of a [`Verifier`]; see each method for its default.
pub struct VerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
    fetch_timeout: Duration,
    min_refresh_interval: Duration,
    dpop_max_age: Duration,
    public_base_url: Option<String>,
}

impl Verifier {
    /// A verifier for tokens from `issuer` (exactly as in Tessera's discovery document) meant
    /// for `audience` (this service's resource identifier, RFC 9068 §4 `aud`).
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            leeway: Duration::from_secs(5),
            algorithms: ALLOWED_ALGORITHMS.to_vec(),
            clock: Arc::new(SystemClock),
            http: None,
            fetch_timeout: Duration::from_secs(5),
            min_refresh_interval: Duration::from_secs(30),
            dpop_max_age: Duration::from_secs(60),
            public_base_url: None,
        }
    }

    /// How many times the JWKS was requested since start (successful or not).
    pub fn key_set_fetches(&self) -> u64 {
        self.inner.keys.fetches()
    }

    /// RFC 9068 §4 on a token alone: `typ`, algorithm, signature by a key of the issuer's JWKS,
    /// `iss`, `aud`, `exp`, `nbf`, `iat`. Sender constraints and scopes need the request: see
    /// [`Verifier::verify_request`].
    pub async fn verify_token(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let invalid = |why: &str| VerifyError::InvalidToken(why.to_owned());
        let header = decode_header(token).map_err(|e| invalid(&format!("malformed: {e}")))?;
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !ACCESS_TOKEN_TYPES.contains(&typ.as_str()) {
            return Err(invalid("not an access token (typ is not at+jwt)"));
        }
        if !self.inner.algorithms.contains(&header.alg) {
            return Err(invalid("the signing algorithm is not accepted"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid("no kid"))?;
        let key = match self.inner.keys.key(kid).await {
            Ok(key) => key,
            Err(KeyError::Unknown) => return Err(invalid("signed by an unknown key")),
            Err(KeyError::Unavailable(why)) => return Err(VerifyError::KeysUnavailable(why)),
        };
        if key.alg.is_some_and(|alg| alg != header.alg) || !fits(header.alg, &key.jwk) {
            return Err(invalid("the key does not sign with this algorithm"));
        }
        let claims = signed_claims(token, &key.decoding, header.alg)
            .map_err(|e| invalid(&format!("signature: {e}")))?;
        let aud = self.check_claims(&claims)?;
        VerifiedToken::from_claims(claims, aud, token).map_err(VerifyError::InvalidToken)
    }

    /// RFC 9068 §4 steps 3-6 on the claims; returns the audiences.
    fn check_claims(&self, claims: &Map<String, Value>) -> Result<Vec<String>, VerifyError> {
        let invalid = |why: &str| Err(VerifyError::InvalidToken(why.to_owned()));
        if claims.get("iss").and_then(Value::as_str) != Some(self.inner.issuer.as_str()) {
            return invalid("issued by another issuer");
        }
        let aud = audiences(claims.get("aud"));
        if !aud.iter().any(|a| self.inner.audiences.contains(a)) {
            return invalid("issued for another audience");
        }
        let now = self.inner.clock.now();
        let leeway = self.inner.leeway;
        let time = |name: &str| claims.get(name).and_then(Value::as_u64);
        match time("exp") {
            None => return invalid("no exp"),
            Some(exp) if exp.saturating_add(leeway) <= now => return invalid("expired"),
            Some(_) => {}
        }
        if time("nbf").is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return invalid("not valid yet (nbf)");
        }
        if time("iat").is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return invalid("issued in the future (iat)");
        }
        Ok(aud)
    }
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of strings.
fn audiences(aud: Option<&Value>) -> Vec<String> {
    match aud {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The claims of a JWS whose signature `key` verifies with `alg`; the time and audience rules
/// are the caller's (judged by its own clock).
pub(crate) fn signed_claims(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    decode::<Map<String, Value>>(token, key, &validation).map(|data| data.claims)
}

impl VerifierBuilder {
    /// Another audience this service answers to (tokens for any of them are accepted).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf`, `iat` and DPoP proofs' `iat`. Default 5 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Narrows the accepted algorithms (of ES256, EdDSA, RS256, PS256; others are ignored).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms
            .iter()
            .copied()
            .filter(|a| ALLOWED_ALGORITHMS.contains(a))
            .collect();
        self
    }

    /// Where time is read. Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client for discovery and the JWKS (its own timeouts then apply). Default: a
    /// rustls client with the system's roots, `fetch_timeout`, and no redirects.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Timeout of each discovery or JWKS request of the default client. Default 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// At most one JWKS request per this interval, whatever tokens arrive. Default 30 s.
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// How old a DPoP proof may be (RFC 9449 §11.1). Default 60 s.
    pub fn dpop_max_age(mut self, max_age: Duration) -> Self {
        self.dpop_max_age = max_age;
        self
    }

    /// The scheme and authority clients use to reach this service (`https://api.example.com`,
    /// with a path prefix if a proxy adds one), against which DPoP proofs' `htu` is compared.
    /// Default: `https://` and the request's `Host`.
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = Some(url.into());
        self
    }

    pub fn build(self) -> Result<Verifier, BuildError> {
        check_issuer(&self.issuer)?;
        if self.audiences.iter().all(String::is_empty) {
            return Err(BuildError::NoAudience);
        }
        if self.algorithms.is_empty() {
            return Err(BuildError::NoAlgorithm);
        }
        let public_base_url = match &self.public_base_url {
            Some(url) => Some(Url::parse(url).map_err(|_| BuildError::PublicBaseUrl(url.clone()))?),
            None => None,
        };
        install_providers();
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.fetch_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        };
        let leeway = self.leeway.as_secs();
        let keys = Arc::new(KeyCache::new(
            self.issuer.clone(),
            http,
            self.clock.clone(),
            self.min_refresh_interval.as_secs(),
        ));
        let dpop = DpopSettings {
            max_age: self.dpop_max_age.as_secs(),
            leeway,
            algorithms: self.algorithms.clone(),
            public_base_url,
            replay: ReplayCache::default(),
        };
        let inner = Inner {
            issuer: self.issuer,
            audiences: self.audiences,
            leeway,
            algorithms: self.algorithms,
            clock: self.clock,
            keys,
            dpop,
        };
        Ok(Verifier {
            inner: Arc::new(inner),
        })
    }
}

/// Keys fetched over plain http could be swapped by anyone on the path; loopback is for tests
/// and sidecars.
fn check_issuer(issuer: &str) -> Result<(), BuildError> {
    let url = Url::parse(issuer).map_err(|_| BuildError::Issuer(issuer.to_owned()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(BuildError::Issuer(issuer.to_owned())),
    }
}

/// jsonwebtoken and rustls each need a process-wide crypto provider; aws-lc-rs is the one this
/// crate is built with. An Err only means one is installed already (by the service or Tessera).
fn install_providers() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}
