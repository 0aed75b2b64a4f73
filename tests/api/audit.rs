//! The audit log of security events: what each event records (actor, client, IP, outcome,
//! target), token issuance counted per client, grant and minute, the bounded queue and its
//! dropped counter, retries after a failed write, retention, and `tessera audit list`.
//!
//! Every test flushes the writer (`core.audit.flush()`) before reading the table, so nothing
//! depends on the writer's timer.

use std::process::Output;
use std::sync::Arc;

use jsonwebtoken::dangerous::insecure_decode;
use serde_json::Value;
use tessera::clock::Clock;
use tessera::config::SecretString;
use tessera::model::AuditFilter;
use tessera::model::kind;
use tessera::model::{AuditEvent, GrantType, Outcome, SigningAlg, StoredEvent};
use tessera::service::clients::ClientSpec;
use tessera::service::users::UserSpec;
use tessera::store::Db;

use crate::helpers::web::no_redirects_builder;
use crate::helpers::{TestApp, basic, process, spawn_app, spawn_app_with};
use crate::signin::{
    API, Browser, PASSWORD, REDIRECT, Setup, authorize_for, enc, setup_with, sign_in_and_consent,
    sign_in_tokens,
};

/// Events of `kind` (a family when it ends with a dot), newest first, after a flush.
pub async fn events(app: &TestApp, kind: &str) -> Vec<StoredEvent> {
    app.core.audit.flush().await.expect("flush");
    let filter = AuditFilter {
        kind: Some(kind.to_owned()),
        ..AuditFilter::default()
    };
    app.core
        .audit_events(&filter, None, 1000)
        .await
        .expect("list")
}

/// An event as the JSON an operator sees (for "no secret in it" checks).
fn json(e: &StoredEvent) -> String {
    serde_json::to_string(e).expect("json")
}

/// The login page for `authorize`, then the form posted with `username` and `password`.
async fn post_login(
    b: &Browser,
    app: &TestApp,
    authorize: &str,
    username: &str,
    password: &str,
) -> u16 {
    let r = b.get(authorize).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b
        .get(&app.url(r.location.as_deref().expect("to the login page")))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = b.submit_login(app, &page.body, username, password).await;
    r.status
}

/// `setup_with` behind a trusted proxy at 127.0.0.1, whose browser says it forwards for
/// 203.0.113.7: the audited IP must be the one `client_ip` computes, not the socket's.
async fn setup_behind_proxy() -> (Setup, Browser) {
    let app =
        spawn_app_with(|c| c.limits.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]).await;
    app.resource(API, SigningAlg::ES256).await;
    let user = app
        .core
        .create_user(
            UserSpec::new("alice"),
            PASSWORD,
            &tessera::model::Actor::cli(),
        )
        .await
        .expect("user");
    let mut spec = ClientSpec::new("Orders Web");
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec![REDIRECT.into()];
    spec.resources = vec![API.into()];
    let reg = app
        .core
        .create_client(spec, &tessera::model::Actor::cli())
        .await
        .expect("client");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", "203.0.113.7".parse().expect("header"));
    let browser = Browser::with(no_redirects_builder().default_headers(headers));
    let s = Setup {
        client_id: reg.client.client_id.0,
        secret: reg.secret.expect("secret"),
        sub: user.sub,
        app,
    };
    (s, browser)
}

