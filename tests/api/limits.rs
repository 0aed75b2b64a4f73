//! Rate limits and brute-force protection (429 with Retry-After; delays, never locks).

use std::sync::Arc;

use tessera::config::{Config, SecretString, SharedLimits};
use tessera::model::SigningAlg;

use crate::helpers::{
    FreshDb, TestApp, basic, fresh_db, fresh_postgres_db, postgres_base_url, spawn_app,
    spawn_app_with, spawn_on, spawn_on_with, spawn_seeded,
};
use crate::signin::{Browser, setup_with};

const API: &str = "https://api.example.com/orders";

#[tokio::test]
async fn failed_client_authentication_is_limited_per_client_and_ip() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    // The allowance is 20 a minute: the attempt that finds it used up is still answered (401)
    // and closes the door for the rest of the minute.
    for _ in 0..21 {
        assert_eq!(app.token(&id, "wrong", "").await.0, 401);
    }
    let r = app
        .post_form(
            "/token",
            Some(&basic(&id, "wrong")),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_description"], "rate limit exceeded");
    // Even the right secret waits: the guesser may have found it.
    assert_eq!(app.token(&id, &secret, "").await.0, 429);
    // Other clients are not affected.
    let other = app.client(&[API]).await;
    assert_eq!(
        app.token(
            &other.client.client_id.0,
            other.secret.as_deref().expect("s"),
            ""
        )
        .await
        .0,
        200
    );
    // The allowance refills.
    app.clock.advance(60);
    assert_eq!(app.token(&id, &secret, "").await.0, 200);
}

#[tokio::test]
async fn successful_traffic_is_only_limited_when_configured() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..50 {
        assert_eq!(
            app.token(&id, &secret, "").await.0,
            200,
            "no limit by default"
        );
    }
    let limited = spawn_app_with(|c| c.limits.token_per_client_per_second = 3).await;
    limited.resource(API, SigningAlg::ES256).await;
    let reg = limited.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..3 {
        assert_eq!(limited.token(&id, &secret, "").await.0, 200);
    }
    assert_eq!(limited.token(&id, &secret, "").await.0, 429);
    limited.clock.advance(1);
    assert_eq!(limited.token(&id, &secret, "").await.0, 200);
}

/// Logs in through the form; returns the status.
async fn login(
    b: &Browser,
    app: &crate::helpers::TestApp,
    url: &str,
    user: &str,
    password: &str,
) -> (u16, String) {
    let r = b.get(url).await;
    let page = b.get(&app.url(r.location.as_deref().expect("login"))).await;
    let r = b.submit_login(app, &page.body, user, password).await;
    (r.status, r.body)
}

#[tokio::test]
async fn repeated_login_failures_delay_the_account_known_or_not() {
    let s = setup_with(|_| {}).await;
    let url = s.app.url(&format!(
        "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=x\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        s.client_id,
        url::form_urlencoded::byte_serialize(crate::signin::REDIRECT.as_bytes())
            .collect::<String>()
    ));
    let b = Browser::new();
    for user in ["alice", "nobody"] {
        for _ in 0..5 {
            assert_eq!(
                login(&b, &s.app, &url, user, "wrong password!!").await.0,
                401,
                "{user}"
            );
        }
        let (status, body) = login(&b, &s.app, &url, user, crate::signin::PASSWORD).await;
        assert_eq!(status, 429, "{user}: delayed even with the right password");
        assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    }
    // Visible to an admin, and clearable.
    let keys: Vec<String> = s
        .app
        .core
        .lockouts()
        .await
        .expect("list")
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert!(
        keys.contains(&"account:alice".to_owned()) && keys.contains(&"account:nobody".to_owned()),
        "{keys:?}"
    );
    s.app
        .core
        .clear_lockout("alice", &tessera::model::Actor::cli())
        .await
        .expect("clear");
    let (status, _) = login(&b, &s.app, &url, "alice", crate::signin::PASSWORD).await;
    assert_eq!(status, 303, "cleared by the admin");
    // Delays grow but stay capped, and run out by themselves.
    // (A new browser each time: moving the test clock past the idle lifetime ends sessions.)
    for _ in 0..5 {
        login(&Browser::new(), &s.app, &url, "nobody", "x").await;
        s.app.clock.advance(301);
    }
    let lockout = s
        .app
        .core
        .lockouts()
        .await
        .expect("list")
        .into_iter()
        .find(|l| l.key == "account:nobody")
        .expect("nobody");
    let now = tessera::clock::Clock::now(&s.app.clock);
    assert!(
        lockout.delay_until - now <= 300,
        "capped at the configured maximum"
    );
    s.app.clock.advance(301);
    assert_eq!(
        login(&Browser::new(), &s.app, &url, "nobody", "y").await.0,
        401,
        "a delay, not a permanent lock"
    );
}

