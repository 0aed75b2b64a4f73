//! CORS for browser apps at /token, /revoke and /userinfo: only origins registered for a client
//! (the origins of its redirect URIs, or its explicit list) are ever echoed — never `*`, and no
//! credentials mode. /introspect and the rest send no CORS headers.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::model::Client;
use crate::state::Core;

/// Whether any enabled client registered `origin` (an indexed, cached lookup); a store
/// failure answers no.
async fn registered(core: &Core, origin: &str) -> bool {
    matches!(core.origin_registered(origin).await, Ok(true))
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

fn allow(response: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Echoes the origin on an answer for `client` when that client registered it.
pub fn for_client(client: &Client, origin: Option<&str>, response: &mut Response) {
    if let Some(o) = origin
        && client.allows_origin(o)
    {
        allow(response, o);
    }
}

/// `OPTIONS` preflight (Fetch §3.2.2): answered for registered origins only.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(o) = origin(&headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    if !registered(&state, o).await {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    allow(&mut response, o);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// Lets a registered origin read error answers too (the handler already set the header on
/// successes, for the authenticated client only).
pub async fn errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let o = origin(req.headers()).map(str::to_owned);
    let mut response = next.run(req).await;
    if let Some(o) = o
        && !response.status().is_success()
        && !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        && registered(&state, &o).await
    {
        allow(&mut response, &o);
    }
    response
}
