//! Who is signing in: one canonical form per username on both databases, lockouts that hold
//! for every spelling and cannot be raced, and the client address behind proxies.

use tessera::model::Actor;
use tessera::model::AuditFilter;
use tessera::model::username::MAX_TYPED_BYTES;
use tessera::service::ServiceError;
use tessera::service::users::UserSpec;
use tessera::store::Db;

use crate::helpers::{TestApp, fresh_db, spawn_app, spawn_app_with};
use crate::signin::{Browser, hidden};

const PASSWORD: &str = "correct horse battery";

/// One console sign-in in a browser of its own (the form needs its session's CSRF token):
/// 303 signed in, 401 refused, 429 delayed.
pub async fn console_login(app: &TestApp, username: &str, password: &str) -> u16 {
    let b = Browser::new();
    let page = b.get(&app.url("/login?next=%2Fadmin")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = b
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("next", "/admin"),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    r.status
}

async fn lockout_keys(app: &TestApp) -> Vec<String> {
    let mut keys: Vec<String> = app
        .core
        .lockouts()
        .await
        .expect("lockouts")
        .into_iter()
        .map(|l| l.key)
        .filter(|k| k.starts_with("account:"))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn every_spelling_of_a_username_reaches_one_account_and_shares_its_lockout() {
    let app = spawn_app().await;
    app.user("alice", PASSWORD).await;
    // Creating another spelling of the name is refused: taken, or not a plain name at all.
    let taken = app
        .core
        .create_user(UserSpec::new("ALICE"), PASSWORD, &Actor::cli())
        .await;
    assert!(matches!(taken, Err(ServiceError::Conflict(_))), "{taken:?}");
    for lookalike in ["ａｌｉｃｅ", "al\u{130}ce", "\u{430}lice"] {
        let refused = app
            .core
            .create_user(UserSpec::new(lookalike), PASSWORD, &Actor::cli())
            .await;
        assert!(
            matches!(
                refused,
                Err(ServiceError::Invalid {
                    field: "username",
                    ..
                })
            ),
            "{lookalike}: {refused:?}"
        );
    }
    // Signing in with full-width letters is signing in as alice, on either database.
    assert_eq!(console_login(&app, "ＡＬＩＣＥ", PASSWORD).await, 303);
    let found = app
        .core
        .user_by_username("Ａｌｉｃｅ")
        .await
        .expect("lookup");
    assert_eq!(found.map(|u| u.username).as_deref(), Some("alice"));

    // Five failures in five spellings are five failures of one account.
    for spelling in ["alice", "ALICE", "ａｌｉｃｅ", "Alice", " ＡＬＩＣＥ "] {
        assert_eq!(console_login(&app, spelling, "wrong password!!").await, 401);
    }
    assert_eq!(lockout_keys(&app).await, ["account:alice"]);
    for spelling in ["alice", "ＡＬＩＣＥ", "aLiCe"] {
        assert_eq!(
            console_login(&app, spelling, PASSWORD).await,
            429,
            "{spelling}: the delay holds for every spelling"
        );
    }
    // A look-alike that is another name never reaches alice: it is an unknown account.
    assert_eq!(console_login(&app, "al\u{130}ce", PASSWORD).await, 401);
    // The admin clears it under any spelling.
    app.core
        .clear_lockout("account:ＡＬＩＣＥ", &Actor::cli())
        .await
        .expect("clear");
    assert_eq!(console_login(&app, "alice", PASSWORD).await, 303);
}

#[tokio::test]
async fn typed_usernames_are_capped_in_lockouts_and_audit_events_which_are_purged() {
    let app = spawn_app().await;
    let long = "x".repeat(10_000);
    assert_eq!(console_login(&app, &long, "wrong password!!").await, 401);
    let keys = lockout_keys(&app).await;
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].len() <= "account:".len() + MAX_TYPED_BYTES,
        "{}",
        keys[0].len()
    );
    app.core.audit.flush().await.expect("flush");
    let events = app
        .core
        .audit_events(&AuditFilter::default(), None, 100)
        .await
        .expect("audit");
    let failed = events
        .iter()
        .find(|e| e.event.kind == "login.failed")
        .expect("login.failed");
    let actor = failed.event.actor.as_deref().expect("actor");
    assert!(actor.len() <= MAX_TYPED_BYTES, "{}", actor.len());

    // A counter lives while it counts (a day after the last failure), then it is purged.
    app.clock.advance(86_000);
    app.core.purge_expired().await.expect("purge");
    assert_eq!(lockout_keys(&app).await.len(), 1, "still counting");
    app.clock.advance(401);
    app.core.purge_expired().await.expect("purge");
    assert!(app.core.lockouts().await.expect("lockouts").is_empty());
}