#[tokio::test]
async fn login_delays_hold_across_instances() {
    let s = setup_with(|_| {}).await;
    let other = spawn_on(Arc::clone(&s.app.db), s.app.clock.clone()).await;
    let url = |app: &crate::helpers::TestApp| {
        app.url(&format!(
            "/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=x\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            s.client_id,
            url::form_urlencoded::byte_serialize(crate::signin::REDIRECT.as_bytes()).collect::<String>()
        ))
    };
    let b = Browser::new();
    for _ in 0..5 {
        assert_eq!(
            login(&b, &s.app, &url(&s.app), "alice", "wrong password!!")
                .await
                .0,
            401
        );
    }
    let b2 = Browser::new();
    assert_eq!(
        login(&b2, &other, &url(&other), "alice", crate::signin::PASSWORD)
            .await
            .0,
        429
    );
}

/// The Redis of the shared-limit tests (scripts/test installs and starts it).
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Fails the test, loudly, when Redis does not answer.
async fn redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(REDIS_URL).expect("redis url");
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| {
            panic!("Redis must answer at {REDIS_URL} (scripts/test starts it): {e}")
        })
}

/// Limits small enough to reach, for two instances pooling their counts through `store`.
fn shared_limits(config: &mut Config, shared: SharedLimits, redis_prefix: Option<&str>) {
    config.limits.shared = shared;
    config.limits.token_per_client_per_second = 3;
    config.limits.client_auth_failures_per_minute = 4;
    if let Some(prefix) = redis_prefix {
        config.limits.redis_url = Some(SecretString(REDIS_URL.to_owned()));
        config.limits.redis_key_prefix = prefix.to_owned();
    }
}

/// Two instances on `db` sharing one issuer and one clock, as behind a load balancer.
async fn two_instances(
    db: FreshDb,
    shared: SharedLimits,
    redis_prefix: Option<&str>,
) -> (TestApp, TestApp) {
    let a = spawn_seeded(db, |c| shared_limits(c, shared, redis_prefix)).await;
    let issuer = a.core.issuer().to_owned();
    let b = spawn_on_with(Arc::clone(&a.db), a.clock.clone(), |c| {
        c.issuer = Some(issuer);
        shared_limits(c, shared, redis_prefix);
    })
    .await;
    (a, b)
}

async fn sync(app: &TestApp) {
    app.core
        .limits
        .sync()
        .await
        .expect("sync with the shared store");
}

