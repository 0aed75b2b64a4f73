//! Browser sessions: the cookie, configured explicitly, over the store's session records (built
//! by `Core::session_store`).

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::config::Config;

pub const COOKIE: &str = "tessera_session";
/// The name over https: browsers accept a `__Host-` cookie only with Secure, Path=/ and no
/// Domain, so a sibling subdomain or a plain-http page cannot plant or overwrite it
/// (RFC 6265bis §4.1.3.2).
pub const HOST_COOKIE: &str = "__Host-tessera_session";

/// SameSite=Lax, not the library's Strict default: Strict drops the cookie on the navigation
/// from the client's site to /authorize, which silently breaks single sign-on and prompt=none.
/// HttpOnly always; Secure and the `__Host-` name whenever the issuer is https; ended after the
/// idle lifetime.
pub fn layer<S: SessionStore + Clone>(config: &Config, store: S) -> SessionManagerLayer<S> {
    let idle = time::Duration::minutes(i64::from(config.sessions.idle_minutes));
    let https = config.issuer().starts_with("https://");
    SessionManagerLayer::new(store)
        .with_name(if https { HOST_COOKIE } else { COOKIE })
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_secure(https)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::session_store::DbSessionStore;
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;
    use tower_sessions::Session;

    async fn set_cookie(issuer: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let db = Db::connect(&url, 1).await.expect("db");
        db.migrate().await.expect("migrate");
        let config = Config {
            issuer: Some(issuer.to_owned()),
            ..Config::default()
        }
        .validated()
        .expect("config");
        let store = DbSessionStore::new(db, std::sync::Arc::new(crate::clock::SystemClock), 3600);
        let app = Router::new()
            .route(
                "/",
                get(|s: Session| async move {
                    s.insert("k", 1).await.expect("insert");
                }),
            )
            .layer(layer(&config, store));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        response.headers()["set-cookie"]
            .to_str()
            .expect("ascii")
            .to_owned()
    }

    #[tokio::test]
    async fn cookie_attributes() {
        let cookie = set_cookie("https://id.example.com").await;
        assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(cookie.contains("Max-Age=1800"), "idle lifetime: {cookie}");
        let cookie = set_cookie("http://127.0.0.1:8080").await;
        assert!(cookie.starts_with("tessera_session="), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "no Secure over loopback http: {cookie}"
        );
    }
}
