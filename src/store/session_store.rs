//! Browser sessions for tower-sessions over our own `sessions` table in the same database (the
//! published sqlx store would link a second sqlx and libsqlite3).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

use super::Db;
use super::sessions::{self, Owner};
use crate::clock::{SharedClock, wall_time};
use crate::model::SIGNED_IN;

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: SharedClock,
    /// The absolute session lifetime (seconds since sign-in).
    absolute: i64,
}

impl DbSessionStore {
    /// `absolute`: the longest a signed-in session lives after its sign-in, in seconds.
    pub fn new(db: Db, clock: SharedClock, absolute: i64) -> Self {
        Self {
            db,
            clock,
            absolute,
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
        .get(SIGNED_IN)?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn signed_in_since(record: &Record) -> Option<i64> {
    record.data.get(SIGNED_IN)?.get("auth_time")?.as_i64()
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