/// Inserts a user as an older version (or a hand-written import) would have: no canonical
/// form.
async fn insert_legacy_user(db: &Db, username: &str) {
    let sql = "INSERT INTO users (sub, username, password_hash, created_at, updated_at) \
               VALUES ($1, $2, 'x', 0, 0)";
    let sub = uuid::Uuid::new_v4().to_string();
    crate::helpers::execute(db, sql, &[&sub, username]).await;
}

#[tokio::test]
async fn existing_usernames_get_their_canonical_form_and_clashes_stop_the_start() {
    let fresh = fresh_db().await;
    let db = Db::connect(&fresh.url, 1).await.expect("connect");
    db.migrate().await.expect("migrate");
    insert_legacy_user(&db, "Bob").await;
    db.migrate().await.expect("fills in the canonical form");
    let bob = tessera::store::users::by_username(&db, "ＢＯＢ")
        .await
        .expect("lookup");
    assert_eq!(bob.map(|b| b.user.username).as_deref(), Some("Bob"));

    // Two accounts that SQL's LOWER kept apart but that are one name now.
    insert_legacy_user(&db, "carol").await;
    insert_legacy_user(&db, "ｃａｒｏｌ").await;
    let err = db.migrate().await.expect_err("a clash stops the start");
    let message = err.to_string();
    assert!(
        message.contains("\"carol\"") && message.contains("\"ｃａｒｏｌ\""),
        "{message}"
    );
    db.close().await;
}

/// The login form of a fresh browser, ready to post: the browser and its CSRF token.
async fn login_form(app: &TestApp) -> (Browser, String) {
    let b = Browser::new();
    let page = b.get(&app.url("/login?next=%2Fadmin")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    (b, csrf)
}

#[tokio::test]
async fn parallel_guesses_check_no_more_passwords_than_the_limit() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.user("alice", PASSWORD).await;
    let limit = app.core.config.limits.login_failures_before_delay as usize;
    let mut forms = Vec::new();
    for _ in 0..60 {
        forms.push(login_form(&app).await);
    }
    // Every guess is in flight before any answer comes back.
    let mut guesses = tokio::task::JoinSet::new();
    for (i, (b, csrf)) in forms.into_iter().enumerate() {
        let url = app.url("/login");
        guesses.spawn(async move {
            let guess = format!("wrong password {i:02}");
            b.post(
                &url,
                &[
                    ("csrf", csrf.as_str()),
                    ("next", "/admin"),
                    ("username", "alice"),
                    ("password", &guess),
                ],
            )
            .await
            .status
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = guesses.join_next().await {
        statuses.push(status.expect("guess"));
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let delayed = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, delayed),
        (limit, 60 - limit),
        "only {limit} passwords checked: {statuses:?}"
    );
    // The audit log agrees: as many passwords were compared as there were bad credentials.
    app.core.audit.flush().await.expect("flush");
    let filter = AuditFilter {
        kind: Some("login.failed".to_owned()),
        ..AuditFilter::default()
    };
    let failed = app
        .core
        .audit_events(&filter, None, 1000)
        .await
        .expect("audit");
    let compared = failed
        .iter()
        .filter(|e| e.event.detail == Some(serde_json::json!({"reason": "bad_credentials"})))
        .count();
    assert_eq!(compared, limit);
    assert_eq!(failed.len(), 60);
    // Even the right password waits now.
    assert_eq!(console_login(&app, "alice", PASSWORD).await, 429);
}

#[tokio::test]
async fn successful_logins_give_their_attempt_back() {
    let app = spawn_app().await;
    app.user("alice", PASSWORD).await;
    // More successes from one address than its failure threshold (5 × 5): none is delayed.
    for _ in 0..30 {
        assert_eq!(console_login(&app, "alice", PASSWORD).await, 303);
    }
    let lockouts = app.core.lockouts().await.expect("lockouts");
    assert!(lockouts.is_empty(), "nothing counted: {lockouts:?}");
}

#[tokio::test]
async fn behind_a_proxy_the_client_address_comes_from_every_line_of_the_one_configured_header() {
    let app =
        spawn_app_with(|c| c.limits.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]).await;
    let http = Browser::new().http;
    let page = http
        .get(app.url("/login?next=%2Fadmin"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    // The client claims two addresses; the proxy (127.0.0.1, trusted) appends a line with the
    // one it saw. X-Forwarded-For is the configured header (the default).
    let r = http
        .post(app.url("/login"))
        .header("forwarded", "for=198.51.100.66")
        .header("x-forwarded-for", "192.0.2.200")
        .header("x-forwarded-for", "203.0.113.7")
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("next", "/admin"),
            ("username", "nobody"),
            ("password", "wrong password!!"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 401);
    let ips: Vec<String> = app
        .core
        .lockouts()
        .await
        .expect("lockouts")
        .into_iter()
        .map(|l| l.key)
        .filter(|k| k.starts_with("ip:"))
        .collect();
    assert_eq!(ips, ["ip:203.0.113.7"]);
}
