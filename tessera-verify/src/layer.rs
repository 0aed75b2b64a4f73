//! The tower layer: verifies every request before the inner service sees it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::Request;
use tower::{Layer, Service};

use crate::verifier::Verifier;

/// Refuses requests without a valid access token carrying `scopes`, answering with an RFC 6750
/// challenge; passes the others on with the [`VerifiedToken`](crate::VerifiedToken) in their
/// extensions (where the extractor finds it).
///
/// With axum, `Router::route_layer` protects the routes declared before it:
/// `.route("/orders", get(list)).route_layer(RequireToken::new(verifier).scopes(&["orders:read"]))`.
#[derive(Clone)]
pub struct RequireToken {
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl RequireToken {
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            scopes: Arc::new([]),
        }
    }

    /// The scopes every request must carry (all of them).
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

impl<S> Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService {
            inner,
            verifier: self.verifier.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// The service [`RequireToken`] wraps around an inner one.
#[derive(Clone)]
pub struct RequireTokenService<S> {
    inner: S,
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl<S, B> Service<Request<B>> for RequireTokenService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let required: Vec<&str> = scopes.iter().map(String::as_str).collect();
            match verifier.verify_request(&parts, &required).await {
                Ok(token) => {
                    parts.extensions.insert(token);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
