//! Garbage and floods cost bounded work and memory: failed client authentication is counted
//! rather than stored one audit row each, CORS origins are looked up by index, and oversized
//! identifiers are refused before any lookup, cache or rate-limit table sees them.

use tessera::model::AuditFilter;
use tessera::model::{Actor, GrantType};
use tessera::service::clients::ClientSpec;

use crate::helpers::{TestApp, basic, execute, expect_error, spawn_app_with};

/// Every `client_auth.*` event, after a flush.
async fn client_auth_events(app: &TestApp) -> Vec<tessera::model::StoredEvent> {
    app.core.audit.flush().await.expect("flush");
    let filter = AuditFilter {
        kind: Some("client_auth.".to_owned()),
        ..AuditFilter::default()
    };
    app.core
        .audit_events(&filter, None, 10_000)
        .await
        .expect("list")
}

/// An app whose client-authentication failure limit is off, so every attempt is answered.
async fn unlimited() -> TestApp {
    spawn_app_with(|c| c.limits.client_auth_failures_per_minute = 0).await
}

#[tokio::test]
async fn a_flood_of_failed_client_authentication_is_counted_not_stored_row_by_row() {
    let app = unlimited().await;
    for i in 0..200 {
        let (path, form) = if i % 2 == 0 {
            (
                "/token",
                format!("grant_type=client_credentials&client_id=flood-{i}&client_secret=x"),
            )
        } else {
            (
                "/introspect",
                format!("token=t&client_id=flood-{}&client_secret=x", i % 7),
            )
        };
        assert_eq!(app.post_form(path, None, &form).await.status(), 401, "{i}");
    }
    let rows = client_auth_events(&app).await;
    assert!(
        rows.len() <= 24,
        "at most 20 single rows and one count per endpoint (and minute): {}",
        rows.len()
    );
    assert_eq!(rows.iter().map(|r| r.event.count).sum::<i64>(), 200);
    let counted: Vec<_> = rows
        .iter()
        .filter(|r| r.event.kind == "client_auth.failures")
        .collect();
    assert_eq!(counted.len(), 2, "one per endpoint: {counted:?}");
    for row in counted {
        let detail = row.event.detail.as_ref().expect("detail");
        let sources = detail["sources"].as_array().expect("a sample of sources");
        assert!(!sources.is_empty() && sources.len() <= 20, "{detail}");
        assert!(
            sources
                .iter()
                .all(|s| s["ip"] == "127.0.0.1" && s["client_id"].is_string()),
            "{detail}"
        );
        let sampled: i64 = sources.iter().filter_map(|s| s["count"].as_i64()).sum();
        assert!(sampled <= row.event.count);
    }
}

/// Runs one statement on the test's database.
async fn sql(app: &TestApp, statement: &str, bind: &str) {
    execute(&app.core.db, statement, &[bind]).await;
}

async fn preflight(app: &TestApp, origin: &str) -> u16 {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight")
        .status()
        .as_u16()
}

fn spa(origins: &[&str], disabled: bool) -> ClientSpec {
    let mut spec = ClientSpec::new("spa");
    spec.grant_types = vec![GrantType::AuthorizationCode];
    spec.redirect_uris = vec!["https://app.example.com/callback".into()];
    spec.allowed_origins = origins.iter().map(|o| o.to_string()).collect();
    spec.disabled = disabled;
    spec
}

