//! The axum extractors: the verified token, and the same with scopes required by its type.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::claims::VerifiedToken;
use crate::error::{Rejection, Scheme, VerifyError};
use crate::request::check_scopes;
use crate::verifier::Verifier;

/// The token [`RequireToken`](crate::RequireToken) verified for this request; without the layer,
/// the request is verified here with the [`Verifier`] found in the request's extensions (add it
/// with `axum::Extension(verifier)`).
impl<S: Send + Sync> FromRequestParts<S> for VerifiedToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        if let Some(token) = parts.extensions.get::<VerifiedToken>() {
            return Ok(token.clone());
        }
        let verifier = parts
            .extensions
            .get::<Verifier>()
            .cloned()
            .ok_or_else(|| VerifyError::NotConfigured.in_scheme(Scheme::Bearer))?;
        let token = verifier.verify_request(parts, &[]).await?;
        parts.extensions.insert(token.clone());
        Ok(token)
    }
}

/// The scopes a route requires, named by a type so that the extractor can carry them:
///
/// ```
/// struct ReadOrders;
/// impl tessera_verify::RequiredScopes for ReadOrders {
///     const SCOPES: &'static [&'static str] = &["orders:read"];
/// }
/// ```
pub trait RequiredScopes: Send + Sync + 'static {
    const SCOPES: &'static [&'static str];
}

/// A [`VerifiedToken`] that also carries every scope of `R` (403 `insufficient_scope`
/// otherwise). Derefs to the token.
pub struct Scoped<R> {
    pub token: VerifiedToken,
    scopes: PhantomData<fn() -> R>,
}

impl<R> Deref for Scoped<R> {
    type Target = VerifiedToken;

    fn deref(&self) -> &VerifiedToken {
        &self.token
    }
}

impl<S: Send + Sync, R: RequiredScopes> FromRequestParts<S> for Scoped<R> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let token = VerifiedToken::from_request_parts(parts, state).await?;
        let scheme = match token.cnf.as_ref().and_then(|c| c.jkt.as_ref()) {
            Some(_) => Scheme::DPoP,
            None => Scheme::Bearer,
        };
        check_scopes(&token, R::SCOPES).map_err(|e| e.in_scheme(scheme))?;
        Ok(Self {
            token,
            scopes: PhantomData,
        })
    }
}
