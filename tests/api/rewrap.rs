//! `keys rewrap`: a new master key without downtime or token invalidation.

use std::sync::Arc;

use tessera::app::Init;
use tessera::config::SecretString;
use tessera::crypto::master_key::Keyring;
use tessera::model::SigningAlg;

use crate::helpers::{open_core, shared_master_key, spawn_app, spawn_on_with};

const API: &str = "https://api.example.com/orders";

#[tokio::test]
async fn rewrap_keeps_tokens_and_secrets_valid() {
    let a = spawn_app().await;
    a.resource(API, SigningAlg::ES256).await;
    let reg = a.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    let before = a.access_token(&id, &secret).await;
    let old = shared_master_key();
    let new = Keyring::generate_encoded();
    let both = format!("{new},{old}");

    // Every instance gets the new keyring (new key first), then the rewrap runs once.
    let admin = open_core(&a.db.url, &both, Init::Forbidden)
        .await
        .expect("open with both keys");
    assert_eq!(admin.rewrap_keys().await.expect("rewrap"), 6);
    assert_eq!(admin.rewrap_keys().await.expect("again"), 0, "idempotent");
    let new_id = admin.keyring.primary().id().to_owned();
    let rows = tessera::store::keys::list(&admin.db).await.expect("keys");
    assert!(rows.iter().all(|r| r.master_key_id == new_id));

    // Instances behind one load balancer share the issuer.
    let b = spawn_on_with(Arc::clone(&a.db), a.clock.clone(), |c| {
        c.master_key = Some(SecretString(both.clone()));
        c.issuer = Some(a.base.clone());
    })
    .await;
    // The secret hashed under the old master key still works, and is re-hashed on that use.
    let stored = |core: &tessera::state::Core| {
        let db = core.db.clone();
        let id = id.clone();
        async move {
            tessera::store::clients::get(&db, &id)
                .await
                .expect("get")
                .expect("client")
                .secret_hash
                .expect("hash")
        }
    };
    assert!(
        !stored(&b.core).await.contains(&new_id),
        "not re-hashed before its next use"
    );
    // The old token is still active and still verifies (the signing keys did not change).
    assert_eq!(b.introspect(&id, &secret, &before).await["active"], true);
    crate::tokens::verify(&a, &before, API).await;
    let after = b.access_token(&id, &secret).await;
    assert!(stored(&b.core).await.starts_with(&format!("h1${new_id}$")));
    // Once every secret and key moved, the old master key can go.
    let only_new = spawn_on_with(Arc::clone(&a.db), a.clock.clone(), |c| {
        c.master_key = Some(SecretString(new.clone()));
        c.issuer = Some(a.base.clone());
    })
    .await;
    assert_eq!(only_new.token(&id, &secret, "").await.0, 200);
    assert_eq!(
        only_new.introspect(&id, &secret, &after).await["active"],
        true
    );
    // …and the old key alone no longer opens the database.
    let err = open_core(&a.db.url, &old, Init::Forbidden)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
}
