//! Users and passwords through the service layer, on a real database: creation rules, sign-in
//! answers, hash upgrades and the bounded hashing pool.

use std::num::NonZeroUsize;
use std::sync::Arc;

use tessera::config::PasswordsConfig;
use tessera::service::ServiceError;
use tessera::service::users::UserSpec;
use tessera::store::users as store;

use crate::helpers::{TestApp, cheap_passwords, fresh_db, open_core_with_passwords, spawn_app};
use tessera::model::User;

const PASSWORD: &str = "correct horse battery";

async fn stored_hash(core: &tessera::state::Core, username: &str) -> String {
    store::by_username(&core.db, username)
        .await
        .expect("query")
        .expect("user exists")
        .password_hash
}

fn invalid_field(r: Result<impl std::fmt::Debug, ServiceError>) -> (&'static str, String) {
    match r {
        Err(ServiceError::Invalid { field, message }) => (field, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_created_user_signs_in_with_their_password_in_any_username_case() {
    let app = spawn_app().await;
    let spec = UserSpec {
        username: "Alice.Smith".into(),
        email: Some("alice@example.com".into()),
        email_verified: true,
        name: Some("Alice Smith".into()),
        admin: false,
        claims: Default::default(),
    };
    let alice = app
        .core
        .create_user(spec, PASSWORD, &tessera::model::Actor::cli())
        .await
        .expect("create");
    assert_eq!(alice.username, "Alice.Smith");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert!(alice.email_verified && !alice.disabled);
    assert_eq!(alice.name.as_deref(), Some("Alice Smith"));

    let signed_in = app.core.authenticate_user("Alice.Smith", PASSWORD).await;
    assert_eq!(signed_in.expect("auth"), Some(alice.clone()));
    let signed_in = app.core.authenticate_user("alice.smith", PASSWORD).await;
    assert_eq!(signed_in.expect("auth"), Some(alice.clone()));

    let by_sub = app.core.user_by_sub(&alice.sub).await.expect("by sub");
    assert_eq!(by_sub, Some(alice.clone()));
    let by_name = app
        .core
        .user_by_username("ALICE.SMITH")
        .await
        .expect("by name");
    assert_eq!(by_name, Some(alice.clone()));
    assert_eq!(people(&app).await, vec![alice]);

    let hash = stored_hash(&app.core, "alice.smith").await;
    assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_disabled_users_get_none() {
    let app = spawn_app().await;
    app.user("bob", PASSWORD).await;
    let core = &app.core;
    let no = |r: Result<Option<tessera::model::User>, ServiceError>| r.expect("auth").is_none();

    assert!(no(core
        .authenticate_user("bob", "correct horse batterY")
        .await));
    assert!(no(core.authenticate_user("bob", "").await));
    assert!(no(core.authenticate_user("bob", &"x".repeat(10_000)).await));
    assert!(no(core.authenticate_user("nobody", PASSWORD).await));
    assert!(no(core.authenticate_user("", PASSWORD).await));

    let disabled = core
        .set_user_disabled("BOB", true, &tessera::model::Actor::cli())
        .await
        .expect("disable");
    assert!(disabled.disabled);
    assert!(no(core.authenticate_user("bob", PASSWORD).await));
    let enabled = core
        .set_user_disabled("bob", false, &tessera::model::Actor::cli())
        .await
        .expect("enable");
    assert!(!enabled.disabled);
    assert!(!no(core.authenticate_user("bob", PASSWORD).await));

    let missing = core
        .set_user_disabled("nobody", true, &tessera::model::Actor::cli())
        .await;
    assert!(
        matches!(missing, Err(ServiceError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case_and_checked() {
    let app = spawn_app().await;
    app.user("Carol", PASSWORD).await;
    let taken = app
        .core
        .create_user(
            UserSpec::new("cAROL"),
            PASSWORD,
            &tessera::model::Actor::cli(),
        )
        .await;
    match taken {
        Err(ServiceError::Conflict(message)) => assert!(message.contains("taken"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(people(&app).await.len(), 1);

    for bad in ["", "carol smith", "carol/x", "kärol", &"c".repeat(65)] {
        let (field, message) = invalid_field(
            app.core
                .create_user(UserSpec::new(bad), PASSWORD, &tessera::model::Actor::cli())
                .await,
        );
        assert_eq!(field, "username");
        assert!(message.contains("64 characters"), "{message}");
    }
    let bad_email = UserSpec {
        email: Some("carol.example.com".into()),
        ..UserSpec::new("carol2")
    };
    let (field, _) = invalid_field(
        app.core
            .create_user(bad_email, PASSWORD, &tessera::model::Actor::cli())
            .await,
    );
    assert_eq!(field, "email");
    let verified_nothing = UserSpec {
        email_verified: true,
        ..UserSpec::new("carol3")
    };
    let (field, _) = invalid_field(
        app.core
            .create_user(verified_nothing, PASSWORD, &tessera::model::Actor::cli())
            .await,
    );
    assert_eq!(field, "email_verified");
}

/// OIDC Core §5.1: `sub` is opaque and never reassigned — a UUID v4, not the username.
#[tokio::test]
async fn the_subject_is_a_random_uuid_never_the_username() {
    let app = spawn_app().await;
    let a = app.user("dave", PASSWORD).await;
    let b = app.user("dave@example.com", PASSWORD).await;
    for u in [&a, &b] {
        let id = uuid::Uuid::parse_str(&u.sub).expect("sub is a UUID");
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.hyphenated().to_string(), u.sub);
        assert!(!u.sub.contains(&u.username));
    }
    assert_ne!(a.sub, b.sub);
    // The subject survives a password change and disabling.
    app.core
        .set_user_password(
            "dave",
            "another long password",
            &tessera::model::Actor::cli(),
        )
        .await
        .expect("set");
    let again = app
        .core
        .set_user_disabled("dave", true, &tessera::model::Actor::cli())
        .await
        .expect("off");
    assert_eq!(again.sub, a.sub);
}

#[tokio::test]
async fn the_password_policy_is_stated_in_its_errors() {
    let app = spawn_app().await;
    let (field, message) = invalid_field(
        app.core
            .create_user(
                UserSpec::new("erin"),
                "elevenchars",
                &tessera::model::Actor::cli(),
            )
            .await,
    );
    assert_eq!(field, "password");
    assert!(message.contains("12 characters"), "{message}");
    let long = "p".repeat(257);
    let (field, message) = invalid_field(
        app.core
            .create_user(UserSpec::new("erin"), &long, &tessera::model::Actor::cli())
            .await,
    );
    assert_eq!(field, "password");
    assert!(message.contains("256 bytes"), "{message}");
    assert!(people(&app).await.is_empty());

    app.user("erin", "twelve chars").await;
    app.user("erin2", &"p".repeat(256)).await;

    let (field, _) = invalid_field(
        app.core
            .set_user_password("erin", "short", &tessera::model::Actor::cli())
            .await,
    );
    assert_eq!(field, "password");
    app.core
        .set_user_password(
            "ERIN",
            "a brand new password",
            &tessera::model::Actor::cli(),
        )
        .await
        .expect("set password");
    let old = app.core.authenticate_user("erin", "twelve chars").await;
    assert!(old.expect("auth").is_none());
    let new = app
        .core
        .authenticate_user("erin", "a brand new password")
        .await;
    assert!(new.expect("auth").is_some());
    let missing = app
        .core
        .set_user_password(
            "nobody",
            "a brand new password",
            &tessera::model::Actor::cli(),
        )
        .await;
    assert!(
        matches!(missing, Err(ServiceError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_configured_minimum_length_applies() {
    let db = fresh_db().await;
    let core = open_core_with_passwords(
        &db.url,
        PasswordsConfig {
            min_length: 16,
            ..cheap_passwords()
        },
    )
    .await;
    let (_, message) = invalid_field(
        core.create_user(
            UserSpec::new("fay"),
            "fifteen chars!!",
            &tessera::model::Actor::cli(),
        )
        .await,
    );
    assert!(message.contains("16 characters"), "{message}");
    core.create_user(
        UserSpec::new("fay"),
        "sixteen chars!!!",
        &tessera::model::Actor::cli(),
    )
    .await
    .expect("16 is enough");
}

/// OWASP Password Storage Cheat Sheet, "Upgrading the work factor": a hash made with older
/// parameters is replaced at the next successful sign-in, and only then.
#[tokio::test]
async fn a_hash_with_other_parameters_is_upgraded_at_the_next_sign_in() {
    let app = spawn_app().await;
    app.user("gina", PASSWORD).await;
    let before = stored_hash(&app.core, "gina").await;
    assert!(before.contains("$m=256,t=1,p=1$"), "{before}");

    let newer = open_core_with_passwords(
        &app.db.url,
        PasswordsConfig {
            memory_kib: 512,
            iterations: 2,
            parallelism: 2,
            ..cheap_passwords()
        },
    )
    .await;
    let wrong = newer.authenticate_user("gina", "not the password").await;
    assert!(wrong.expect("auth").is_none());
    assert_eq!(
        stored_hash(&newer, "gina").await,
        before,
        "no upgrade on failure"
    );

    let ok = newer
        .authenticate_user("gina", PASSWORD)
        .await
        .expect("auth");
    assert_eq!(ok.map(|u| u.username).as_deref(), Some("gina"));
    let after = stored_hash(&newer, "gina").await;
    assert!(
        after.starts_with("$argon2id$v=19$m=512,t=2,p=2$"),
        "{after}"
    );

    // Still the same password everywhere, and no further change once current.
    let ok = newer
        .authenticate_user("GINA", PASSWORD)
        .await
        .expect("auth");
    assert!(ok.is_some());
    assert_eq!(stored_hash(&newer, "gina").await, after);
    let old_instance = app.core.authenticate_user("gina", PASSWORD).await;
    assert!(old_instance.expect("auth").is_some());
}

/// The production default (OWASP: m=19456 KiB, t=2, p=1), once.
#[tokio::test]
async fn production_parameters_hash_and_verify() {
    let db = fresh_db().await;
    let core = open_core_with_passwords(&db.url, PasswordsConfig::default()).await;
    assert_eq!(core.passwords.params(), (19_456, 2, 1));
    core.create_user(
        UserSpec::new("hana"),
        PASSWORD,
        &tessera::model::Actor::cli(),
    )
    .await
    .expect("create");
    let hash = stored_hash(&core, "hana").await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let ok = core
        .authenticate_user("hana", PASSWORD)
        .await
        .expect("auth");
    assert!(ok.is_some());
    let no = core.authenticate_user("hana", "wrong password!").await;
    assert!(no.expect("auth").is_none());
}

/// A burst of sign-ins (more than the queue holds) all complete on exactly one thread per core.
#[tokio::test]
async fn a_burst_of_sign_ins_completes_on_a_fixed_pool() {
    let db = fresh_db().await;
    let core = open_core_with_passwords(
        &db.url,
        PasswordsConfig {
            queue: 4,
            ..cheap_passwords()
        },
    )
    .await;
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    assert_eq!(core.passwords.threads(), cores);
    assert_eq!(core.passwords.queue_capacity(), 4);
    core.create_user(
        UserSpec::new("ivan"),
        PASSWORD,
        &tessera::model::Actor::cli(),
    )
    .await
    .expect("create");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let core = Arc::clone(&core);
        tasks.spawn(async move {
            let (username, password, expect) = match i % 3 {
                0 => ("ivan", PASSWORD, true),
                1 => ("ivan", "a wrong password", false),
                _ => ("nobody", PASSWORD, false),
            };
            let got = core.authenticate_user(username, password).await;
            got.expect("auth").is_some() == expect
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|ok| *ok));
    assert_eq!(
        core.passwords.threads(),
        cores,
        "no thread was added or lost"
    );
}

/// The users a test made: every test server also has the bootstrap admin.
async fn people(app: &TestApp) -> Vec<User> {
    let all = app.core.users().await.expect("list");
    all.into_iter().filter(|u| u.username != "admin").collect()
}
