//! Signing keys: first-start generation, loading (decrypting) into memory, rotation and removal.
//!
//! Lifecycle per algorithm: `next` (published in JWKS, not signing) → `active` (signing) →
//! `retired` (published, not signing) → removed. A next key is published at least one JWKS
//! max-age before it may sign, so every cache that fetched JWKS already knows it; a retired key
//! stays until every token it signed has expired plus one max-age.

use super::ServiceError;
use super::audit::SYSTEM;
use crate::crypto::CryptoError;
use crate::crypto::keys::KeyPair;
use crate::crypto::master_key::Keyring;
use crate::model::kind;
use crate::model::{Actor, AuditEvent, Outcome, SigningAlg};
use crate::oauth::keys::{KeyInfo, KeySet};
use crate::state::Core;
use crate::store::keys::{self as key_store, KeyRow};
use crate::store::resources;

/// Seals a key pair into a row: the private part encrypted under the primary master key with
/// the kid as associated data (so a ciphertext cannot be moved to another row).
fn seal(
    alg: SigningAlg,
    state: &str,
    pair: &KeyPair,
    der: &[u8],
    keyring: &Keyring,
    now: i64,
) -> Result<KeyRow, CryptoError> {
    let kid = pair.thumbprint();
    let (master_key_id, private_key) = keyring.encrypt(der, kid.as_bytes())?;
    Ok(KeyRow {
        public_jwk: pair.public_jwk(&kid, alg).to_string(),
        kid,
        alg: alg.as_str().to_owned(),
        state: state.to_owned(),
        private_key,
        master_key_id,
        created_at: now,
        activated_at: (state == "active").then_some(now),
        retired_at: None,
    })
}

/// A freshly generated key row (blocking: RSA generation takes tens of milliseconds).
pub fn new_key_row(
    alg: SigningAlg,
    state: &str,
    keyring: &Keyring,
    now: i64,
) -> Result<KeyRow, CryptoError> {
    let (pair, der) = KeyPair::generate(alg)?;
    seal(alg, state, &pair, &der, keyring, now)
}

/// [`new_key_row`] with the generation moved off the async workers.
async fn generate_row(alg: SigningAlg, state: &str, core: &Core) -> Result<KeyRow, ServiceError> {
    let (pair, der) = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
        .await
        .map_err(|_| CryptoError::KeyGeneration)??;
    Ok(seal(alg, state, &pair, &der, &core.keyring, core.now())?)
}

impl Core {
    /// Makes sure every algorithm has an active and a next key, then loads the set. Safe when
    /// several instances start together on an empty database: a losing insert writes nothing
    /// and everybody loads the winner's keys.
    pub async fn ensure_keys(&self) -> Result<(), ServiceError> {
        let rows = key_store::list(&self.db).await?;
        for alg in SigningAlg::ALL {
            for state in ["active", "next"] {
                let present = rows
                    .iter()
                    .any(|r| r.alg == alg.as_str() && r.state == state);
                if !present {
                    let row = generate_row(alg, state, self).await?;
                    key_store::insert_if_free(&self.db, &row).await?;
                }
            }
        }
        self.reload_keys().await
    }

    /// Re-reads the key set from the database (other instances may have rotated).
    pub async fn reload_keys(&self) -> Result<(), ServiceError> {
        let rows = key_store::list(&self.db).await?;
        let max_age = i64::from(self.config.keys.jwks_max_age);
        let set = KeySet::from_rows(&rows, &self.keyring, max_age)?;
        self.keys.replace(set);
        Ok(())
    }

