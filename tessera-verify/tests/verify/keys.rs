//! The JWKS cache against a real Tessera: one fetch for many requests, a rotation found on an
//! unknown kid, a flood of made-up kids held to one fetch per interval, and the keys held while
//! Tessera is down.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tessera::model::{Actor, SigningAlg};

use crate::support::{Tessera, call, protected_service};

const ORDERS: &str = "https://orders.test";
/// The verifiers here allow one JWKS request per this many seconds (the default).
const INTERVAL: i64 = 30;

/// `count` concurrent requests to `url`, each with its own authorization; their statuses.
async fn flood(url: &str, authorizations: Vec<String>) -> Vec<u16> {
    let calls = authorizations.into_iter().map(|authorization| {
        let url = url.to_owned();
        tokio::spawn(async move { call(&url, Some(&authorization)).await.0 })
    });
    let mut statuses = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        statuses.push(call.await.unwrap());
    }
    statuses
}

/// A token-shaped string naming `kid` (refused at the key lookup, before any signature check).
fn made_up(kid: &str) -> String {
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}).to_string());
    format!("Bearer {header}.e30.c2ln")
}

/// Single flight from a cold start; no request on the cached path.
#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let token = tessera.token(&client, None).await;
    let statuses = flood(
        &format!("{service}/any"),
        vec![format!("Bearer {token}"); 20],
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(verifier.key_set_fetches(), 1);
    let statuses = flood(
        &format!("{service}/any"),
        vec![format!("Bearer {token}"); 20],
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        verifier.key_set_fetches(),
        1,
        "the cached path fetches nothing"
    );
}

/// A key that was not published when the verifier fetched (two forced rotations: the second
/// promotes a key created by the first) is found by one refetch; made-up kids after that cost
/// at most one fetch per interval.
#[tokio::test]
async fn a_rotated_key_is_found_and_unknown_kids_are_rate_limited() {
    let tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let url = format!("{service}/any");
    let before = tessera.token(&client, None).await;
    assert_eq!(call(&url, Some(&format!("Bearer {before}"))).await.0, 200);
    assert_eq!(verifier.key_set_fetches(), 1);

    for _ in 0..2 {
        tessera
            .core
            .rotate_key(SigningAlg::ES256, true, &Actor::cli())
            .await
            .expect("rotation");
    }
    let after = tessera.token(&client, None).await;
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&before), kid(&after));
    tessera.clock.advance(INTERVAL);
    assert_eq!(call(&url, Some(&format!("Bearer {after}"))).await.0, 200);
    assert_eq!(verifier.key_set_fetches(), 2, "one refetch for the new kid");

    // Right after that fetch, a flood of unknown kids fetches nothing.
    let statuses = flood(
        &url,
        (0..30).map(|i| made_up(&format!("nope-{i}"))).collect(),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(verifier.key_set_fetches(), 2);
    // One interval later, another flood: one fetch, shared.
    tessera.clock.advance(INTERVAL);
    let statuses = flood(
        &url,
        (0..30).map(|i| made_up(&format!("again-{i}"))).collect(),
    )
    .await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(verifier.key_set_fetches(), 3);
    // Tokens of known keys never waited for it.
    assert_eq!(call(&url, Some(&format!("Bearer {after}"))).await.0, 200);
    assert_eq!(verifier.key_set_fetches(), 3);
}

/// Tessera stopped: past the JWKS max-age the cached keys still verify (no request waits for
/// the refresh, done in the background), and the failing refreshes are rate-limited.
#[tokio::test]
async fn cached_keys_verify_while_tessera_is_down() {
    let mut tessera = Tessera::start().await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let verifier = tessera.verifier(ORDERS).build().unwrap();
    let service = protected_service(&verifier).await;
    let url = format!("{service}/any");
    let token = format!("Bearer {}", tessera.token(&client, None).await);
    assert_eq!(call(&url, Some(&token)).await.0, 200);
    tessera.stop().await;
    assert!(
        reqwest::get(format!("{}/jwks.json", tessera.issuer))
            .await
            .is_err(),
        "Tessera is down"
    );

    tessera.clock.advance(301); // past the JWKS max-age (300 s): the keys are stale
    let statuses = flood(&url, vec![token.clone(); 10]).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    fetches_reach(&verifier, 2).await; // one failed refresh attempt, in the background
    assert_eq!(call(&url, Some(&token)).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fetches = verifier.key_set_fetches();
    assert_eq!(fetches, 2, "no retry within the interval");
    tessera.clock.advance(INTERVAL);
    assert_eq!(call(&url, Some(&token)).await.0, 200);
    fetches_reach(&verifier, 3).await;
}

/// Waits (a few seconds at most) for background refreshes to have made `count` fetches.
async fn fetches_reach(verifier: &tessera_verify::Verifier, count: u64) {
    for _ in 0..100 {
        if verifier.key_set_fetches() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(verifier.key_set_fetches(), count);
}

/// Keys never fetched (nothing listens at the issuer): 503 without a challenge, since the token
/// may well be good; a discovery document naming another issuer counts as no keys at all.
#[tokio::test]
async fn without_any_keys_the_answer_is_503() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let verifier = tessera_verify::Verifier::builder(&issuer, ORDERS)
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let (status, challenge, body) = call(&format!("{service}/any"), Some(&made_up("k"))).await;
    assert_eq!((status, challenge.as_str()), (503, ""));
    assert_eq!(body["error"], "temporarily_unavailable");

    // Tessera's discovery document read under another issuer name (localhost for 127.0.0.1).
    let tessera = Tessera::start().await;
    let alias = tessera.issuer.replace("127.0.0.1", "localhost");
    let verifier = tessera_verify::Verifier::builder(&alias, ORDERS)
        .build()
        .unwrap();
    let service = protected_service(&verifier).await;
    let client = tessera.client_for(ORDERS, SigningAlg::ES256).await;
    let token = tessera.token(&client, None).await;
    let (status, _, _) = call(&format!("{service}/any"), Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 503);
    assert_eq!(
        verifier.key_set_fetches(),
        0,
        "no JWKS from a mismatched discovery document"
    );
}
