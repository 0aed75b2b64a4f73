//! The client cache: a local write is seen at once; another instance sees it within the cache
//! lifetime (1 s). Time is moved with the test clock, never slept.

use std::sync::Arc;

use tessera::model::SigningAlg;
use tessera::service::clients::ClientSpec;

use crate::helpers::{spawn_app, spawn_on};

const API: &str = "https://api.example.com/orders";

#[tokio::test]
async fn writes_invalidate_locally_at_once_and_elsewhere_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_on(Arc::clone(&a.db), a.clock.clone()).await;
    a.resource(API, SigningAlg::ES256).await;
    let reg = a.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    // Both instances have the client cached.
    assert_eq!(a.token(&id, &secret, "").await.0, 200);
    assert_eq!(b.token(&id, &secret, "").await.0, 200);
    // Disabled through instance A.
    let mut spec = ClientSpec::from_client(&reg.client);
    spec.disabled = true;
    a.core
        .update_client(&id, spec, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    assert_eq!(
        a.token(&id, &secret, "").await.0,
        401,
        "A sees its own write at once"
    );
    assert_eq!(
        b.token(&id, &secret, "").await.0,
        200,
        "B still serves its cached entry"
    );
    a.clock.advance(1);
    assert_eq!(
        b.token(&id, &secret, "").await.0,
        401,
        "B sees the write once the entry expires"
    );
}

#[tokio::test]
async fn secret_rotation_without_and_with_overlap() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    let first = reg.secret.expect("secret");
    assert_eq!(app.token(&id, &first, "").await.0, 200);

    let second = app
        .core
        .rotate_client_secret(&id, 0, &tessera::model::Actor::cli())
        .await
        .expect("rotate");
    assert_ne!(first, second);
    assert_eq!(
        app.token(&id, &first, "").await.0,
        401,
        "no overlap: the old secret dies at once"
    );
    assert_eq!(app.token(&id, &second, "").await.0, 200);

    let third = app
        .core
        .rotate_client_secret(&id, 60, &tessera::model::Actor::cli())
        .await
        .expect("rotate");
    assert_eq!(
        app.token(&id, &second, "").await.0,
        200,
        "old secret works during the overlap"
    );
    assert_eq!(app.token(&id, &third, "").await.0, 200);
    app.clock.advance(61);
    assert_eq!(app.token(&id, &second, "").await.0, 401, "and not after it");
    assert_eq!(app.token(&id, &third, "").await.0, 200);
    assert!(
        app.core
            .rotate_client_secret(&id, -1, &tessera::model::Actor::cli())
            .await
            .is_err()
    );
}

/// The secret is never stored: only its keyed hash, tagged with the master key id.
#[tokio::test]
async fn secrets_are_stored_only_as_keyed_hashes() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let secret = reg.secret.expect("secret");
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    let stored = tessera::store::clients::get(&app.core.db, &reg.client.client_id.0)
        .await
        .expect("get")
        .expect("client");
    let hash = stored.secret_hash.expect("hash");
    assert!(!hash.contains(&secret));
    assert!(
        hash.starts_with(&format!("h1${}$", app.core.keyring.primary().id())),
        "{hash}"
    );
}
