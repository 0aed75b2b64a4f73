//! Browser sessions: tower-sessions over our own store in the same database (the published sqlx
//! store would link a second sqlx and libsqlite3). The cookie is configured explicitly.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::clock::{SharedClock, wall_time};
use crate::config::Config;
use crate::store::sessions::Owner;
use crate::store::{Db, sessions};

pub const COOKIE: &str = "tessera_session";
/// The name over https: browsers accept a `__Host-` cookie only with Secure, Path=/ and no
/// Domain, so a sibling subdomain or a plain-http page cannot plant or overwrite it
/// (RFC 6265bis §4.1.3.2).
pub const HOST_COOKIE: &str = "__Host-tessera_session";

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: SharedClock,
    /// The absolute session lifetime (seconds since sign-in).
    absolute: i64,
}

impl DbSessionStore {
    pub fn new(db: Db, clock: SharedClock, config: &Config) -> Self {
        Self {
            db,
            clock,
            absolute: i64::from(config.sessions.absolute_hours) * 3600,
        }
    }

    /// tower-sessions dates records by the wall clock; expiry is stored on our clock so that
    /// it agrees with every other lifetime (and tests can move it). A signed-in session never
    /// outlives its sign-in by more than the absolute lifetime, however active it stays
    /// (OWASP Session Management Cheat Sheet, "Absolute Timeout"): stored here, the one end
    /// is seen by every page, the console and the refresh tokens bound to the session.
    fn expires_at(&self, record: &Record) -> i64 {
        let remaining = record.expiry_date - wall_time();
        let idle_end = self.clock.now() + remaining.whole_seconds();
        match signed_in_since(record) {
            Some(auth_time) => idle_end.min(auth_time.saturating_add(self.absolute)),
            None => idle_end,
        }
    }
}

/// The cookie value is a bearer secret: only its SHA-256 is stored.
fn id_hash(id: &Id) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

/// A field of the signed-in user (`sub`, `sid`), kept in its own column so that a user's
/// sessions can be found and tokens bound to a session checked.
fn signed_in(record: &Record, field: &str) -> Option<String> {
    record
        .data
        .get(super::ui::SIGNED_IN)?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn signed_in_since(record: &Record) -> Option<i64> {
    record
        .data
        .get(super::ui::SIGNED_IN)?
        .get("auth_time")?
        .as_i64()
}

fn encode(record: &Record) -> Result<String> {
    serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = encode(record)?;
        let (sub, sid) = (signed_in(record, "sub"), signed_in(record, "sid"));
        let owner = Owner {
            sub: sub.as_deref(),
            sid: sid.as_deref(),
        };
        loop {
            let created = sessions::create(
                &self.db,
                &id_hash(&record.id),
                owner,
                &data,
                self.expires_at(record),
            )
            .await
            .map_err(backend)?;
            if created {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let data = encode(record)?;
        let (sub, sid) = (signed_in(record, "sub"), signed_in(record, "sid"));
        let owner = Owner {
            sub: sub.as_deref(),
            sid: sid.as_deref(),
        };
        sessions::save(
            &self.db,
            &id_hash(&record.id),
            owner,
            &data,
            self.expires_at(record),
        )
        .await
        .map_err(backend)
    }

    /// Expiry is judged by our clock, so tests move time instead of sleeping.
    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some((data, expires_at)) = sessions::load(&self.db, &id_hash(id), self.clock.now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?;
        // Back from our clock to the library's wall clock.
        let remaining = time::Duration::seconds(expires_at - self.clock.now());
        let expiry_date = wall_time()
            .checked_add(remaining)
            .ok_or_else(|| Error::Decode("expiry out of range".into()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sessions::delete(&self.db, &id_hash(id))
            .await
            .map_err(backend)
    }
}

/// SameSite=Lax, not the library's Strict default: Strict drops the cookie on the navigation
/// from the client's site to /authorize, which silently breaks single sign-on and prompt=none.
/// HttpOnly always; Secure and the `__Host-` name whenever the issuer is https; ended after the
/// idle lifetime.
pub fn layer(config: &Config, store: DbSessionStore) -> SessionManagerLayer<DbSessionStore> {
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
        let store =
            DbSessionStore::new(db, std::sync::Arc::new(crate::clock::SystemClock), &config);
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
