//! /metrics: Prometheus counters that move with traffic, behind a bearer token, per app.

use tessera::config::SecretString;
use tessera::model::SigningAlg;

use crate::helpers::{spawn_app, spawn_app_with};

const API: &str = "https://api.example.com/orders";

async fn scrape(app: &crate::helpers::TestApp, token: &str) -> (u16, String) {
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("scrape");
    (r.status().as_u16(), r.text().await.expect("text"))
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_with_traffic_and_need_the_token() {
    let app = spawn_app_with(|c| {
        c.metrics.token = Some(SecretString("scrape-me".into()));
    })
    .await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    assert_eq!(scrape(&app, "wrong").await.0, 401);
    let (status, before) = scrape(&app, "scrape-me").await;
    assert_eq!(status, 200);
    for _ in 0..3 {
        app.access_token(&id, &secret).await;
    }
    assert_eq!(app.token(&id, "nope", "").await.0, 401);
    let (_, after) = scrape(&app, "scrape-me").await;
    let issued = "tessera_tokens_issued_total{grant=\"client_credentials\"}";
    assert_eq!(
        value(&after, issued) - value(&before, issued),
        3.0,
        "{after}"
    );
    let ok = "tessera_http_requests_total{route=\"/token\",method=\"POST\",status=\"200\"}";
    assert_eq!(value(&after, ok), 3.0);
    let failed = "tessera_http_requests_total{route=\"/token\",method=\"POST\",status=\"401\"}";
    assert_eq!(value(&after, failed), 1.0);
    assert!(
        after.contains("tessera_http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
    assert!(
        after.contains("tessera_db_pool_connections{state=\"idle\"}"),
        "pool gauges"
    );
    assert!(
        !after.contains("tessera_tokens_issued_by_client_total{"),
        "per-client series are opt-in"
    );
    // Another app in the same process has its own registry.
    let other = spawn_app_with(|c| c.metrics.token = Some(SecretString("t".into()))).await;
    let (_, fresh) = scrape(&other, "t").await;
    assert_eq!(value(&fresh, issued), 0.0);
}

/// Without a token nothing can read the metrics, so nothing is recorded either.
#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let app = spawn_app().await;
    app.resource(API, SigningAlg::ES256).await;
    let reg = app.client(&[API]).await;
    let (id, secret) = (reg.client.client_id.0.clone(), reg.secret.expect("secret"));
    app.access_token(&id, &secret).await;
    assert_eq!(app.token(&id, "nope", "").await.0, 401);
    let r = app.http.get(app.url("/metrics")).send().await.expect("get");
    assert_eq!(r.status(), 404);
    assert!(!app.core.metrics.enabled());
    let text = app.core.metrics.encode(1, 1, &[]).expect("encode");
    for series in [
        "tessera_tokens_issued_total{",
        "tessera_http_requests_total{",
    ] {
        assert!(!text.contains(series), "{series} recorded: {text}");
    }
}

/// The sample Grafana dashboard only charts series that the server registers (families with no
/// samples yet are not in a scrape, so the registrations in the source are the reference).
#[test]
fn the_grafana_dashboard_uses_registered_metrics() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/deploy/grafana-dashboard.json"))
            .expect("dashboard"),
    )
    .expect("JSON");
    let source = std::fs::read_to_string(format!("{root}/src/metrics.rs")).expect("metrics.rs");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8);
    // The counters that say the server is degraded have a panel.
    let exprs = dashboard.to_string();
    for degraded in [
        "tessera_audit_events_dropped_total",
        "tessera_rate_limit_sync_failures_total",
    ] {
        assert!(exprs.contains(degraded), "no panel charts {degraded}");
    }
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for (start, _) in expr.match_indices("tessera_") {
                let name: String = expr[start + "tessera_".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let family = name.trim_end_matches("_bucket").trim_end_matches("_total");
                assert!(
                    source.contains(&format!("\"{family}\","))
                        || source.contains(&format!("\"{family}\"\n")),
                    "tessera_{name} is not registered"
                );
            }
        }
    }
}
