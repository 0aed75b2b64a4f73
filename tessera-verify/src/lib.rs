//! Verifies the JWT access tokens (RFC 9068) of Tessera, the authorization server of this
//! repository, in axum and tower services, and exchanges them for the next hop (RFC 8693).
//!
//! A [`Verifier`] is built once per service from the issuer URL and the service's audience.
//! It finds the signing keys through discovery (`/.well-known/openid-configuration` →
//! `jwks_uri`), keeps them for the JWKS answer's `Cache-Control: max-age`, fetches them again
//! when a token names an unknown `kid` (one fetch at a time, at most one per
//! [`min_refresh_interval`](VerifierBuilder::min_refresh_interval)), and keeps using the keys it
//! has while Tessera cannot be reached. Verifying a token on the cached path makes no network
//! call.
//!
//! Each token is checked as RFC 9068 §4 says: `typ` is `at+jwt`; the algorithm is ES256, EdDSA,
//! RS256 or PS256 (never `none` or HMAC) and matches the key; `iss` is the issuer; `aud` names
//! this service; `exp`, `nbf` and `iat` hold within a small leeway. A sender-constrained token is
//! accepted only from its holder: `cnf.x5t#S256` against the connection's client certificate
//! ([`ClientCertificate`], RFC 8705 §3), `cnf.jkt` against a DPoP proof sent with the
//! `Authorization: DPoP` scheme (RFC 9449 §4.3 and §7: `typ`, `jwk`, `htm`, `htu`, `iat`, `jti`
//! once, and `ath`). Routes name the scopes they require.
//!
//! Refusals are RFC 6750 §3 challenges: 401 `invalid_token`, 403 `insufficient_scope` with the
//! scope, 400 `invalid_request`, and a bare `WWW-Authenticate: Bearer` without credentials; DPoP
//! proof errors use the `DPoP` scheme (RFC 9449 §7.1).
//!
//! Two ways to protect routes, which combine:
//!
//! - the [`RequireToken`] layer, with the scopes every request needs;
//! - the [`VerifiedToken`] extractor (or [`Scoped<R>`] with scopes named by a type), which uses
//!   the layer's result, or verifies the request itself with a [`Verifier`] placed in the
//!   request extensions by `axum::Extension`.
//!
//! The README's example (`examples/protected_service.rs`):
//!
//! ```no_run
#![doc = include_str!("../examples/protected_service.rs")]
//! ```
//!
//! For the next hop, [`TokenExchange`] trades the received token
//! ([`VerifiedToken::access_token`]) for one meant for the next service (RFC 8693 §2.1).

mod claims;
mod clock;
mod dpop;
mod error;
mod exchange;
mod extract;
mod fetch;
mod keys;
mod layer;
mod mtls;
mod request;
mod verifier;

pub use claims::{Actor, Confirmation, VerifiedToken};
pub use clock::{Clock, SystemClock};
pub use dpop::access_token_hash;
pub use error::{Rejection, Scheme, VerifyError};
pub use exchange::{
    ACCESS_TOKEN_TYPE, ExchangeError, ExchangeRequest, ExchangedToken, TOKEN_EXCHANGE_GRANT,
    TokenExchange,
};
pub use extract::{RequiredScopes, Scoped};
/// The algorithm type of [`VerifierBuilder::algorithms`] and [`ALLOWED_ALGORITHMS`].
pub use jsonwebtoken::Algorithm;
pub use keys::ALLOWED_ALGORITHMS;
pub use layer::{RequireToken, RequireTokenService};
pub use mtls::ClientCertificate;
pub use verifier::{BuildError, Verifier, VerifierBuilder};