    /// Promotes next → active, active → retired and publishes a new next key for `alg`.
    /// Refused while the next key has been published for less than one JWKS max-age, because
    /// verifiers that cached JWKS before it appeared would reject its tokens — unless `force`d
    /// (an admin retiring a compromised active key accepts that).
    pub async fn rotate_key(
        &self,
        alg: SigningAlg,
        force: bool,
        actor: &Actor,
    ) -> Result<KeyInfo, ServiceError> {
        let rows = key_store::list(&self.db).await?;
        let find = |state: &str| {
            rows.iter()
                .find(|r| r.alg == alg.as_str() && r.state == state)
        };
        let next = find("next").ok_or_else(|| {
            ServiceError::Conflict(format!(
                "no next {} key; start the server once",
                alg.as_str()
            ))
        })?;
        let now = self.now();
        let usable_from = next.created_at + i64::from(self.config.keys.jwks_max_age);
        if now < usable_from && !force {
            return Err(ServiceError::Conflict(format!(
                "the next {} key {} is published only since {}s; it may sign in {}s \
                 (one JWKS max-age, keys.jwks_max_age)",
                alg.as_str(),
                next.kid,
                now - next.created_at,
                usable_from - now
            )));
        }
        let new_next = generate_row(alg, "next", self).await?;
        let active = find("active").map(|r| r.kid.as_str());
        let kind = if force { "key.retired" } else { "key.rotated" };
        let audit = actor
            .event(kind, now, &next.kid)
            .detail(serde_json::json!({ "alg": alg.as_str(), "retired": active }));
        let rotated =
            key_store::rotate(&self.db, active, &next.kid, &new_next, now, &audit).await?;
        if !rotated {
            return Err(ServiceError::Conflict(
                "another instance rotated this key at the same time; list the keys and retry"
                    .into(),
            ));
        }
        self.reload_keys().await?;
        self.keys
            .current()
            .info
            .iter()
            .find(|k| k.kid == next.kid)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("key {}", next.kid)))
    }

    /// Retires a key now: an active key is replaced by its algorithm's next key at once (even if
    /// verifiers may not have fetched it yet); a retired key stops being published, so tokens
    /// it signed stop verifying. The next key cannot be retired: rotate instead.
    pub async fn retire_key(&self, kid: &str, actor: &Actor) -> Result<(), ServiceError> {
        let rows = key_store::list(&self.db).await?;
        let key = rows
            .iter()
            .find(|r| r.kid == kid)
            .ok_or_else(|| ServiceError::NotFound(format!("key {kid}")))?;
        match key.state.as_str() {
            "active" => {
                let alg: SigningAlg = key
                    .alg
                    .parse()
                    .map_err(|e| ServiceError::Conflict(format!("key {kid}: {e}")))?;
                self.rotate_key(alg, true, actor).await?;
            }
            "retired" => {
                let audit = actor.event("key.unpublished", self.now(), kid);
                if !key_store::delete_retired(&self.db, kid, &audit).await? {
                    return Err(ServiceError::NotFound(format!("key {kid}")));
                }
                self.reload_keys().await?;
            }
            _ => {
                return Err(ServiceError::Conflict(format!(
                    "key {kid} is the next key and signs nothing yet: rotate instead"
                )));
            }
        }
        Ok(())
    }

    /// Re-encrypts every stored private key under the primary master key (`keys rewrap`). The
    /// new key must already be first in the keyring of every instance (old keys still listed),
    /// so nothing stops decrypting while this runs. Returns how many keys were rewrapped.
    pub async fn rewrap_keys(&self) -> Result<usize, ServiceError> {
        let primary = self.keyring.primary().id().to_owned();
        let mut done = 0;
        for row in key_store::list(&self.db).await? {
            if row.master_key_id == primary {
                continue;
            }
            let der =
                self.keyring
                    .decrypt(&row.master_key_id, &row.private_key, row.kid.as_bytes())?;
            let (key_id, blob) = self.keyring.encrypt(&der, row.kid.as_bytes())?;
            if key_store::rewrap(&self.db, &row.kid, &row.master_key_id, &key_id, &blob).await? {
                done += 1;
            }
        }
        self.reload_keys().await?;
        Ok(done)
    }

    /// The periodic job: rotates active keys older than `keys.rotation_days` and removes retired
    /// keys no token can need any more. Concurrent instances are safe: `rotate` is conditional.
    pub async fn maintain_keys(&self) -> Result<(), ServiceError> {
        let now = self.now();
        let period = i64::from(self.config.keys.rotation_days) * 86_400;
        let max_age = i64::from(self.config.keys.jwks_max_age);
        for info in self
            .keys
            .current()
            .info
            .iter()
            .filter(|k| k.state == "active")
        {
            if info.activated_at.unwrap_or(info.created_at) + period <= now {
                // Successful rotations are audited in their own transaction (actor `system`);
                // a failure is reported through the audit writer.
                let failed = || {
                    AuditEvent::new(kind::KEY_ROTATED, self.now(), Outcome::Failure)
                        .actor(SYSTEM)
                        .target(info.kid.clone())
                        .detail(serde_json::json!({"alg": info.alg.as_str()}))
                };
                match self.rotate_key(info.alg, false, &Actor::system()).await {
                    Ok(k) => {
                        tracing::info!(kid = %k.kid, alg = k.alg.as_str(), "signing key rotated");
                    }
                    // Another instance rotated it first, or the next key is too new.
                    Err(ServiceError::Conflict(reason)) => {
                        tracing::debug!(%reason, "rotation skipped")
                    }
                    Err(e) => {
                        self.audit.record(failed());
                        return Err(e);
                    }
                }
            }
        }
        let keep = resources::max_access_token_ttl(&self.db).await? + max_age;
        let removed = key_store::delete_retired_before(&self.db, now - keep).await?;
        if removed > 0 {
            tracing::info!(removed, "retired signing keys removed");
        }
        self.reload_keys().await
    }
}
