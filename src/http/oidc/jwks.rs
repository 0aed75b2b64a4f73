//! `GET /jwks.json` (RFC 7517 §5): every published key (next, active, retired).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let keys = state.keys.current();
    let max_age = format!("public, max-age={}", state.config.keys.jwks_max_age);
    let cache = HeaderValue::from_str(&max_age).unwrap_or(HeaderValue::from_static("max-age=300"));
    let etag = HeaderValue::from_str(&keys.etag).ok();
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == &*keys.etag || t.trim() == "*")
        });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            )],
            keys.jwks.to_string(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, cache);
    if let Some(etag) = etag {
        h.insert(header::ETAG, etag);
    }
    response
}
