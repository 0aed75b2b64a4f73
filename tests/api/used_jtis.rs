//! The one-time jti store behind client assertions and DPoP proofs: a jti is accepted once per
//! kind, by whichever instance sees it first, until it expires and is purged.

use tessera::store::used_jtis;

use tessera::app::Init;

use crate::helpers::{fresh_db, open_core, shared_master_key};

/// Two instances on one database: the second sight of a jti is a replay on either; another kind
/// has its own space; the purge frees only what has expired.
#[tokio::test]
async fn a_jti_is_used_once_across_instances() {
    let db = fresh_db().await;
    let one = open_core(&db.url, &shared_master_key(), Init::Allowed)
        .await
        .expect("first instance");
    let two = open_core(&db.url, &shared_master_key(), Init::Forbidden)
        .await
        .expect("second instance");

    assert!(
        used_jtis::first_use(&one.db, "assertion", "j1", 100)
            .await
            .expect("use")
    );
    assert!(
        !used_jtis::first_use(&two.db, "assertion", "j1", 100)
            .await
            .expect("replay")
    );
    assert!(
        !used_jtis::first_use(&one.db, "assertion", "j1", 100)
            .await
            .expect("replay")
    );
    assert!(
        used_jtis::first_use(&two.db, "dpop", "j1", 50)
            .await
            .expect("other kind")
    );
    assert!(
        used_jtis::first_use(&two.db, "assertion", "j2", 300)
            .await
            .expect("use")
    );

    assert_eq!(
        used_jtis::purge(&one.db, 99).await.expect("purge"),
        1,
        "only dpop/j1 expired"
    );
    assert!(
        !used_jtis::first_use(&one.db, "assertion", "j1", 100)
            .await
            .expect("still held")
    );
    assert_eq!(used_jtis::purge(&one.db, 301).await.expect("purge"), 2);
    assert!(
        used_jtis::first_use(&one.db, "assertion", "j1", 400)
            .await
            .expect("after expiry")
    );
}