/// Requests split across two instances add up: once each has synced, the instance that alone
/// is under the limit refuses too. The background syncs may run at any moment as well, so only
/// outcomes that hold whatever they did are asserted before the explicit syncs.
async fn limits_hold_across(a: &TestApp, b: &TestApp) {
    a.resource(API, SigningAlg::ES256).await;
    let reg = a.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));

    // 3 tokens a second for the client, in all: 2 here, 1 there.
    for app in [a, a, b] {
        assert_eq!(app.token(&id, &secret, "").await.0, 200);
    }
    sync(a).await;
    sync(b).await;
    let r = b
        .post_form(
            "/token",
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status(), 429, "b counted 1 itself, 2 came from a");
    assert_eq!(
        r.headers()["retry-after"],
        "1",
        "the rest of the 1 s window"
    );
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_description"], "rate limit exceeded");
    sync(a).await;
    assert_eq!(a.token(&id, &secret, "").await.0, 429, "a learnt b's token");
    a.clock.advance(1);
    assert_eq!(b.token(&id, &secret, "").await.0, 200, "a new window");

    // 4 failed authentications a minute per client and IP, in all: 3 here, 2 there.
    let other = a.client(&[API]).await;
    let (id, secret) = (
        other.client.client_id.0.clone(),
        other.secret.expect("secret"),
    );
    for app in [a, a, a, b, b] {
        assert_eq!(app.token(&id, "wrong", "").await.0, 401);
    }
    sync(a).await;
    sync(b).await;
    sync(a).await;
    for app in [a, b] {
        let r = app
            .post_form(
                "/token",
                Some(&basic(&id, &secret)),
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(r.status(), 429, "even the right secret waits");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&wait), "{wait}");
    }
    a.clock.advance(60);
    for app in [a, b] {
        assert_eq!(app.token(&id, &secret, "").await.0, 200);
    }
}

#[tokio::test]
async fn limits_hold_across_two_instances_on_one_postgresql() {
    let db = fresh_postgres_db(&postgres_base_url()).await;
    let (a, b) = two_instances(db, SharedLimits::Database, None).await;
    limits_hold_across(&a, &b).await;
    // The counts went through the database, and ended windows are purged.
    let tessera::store::Db::Postgres(pool) = &a.core.db else {
        panic!("PostgreSQL")
    };
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM rate_limit_counters")
            .fetch_one(pool)
            .await
            .expect("count")
    };
    assert!(count().await > 0);
    a.clock.advance(120);
    // Waits for any background sync still writing a batch taken before the clock moved.
    sync(&a).await;
    sync(&b).await;
    a.core.purge_expired().await.expect("purge");
    assert_eq!(count().await, 0);
}

#[tokio::test]
async fn limits_hold_across_two_instances_on_one_redis() {
    let mut conn = redis().await;
    let prefix = format!("tessera-test:{}:", uuid::Uuid::new_v4().simple());
    let (a, b) = two_instances(fresh_db().await, SharedLimits::Redis, Some(&prefix)).await;
    limits_hold_across(&a, &b).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    // The per-second counters may have expired already; the per-minute one has not.
    let failures: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{prefix}client_auth_failures:")))
        .collect();
    assert_eq!(failures.len(), 1, "the counts went through Redis: {keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(failures[0])
        .query_async(&mut conn)
        .await
        .expect("ttl");
    assert!(
        (1..=70_000).contains(&ttl),
        "counters expire with their window (and 10 s of grace): {ttl}"
    );
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .expect("clean up");
}

#[tokio::test]
async fn tokens_are_still_issued_when_the_shared_store_is_down() {
    // A port nobody listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let app = spawn_app_with(|c| {
        c.limits.shared = SharedLimits::Redis;
        c.limits.redis_url = Some(SecretString(format!("redis://127.0.0.1:{port}")));
        c.limits.token_per_client_per_second = 2;
        c.metrics.token = Some(SecretString("scrape".into()));
    })
    .await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..2 {
        assert_eq!(app.token(&id, &secret, "").await.0, 200);
    }
    app.core
        .limits
        .sync()
        .await
        .expect_err("nothing answers on that port");
    assert_eq!(
        app.token(&id, &secret, "").await.0,
        429,
        "this instance's own count still limits"
    );
    app.clock.advance(1);
    assert_eq!(app.token(&id, &secret, "").await.0, 200);
    let text = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape")
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    let failures: f64 = text
        .lines()
        .find(|l| l.starts_with("tessera_rate_limit_sync_failures_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the failure counter is exported");
    assert!(failures >= 1.0, "{text}");
}