#[tokio::test]
async fn failed_and_successful_logins_record_actor_client_ip_and_outcome() {
    let (s, b) = setup_behind_proxy().await;
    let authorize = authorize_for(&s, "openid read");
    let wrong = "not-alices-password-0451";
    assert_eq!(
        post_login(&b, &s.app, &authorize, " Alice", wrong).await,
        401
    );
    assert_eq!(
        post_login(&b, &s.app, &authorize, "Mallory", wrong).await,
        401
    );
    let back = sign_in_and_consent(&b, &s.app, &authorize).await;
    assert!(back.starts_with(REDIRECT), "{back}");

    let logins = events(&s.app, "login.").await;
    assert_eq!(logins.len(), 3, "{logins:?}");
    let (ok, unknown, failed) = (&logins[0].event, &logins[1].event, &logins[2].event);
    assert_eq!(failed.kind, kind::LOGIN_FAILED);
    assert_eq!(failed.outcome, Outcome::Failure);
    assert_eq!(
        failed.actor.as_deref(),
        Some("alice"),
        "typed, trimmed, lower-cased"
    );
    assert_eq!(failed.client_id.as_deref(), Some(s.client_id.as_str()));
    assert_eq!(failed.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        failed.detail,
        Some(serde_json::json!({"reason": "bad_credentials"}))
    );
    assert_eq!(failed.target, None);
    assert_eq!(
        (unknown.kind.as_str(), unknown.actor.as_deref()),
        (kind::LOGIN_FAILED, Some("mallory")),
        "an unknown account is recorded the same way"
    );
    assert_eq!(ok.kind, kind::LOGIN_SUCCEEDED);
    assert_eq!(ok.outcome, Outcome::Success);
    assert_eq!(ok.actor.as_deref(), Some("alice"));
    assert_eq!(ok.client_id.as_deref(), Some(s.client_id.as_str()));
    assert_eq!(ok.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(ok.target.as_deref(), Some(s.sub.as_str()));
    assert_eq!(
        ok.at,
        Clock::now(&s.app.clock),
        "stamped by the server's clock"
    );
    for e in &logins {
        assert!(
            !json(e).contains(wrong) && !json(e).contains(PASSWORD),
            "{}",
            json(e)
        );
    }
}

#[tokio::test]
async fn a_login_delay_is_recorded_when_it_starts_and_delayed_attempts_as_failures() {
    let s = setup_with(|_| {}).await;
    let authorize = authorize_for(&s, "openid");
    let b = Browser::new();
    for _ in 0..5 {
        assert_eq!(
            post_login(&b, &s.app, &authorize, "alice", "wrong password!!").await,
            401
        );
    }
    assert_eq!(
        post_login(&b, &s.app, &authorize, "alice", PASSWORD).await,
        429
    );

    let started = events(&s.app, kind::LOCKOUT_STARTED).await;
    assert_eq!(
        started.len(),
        1,
        "the fifth failure starts the account's delay: {started:?}"
    );
    let e = &started[0].event;
    assert_eq!(e.actor.as_deref(), Some("alice"));
    assert_eq!(
        e.target.as_deref(),
        Some("account:alice"),
        "the key `lockouts clear` takes"
    );
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(
        e.detail,
        Some(serde_json::json!({"failures": 5, "delay_seconds": 1}))
    );
    let failed = events(&s.app, kind::LOGIN_FAILED).await;
    assert_eq!(failed.len(), 6);
    assert_eq!(
        failed[0].event.detail,
        Some(serde_json::json!({"reason": "delayed"}))
    );
}

#[tokio::test]
async fn token_issuance_is_one_row_per_client_grant_and_minute() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    for _ in 0..5 {
        app.access_token(&id, &secret).await;
    }
    // The minute is still open on the server's clock: nothing is written until it closes.
    let filter = AuditFilter {
        kind: Some(kind::TOKEN_ISSUED.into()),
        ..AuditFilter::default()
    };
    assert!(
        app.core
            .audit_events(&filter, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    let first_minute = Clock::now(&app.clock).div_euclid(60) * 60;
    let rows = events(&app, kind::TOKEN_ISSUED).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let e = &rows[0].event;
    assert_eq!(e.count, 5);
    assert_eq!(e.at, first_minute, "stamped with the minute's first second");
    assert_eq!(e.client_id.as_deref(), Some(id.as_str()));
    assert_eq!(e.actor.as_deref(), Some(id.as_str()));
    assert_eq!(e.target.as_deref(), Some("client_credentials"));
    assert_eq!(e.outcome, Outcome::Success);

    app.clock.advance(60);
    app.access_token(&id, &secret).await;
    assert_eq!(
        app.token(&id, "wrong secret", "").await.0,
        401,
        "failures are not issuance"
    );
    let rows = events(&app, kind::TOKEN_ISSUED).await;
    let seen: Vec<(i64, i64)> = rows.iter().map(|r| (r.event.at, r.event.count)).collect();
    assert_eq!(seen, vec![(first_minute + 60, 1), (first_minute, 5)]);
}

#[tokio::test]
async fn a_replayed_refresh_token_is_recorded_with_the_revoked_family() {
    let s = setup_with(|spec| {
        spec.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    })
    .await;
    let t = sign_in_tokens(&s, &Browser::new(), "openid offline_access read").await;
    let rt1 = t["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let auth = basic(&s.client_id, &s.secret);
    let body = |rt: &str| format!("grant_type=refresh_token&refresh_token={rt}");
    let r = s.app.post_form("/token", Some(&auth), &body(&rt1)).await;
    assert_eq!(r.status(), 200);
    let rt2 = r.json::<Value>().await.expect("json")["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    let r = s.app.post_form("/token", Some(&auth), &body(&rt1)).await;
    assert_eq!(r.status(), 400, "replayed");

    let replays = events(&s.app, kind::REFRESH_REPLAY_DETECTED).await;
    assert_eq!(replays.len(), 1);
    let e = &replays[0].event;
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.client_id.as_deref(), Some(s.client_id.as_str()));
    assert_eq!(e.actor.as_deref(), Some(s.client_id.as_str()));
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        e.target.as_deref(),
        Some(s.sub.as_str()),
        "whose tokens leaked"
    );
    let detail = e.detail.as_ref().expect("detail");
    assert!(
        detail["family_id"].as_str().is_some_and(|f| !f.is_empty()),
        "{detail}"
    );
    assert_eq!(detail["family_revoked"], true);
    for token in [&rt1, &rt2] {
        assert!(!json(&replays[0]).contains(token.as_str()));
    }
    // The two successful exchanges were counted under their own grants.
    let issued = events(&s.app, kind::TOKEN_ISSUED).await;
    let mut grants: Vec<(String, i64)> = issued
        .iter()
        .map(|r| (r.event.target.clone().unwrap_or_default(), r.event.count))
        .collect();
    grants.sort();
    assert_eq!(
        grants,
        vec![
            ("authorization_code".into(), 1),
            ("refresh_token".into(), 1)
        ]
    );
}

#[tokio::test]
async fn revocations_and_failed_client_authentication_are_recorded() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let owner = app.client(&[API]).await;
    let other = app.client(&[API]).await;
    let (id, secret) = (
        owner.client.client_id.0.clone(),
        owner.secret.expect("secret"),
    );
    let (other_id, other_secret) = (
        other.client.client_id.0.clone(),
        other.secret.expect("secret"),
    );
    let token = app.access_token(&id, &secret).await;
    let jti = insecure_decode::<Value>(&token).expect("jwt").claims["jti"].clone();

    let revoke = format!("token={token}");
    let r = app
        .post_form("/revoke", Some(&basic(&other_id, &other_secret)), &revoke)
        .await;
    assert_eq!(r.status(), 400, "another client's token");
    let r = app
        .post_form("/revoke", Some(&basic(&id, &secret)), &revoke)
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_form(
            "/revoke",
            Some(&basic(&id, &secret)),
            "token=not-a-token-at-all",
        )
        .await;
    assert_eq!(
        r.status(),
        200,
        "unknown tokens: success, and nothing to record"
    );

    let revoked = events(&app, kind::TOKEN_REVOKED).await;
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    let (done, refused) = (&revoked[0].event, &revoked[1].event);
    assert_eq!(done.outcome, Outcome::Success);
    assert_eq!(done.actor.as_deref(), Some(id.as_str()));
    assert_eq!(
        done.target.as_deref(),
        Some("access_token"),
        "the type, never the token"
    );
    assert_eq!(done.detail.as_ref().map(|d| &d["jti"]), Some(&jti));
    assert_eq!(done.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(refused.outcome, Outcome::Failure);
    assert_eq!(refused.client_id.as_deref(), Some(other_id.as_str()));
    for e in &revoked {
        assert!(!json(e).contains(&token));
    }

    // Failed client authentication at /token: a wrong secret, and an unknown client.
    assert_eq!(app.token(&id, "wrong-secret-0451-abcdef", "").await.0, 401);
    let form =
        "grant_type=client_credentials&client_id=nobody&client_secret=wrong-secret-0451-abcdef";
    assert_eq!(app.post_form("/token", None, form).await.status(), 401);
    let failed = events(&app, kind::CLIENT_AUTH_FAILED).await;
    let seen: Vec<(Option<&str>, Option<&str>, Outcome)> = failed
        .iter()
        .map(|f| {
            (
                f.event.client_id.as_deref(),
                f.event.ip.as_deref(),
                f.event.outcome,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("nobody"), Some("127.0.0.1"), Outcome::Failure),
            (Some(id.as_str()), Some("127.0.0.1"), Outcome::Failure)
        ]
    );
    assert_eq!(
        failed[0].event.detail,
        Some(serde_json::json!({"endpoint": "token"}))
    );
    assert!(
        failed
            .iter()
            .all(|f| !json(f).contains("wrong-secret-0451"))
    );
}

#[tokio::test]
async fn scheduled_key_rotations_are_recorded_as_the_system() {
    let app = spawn_app().await;
    app.core.maintain_keys().await.expect("maintenance");
    assert!(
        events(&app, kind::KEY_ROTATED).await.is_empty(),
        "nothing due yet"
    );
    let period = i64::from(app.core.config.keys.rotation_days) * 86_400;
    app.clock.advance(period);
    app.core.maintain_keys().await.expect("maintenance");
    let rotated = events(&app, kind::KEY_ROTATED).await;
    assert_eq!(rotated.len(), 3, "one per algorithm: {rotated:?}");
    let keys = app.core.keys.current();
    for r in &rotated {
        let e = &r.event;
        assert_eq!(
            (e.actor.as_deref(), e.outcome),
            (Some("system"), Outcome::Success)
        );
        let alg = e.detail.as_ref().expect("detail")["alg"]
            .as_str()
            .expect("alg")
            .to_owned();
        let active = keys
            .info
            .iter()
            .find(|k| k.state == "active" && k.alg.as_str() == alg)
            .expect("an active key");
        assert_eq!(
            e.target.as_deref(),
            Some(active.kid.as_str()),
            "the kid now signing"
        );
    }
}

async fn scrape(app: &TestApp) -> String {
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    r.text().await.expect("text")
}

fn dropped(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with("tessera_audit_events_dropped_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no dropped counter in:\n{metrics}"))
}

fn probe(n: usize) -> AuditEvent {
    AuditEvent::new(kind::LOGIN_FAILED, 1_700_000_000, Outcome::Failure).actor(format!("probe-{n}"))
}

#[tokio::test]
async fn a_full_queue_drops_events_and_counts_them_without_blocking() {
    let app = spawn_app_with(|c| {
        c.audit.queue = 4;
        c.metrics.token = Some(SecretString("scrape-me".into()));
    })
    .await;
    assert_eq!(dropped(&scrape(&app).await), 0.0);
    // This test runs on a current-thread runtime: the writer cannot take anything from the
    // queue until the test awaits, so ten events in a row overflow a queue of four exactly.
    for n in 0..10 {
        app.core.audit.record(probe(n));
    }
    assert_eq!(dropped(&scrape(&app).await), 6.0);
    let kept: Vec<String> = events(&app, kind::LOGIN_FAILED)
        .await
        .into_iter()
        .filter_map(|e| e.event.actor)
        .collect();
    assert_eq!(
        kept,
        ["probe-3", "probe-2", "probe-1", "probe-0"],
        "the first four were queued"
    );
}

/// Makes every insert into audit_events fail (a trigger, on either database) or lets them pass.
async fn refuse_audit_writes(url: &str, refuse: bool) {
    let db = Db::connect(url, 1).await.expect("connect");
    let statements: &[&str] = match (&db, refuse) {
        (Db::Sqlite(_), true) => &["CREATE TRIGGER refuse BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
        (Db::Sqlite(_), false) => &["DROP TRIGGER refuse"],
        (Db::Postgres(_), true) => &[
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_events \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        (Db::Postgres(_), false) => &["DROP TRIGGER refuse ON audit_events"],
    };
    for sql in statements {
        crate::helpers::execute(&db, sql, &[]).await;
    }
    db.close().await;
}

#[tokio::test]
async fn a_failed_write_is_retried_and_an_outage_holds_at_most_the_queue() {
    let app = spawn_app_with(|c| {
        c.audit.queue = 2;
        c.metrics.token = Some(SecretString("scrape-me".into()));
    })
    .await;
    refuse_audit_writes(&app.db.url, true).await;
    app.core.audit.record(probe(1));
    assert!(
        app.core.audit.flush().await.is_err(),
        "the write was refused"
    );
    assert_eq!(dropped(&scrape(&app).await), 0.0, "kept for a retry");
    // Two more while the database still refuses: the writer holds at most the queue's size,
    // so the oldest event is given up and counted.
    app.core.audit.record(probe(2));
    app.core.audit.record(probe(3));
    assert!(app.core.audit.flush().await.is_err());
    assert_eq!(dropped(&scrape(&app).await), 1.0);
    refuse_audit_writes(&app.db.url, false).await;
    let kept: Vec<String> = events(&app, kind::LOGIN_FAILED)
        .await
        .into_iter()
        .filter_map(|e| e.event.actor)
        .collect();
    assert_eq!(
        kept,
        ["probe-3", "probe-2"],
        "written once the database accepts them"
    );
}

#[tokio::test]
async fn events_past_the_retention_are_purged() {
    let app = spawn_app_with(|c| c.audit.retention_days = 2).await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let id = reg.client.client_id.0.clone();
    let fail = |who: &str| {
        format!(
            "grant_type=client_credentials&client_id={}&client_secret=wrong-one",
            enc(who)
        )
    };
    app.post_form("/token", None, &fail(&id)).await;
    app.clock.advance(86_400);
    app.post_form("/token", None, &fail("later")).await;
    app.core
        .audit
        .flush()
        .await
        .expect("both stored before the purge");
    let clients = |rows: Vec<StoredEvent>| -> Vec<String> {
        rows.into_iter().filter_map(|r| r.event.client_id).collect()
    };
    app.core.purge_expired().await.expect("purge");
    assert_eq!(
        clients(events(&app, kind::CLIENT_AUTH_FAILED).await),
        ["later", id.as_str()],
        "a day old: kept"
    );
    app.clock.advance(86_401);
    app.core.purge_expired().await.expect("purge");
    assert_eq!(
        clients(events(&app, kind::CLIENT_AUTH_FAILED).await),
        ["later"],
        "two days and a second: purged"
    );
}

/// `tessera audit list` on the test's database, with no inherited Tessera configuration.
fn tessera(url: &str, args: &[&str]) -> Output {
    process::tessera(args)
        .env("TESSERA_DATABASE_URL", url)
        .env("TESSERA_MASTER_KEY", crate::helpers::shared_master_key())
        .output()
        .expect("run tessera")
}

#[tokio::test]
async fn the_cli_lists_events_with_filters_as_a_table_and_as_json() {
    let app = spawn_app().await;
    let t0 = 1_750_000_000;
    let record = |kind: &str, at: i64, actor: &str, client: &str| {
        app.core.audit.record(
            AuditEvent::new(kind, at, Outcome::Failure)
                .actor(actor)
                .client(client)
                .ip("198.51.100.4"),
        )
    };
    record(kind::LOGIN_FAILED, t0, "alice", "web");
    record(kind::LOGIN_FAILED, t0 + 100, "bob", "web");
    record(kind::CLIENT_AUTH_FAILED, t0 + 200, "svc", "svc");
    record(kind::LOGIN_FAILED, t0 + 300, "alice", "web");
    app.core.audit.flush().await.expect("flush");
    let url = app.db.url.clone();
    let run = |args: &[&str]| {
        let out = tessera(&url, args);
        assert!(
            out.status.success(),
            "tessera {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed: Vec<StoredJson> = serde_json::from_str(&run(&[
        "audit", "list", "--kind", "login.", "--actor", "alice", "--json",
    ]))
    .expect("JSON");
    let at: Vec<i64> = listed.iter().map(|e| e.at).collect();
    assert_eq!(at, [t0 + 300, t0], "alice's logins, newest first");
    assert!(
        listed
            .iter()
            .all(|e| e.kind == "login.failed" && e.outcome == "failure")
    );
    // --since in RFC 3339 and in unix seconds; --client; --limit.
    let since = "2025-06-15T15:08:20Z"; // t0 + 100
    // (The login family: the server's own start-up events are newer than these.)
    let listed: Vec<StoredJson> = serde_json::from_str(&run(&[
        "audit", "list", "--since", since, "--kind", "login.", "--json",
    ]))
    .expect("JSON");
    assert_eq!(
        listed.iter().map(|e| e.at).collect::<Vec<_>>(),
        [t0 + 300, t0 + 100]
    );
    let listed: Vec<StoredJson> = serde_json::from_str(&run(&[
        "audit",
        "list",
        "--since",
        &(t0 + 101).to_string(),
        "--client",
        "web",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(listed.iter().map(|e| e.at).collect::<Vec<_>>(), [t0 + 300]);
    let listed: Vec<StoredJson> =
        serde_json::from_str(&run(&["audit", "list", "--limit", "1", "--json"])).expect("JSON");
    assert_eq!(listed.len(), 1);
    // The table: a header and one line per event, times in RFC 3339.
    let table = run(&["audit", "list", "--actor", "svc"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].contains("KIND") && lines[0].contains("IP"),
        "{table}"
    );
    for field in [
        "2025-06-15T15:10:00Z",
        "client_auth.failed",
        "failure",
        "svc",
        "198.51.100.4",
    ] {
        assert!(lines[1].contains(field), "{field} in {table}");
    }
    // A typed username cannot send escape sequences to the operator's terminal.
    app.core.audit.record(
        AuditEvent::new(kind::LOGIN_FAILED, t0 + 400, Outcome::Failure).actor("\u{1b}[2Jevil"),
    );
    app.core.audit.flush().await.expect("flush");
    let table = run(&["audit", "list", "--limit", "1"]);
    assert!(
        table.contains("\\u{1b}[2Jevil") && !table.contains('\u{1b}'),
        "{table}"
    );
    let out = tessera(&url, &["audit", "list", "--since", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[derive(serde::Deserialize)]
struct StoredJson {
    at: i64,
    kind: String,
    outcome: String,
}

/// Two instances on one database each keep their own queue; both reach the same table.
#[tokio::test]
async fn every_instance_writes_to_the_shared_table() {
    let app = spawn_app().await;
    let other = crate::helpers::spawn_on(Arc::clone(&app.db), app.clock.clone()).await;
    app.core.audit.record(probe(1));
    other.core.audit.record(probe(2));
    other.core.audit.flush().await.expect("flush");
    let actors: Vec<String> = events(&app, kind::LOGIN_FAILED)
        .await
        .into_iter()
        .filter_map(|e| e.event.actor)
        .collect();
    assert_eq!(actors.len(), 2, "{actors:?}");
}
