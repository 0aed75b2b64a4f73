//! A JWKS endpoint that answers slowly or hugely costs the verifier a bounded wait and a
//! bounded read: without keys the request is answered 503; with keys held, nothing waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::json;
use tessera::TestClock;
use tessera_verify::Clock;

use crate::issuer::EcKey;
use crate::support::{SharedClock, call, protected_service};

/// An issuer whose discovery works and whose `/jwks` is `jwks`.
async fn issuer_with(jwks: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let metadata = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
    let router = jwks.route(
        "/.well-known/openid-configuration",
        get(move || async move { axum::Json(metadata) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn token_naming(kid: &str) -> String {
    use base64::Engine;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}).to_string();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    format!("Bearer {header}.e30.c2ln")
}

#[tokio::test]
async fn a_slow_jwks_is_given_up_after_the_fetch_timeout() {
    let slow = Router::new().route(
        "/jwks",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            axum::Json(json!({"keys": []}))
        }),
    );
    let base = issuer_with(slow).await;
    let verifier = tessera_verify::Verifier::builder(&base, "https://orders.test")
        .fetch_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let started = Instant::now();
    let (status, _, _) = call(&format!("{service}/any"), Some(&token_naming("k"))).await;
    assert_eq!(status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(verifier.key_set_fetches(), 1);
}

#[tokio::test]
async fn a_huge_jwks_is_refused_without_being_read_whole() {
    // 4 MiB of keys: far over the verifier's limit.
    let padding = "A".repeat(4 << 20);
    let huge = Router::new().route(
        "/jwks",
        get(move || {
            let padding = padding.clone();
            async move { axum::Json(json!({"keys": [], "padding": padding})) }
        }),
    );
    let base = issuer_with(huge).await;
    let verifier = tessera_verify::Verifier::builder(&base, "https://orders.test")
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let (status, _, body) = call(&format!("{service}/any"), Some(&token_naming("k"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(verifier.key_set_fetches(), 1);
}

/// Once keys are held, an issuer that stops answering delays no request: past the max-age the
/// refresh runs in the background while the held key verifies.
#[tokio::test]
async fn a_hanging_issuer_delays_no_request_once_keys_are_held() {
    let key = EcKey::generate();
    let mut jwk = key.public_jwk.clone();
    jwk["kid"] = "k".into();
    let served = Arc::new(AtomicUsize::new(0));
    let hanging = Router::new().route(
        "/jwks",
        get(move || {
            let (jwk, first) = (jwk.clone(), served.fetch_add(1, Ordering::SeqCst) == 0);
            async move {
                if !first {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                axum::Json(json!({"keys": [jwk]}))
            }
        }),
    );
    let base = issuer_with(hanging).await;
    let clock = TestClock::new();
    let verifier = tessera_verify::Verifier::builder(&base, "https://orders.test")
        .clock(Arc::new(SharedClock(clock.clone())))
        .fetch_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let now = SharedClock(clock.clone()).now();
    let claims = json!({
        "iss": base, "sub": "a", "client_id": "a", "aud": "https://orders.test",
        "iat": now, "exp": now + 3600, "jti": "j",
    });
    let token = format!("Bearer {}", key.sign("at+jwt", Some("k"), false, &claims));
    assert_eq!(call(&format!("{service}/any"), Some(&token)).await.0, 200);

    clock.advance(301);
    let started = Instant::now();
    assert_eq!(call(&format!("{service}/any"), Some(&token)).await.0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
