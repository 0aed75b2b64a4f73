//! Garbage and floods cost bounded work and memory: failed client authentication is counted
//! rather than stored one audit row each.

use tessera::store::audit::Filter;

use crate::helpers::{TestApp, spawn_app_with};

/// Every `client_auth.*` event, after a flush.
async fn client_auth_events(app: &TestApp) -> Vec<tessera::model::StoredEvent> {
    app.core.audit.flush().await.expect("flush");
    let filter = Filter {
        kind: Some("client_auth.".to_owned()),
        ..Filter::default()
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
