//! Bounded HTTP reads of the discovery document and the JWKS: a timeout (set on the client), a
//! size limit, and the cache lifetime the server asked for.

use http::HeaderMap;
use http::header::CACHE_CONTROL;
use serde_json::Value;

/// Neither document is anywhere near this; a larger answer is a misconfigured or hostile server.
const MAX_BODY: usize = 256 * 1024;
/// The lifetime of a JWKS answer without a `max-age` (Tessera's own default).
pub(crate) const DEFAULT_MAX_AGE: u64 = 300;
/// Keys are looked at again at least daily, whatever the server says.
const MAX_MAX_AGE: u64 = 24 * 3600;

/// A JSON document and how long it may be kept.
pub(crate) struct Fetched {
    pub json: Value,
    pub max_age: u64,
}

/// GETs `url` and parses its JSON body, refusing a non-200 answer or one over `MAX_BODY` bytes.
pub(crate) async fn get_json(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let mut response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("GET {url}: status {}", response.status()));
    }
    let max_age = max_age(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("GET {url}: answer over {MAX_BODY} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let json = serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))?;
    Ok(Fetched { json, max_age })
}

/// RFC 9111 §5.2.2: `max-age` bounds how long the answer is fresh; `no-store` and `no-cache`
/// make it stale at once.
fn max_age(headers: &HeaderMap) -> u64 {
    let Some(value) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return 0;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds.trim_matches('"').parse().unwrap_or(0);
        }
    }
    age.min(MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age_of(value: Option<&str>) -> u64 {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(CACHE_CONTROL, v.parse().unwrap());
        }
        max_age(&headers)
    }

    #[test]
    fn max_age_follows_cache_control() {
        assert_eq!(age_of(None), DEFAULT_MAX_AGE);
        assert_eq!(age_of(Some("public, max-age=120")), 120);
        assert_eq!(age_of(Some("Max-Age=\"60\"")), 60);
        assert_eq!(age_of(Some("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(age_of(Some("max-age=120, no-cache")), 0);
        assert_eq!(age_of(Some("max-age=soon")), 0);
    }
}