/// A CORS check looks the origin up in the index the client store keeps, instead of loading
/// every client: a client row that cannot be read does not stop another client's origin from
/// being found (loading all clients fails on it), and the index follows every change.
#[tokio::test]
async fn cors_origins_are_found_through_an_index_kept_with_the_clients() {
    // No cache: every preflight asks the database.
    let app = spawn_app_with(|c| c.clients.cache_ttl_ms = 0).await;
    let cli = Actor::cli();
    let core = &app.core;
    let id = core
        .create_client(spa(&["https://spa.example.com"], false), &cli)
        .await
        .expect("spa")
        .client
        .client_id
        .0;
    let broken = core
        .create_client(spa(&["https://broken.example.com"], false), &cli)
        .await
        .expect("other")
        .client
        .client_id
        .0;
    sql(
        &app,
        "UPDATE clients SET redirect_uris = 'not a list' WHERE client_id = $1",
        &broken,
    )
    .await;

    assert_eq!(preflight(&app, "https://spa.example.com").await, 204);
    assert_eq!(
        preflight(&app, "https://app.example.com").await,
        204,
        "the redirect URI's origin"
    );
    assert_eq!(preflight(&app, "https://evil.example").await, 403);
    let huge = format!("https://{}.example", "a".repeat(100_000));
    assert_eq!(preflight(&app, &huge).await, 403);

    core.update_client(&id, spa(&["https://new.example.com"], false), &cli)
        .await
        .expect("update");
    assert_eq!(preflight(&app, "https://spa.example.com").await, 403);
    assert_eq!(preflight(&app, "https://new.example.com").await, 204);
    core.update_client(&id, spa(&["https://new.example.com"], true), &cli)
        .await
        .expect("disable");
    assert_eq!(
        preflight(&app, "https://new.example.com").await,
        403,
        "disabled"
    );
    core.update_client(&id, spa(&["https://new.example.com"], false), &cli)
        .await
        .expect("enable");

    // Clients written before the index existed are indexed at the next start (the migration
    // step), the unreadable one included without stopping it.
    sql(&app, "DELETE FROM client_origins WHERE client_id <> $1", "").await;
    sql(
        &app,
        "UPDATE clients SET origins_indexed = FALSE WHERE client_id <> $1",
        "",
    )
    .await;
    assert_eq!(preflight(&app, "https://new.example.com").await, 403);
    core.db.migrate().await.expect("migrate and index");
    assert_eq!(preflight(&app, "https://new.example.com").await, 204);
    assert_eq!(preflight(&app, "https://app.example.com").await, 204);
    assert_eq!(
        preflight(&app, "https://broken.example.com").await,
        204,
        "its explicit origins still parse"
    );

    core.delete_client(&id, &cli).await.expect("delete");
    assert_eq!(preflight(&app, "https://new.example.com").await, 403);
}

/// Entries of the client cache, from /metrics.
async fn cached_clients(app: &TestApp) -> usize {
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
    text.lines()
        .find_map(|l| l.strip_prefix("tessera_cache_entries{cache=\"clients\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no client cache gauge in {text}"))
}

/// Identifiers past their caps (README, "Limits on identifiers") are refused before they are
/// looked up: they never become cache entries (nor rate-limit or audit keys), so a flood of
/// huge random client ids costs no memory. Ids up to the cap are still looked up (and their
/// absence cached, within the cache's bound).
#[tokio::test]
async fn oversized_identifiers_are_refused_before_any_lookup() {
    let app = spawn_app_with(|c| {
        c.metrics.token = Some(tessera::config::SecretString("scrape".into()));
        c.limits.client_auth_failures_per_minute = 0;
    })
    .await;
    let form = |id: &str| format!("grant_type=client_credentials&client_id={id}&client_secret=x");
    let start = cached_clients(&app).await;
    for i in 0..20 {
        let id = format!("{i:03}{}", "u".repeat(252));
        assert_eq!(
            app.post_form("/token", None, &form(&id)).await.status(),
            401
        );
    }
    assert_eq!(
        cached_clients(&app).await,
        start + 20,
        "unknown ids at the cap"
    );

    for i in 0..20 {
        let long = format!(
            "{i:03}{}",
            "x".repeat(if i % 2 == 0 { 253 } else { 60_000 })
        );
        let r = app.post_form("/token", None, &form(&long)).await;
        assert_eq!(expect_error(r, 400).await, "invalid_request");
        let r = app
            .post_form(
                "/token",
                Some(&basic(&long, "x")),
                "grant_type=client_credentials",
            )
            .await;
        expect_error(r, 401).await;
        let r = app
            .post_form("/introspect", Some(&basic(&long, "x")), "token=t")
            .await;
        expect_error(r, 401).await;
    }
    assert_eq!(
        cached_clients(&app).await,
        start + 20,
        "no entry for any of them"
    );
    assert!(
        client_auth_events(&app).await.iter().all(|e| e
            .event
            .client_id
            .as_ref()
            .is_none_or(|c| c.len() <= 255)),
        "no oversized id reaches the audit log"
    );

    // The other identifiers: a whole scope, one scope value, a resource, state and nonce.
    let reg = app.client(&[]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    let big = "b".repeat(2049);
    for extra in [
        format!("scope={}", "s+".repeat(1100)),
        format!("scope={}", "s".repeat(256)),
        format!("resource=https://api.example.com/{big}"),
    ] {
        let (status, body) = app.token(&id, &secret, &format!("&{extra}")).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    for extra in [format!("state={big}"), format!("nonce={}", "n".repeat(513))] {
        let url = app.url(&format!(
            "/authorize?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fx.example%2Fcb&{extra}"
        ));
        let r = app.http.get(url).send().await.expect("authorize");
        assert_eq!(r.status(), 400, "an error page, never a redirect");
        assert!(r.headers().get("location").is_none());
    }
}
