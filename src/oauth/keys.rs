//! The signing keys in memory: the active signer per algorithm, the published JWKS document and
//! the verifier of our own tokens, swapped whole when the key lifecycle (`service::keys`)
//! changes them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;

use crate::crypto::CryptoError;
use crate::crypto::jwt::{Signer, Verifier};
use crate::crypto::keys::KeyPair;
use crate::crypto::master_key::Keyring;
use crate::model::SigningAlg;
use crate::store::keys::KeyRow;

/// What the CLI and console show about a key (never the private part).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    /// When a next key may become active (published for one JWKS max-age).
    pub usable_from: i64,
}

/// The keys in memory: active signers, the published JWKS document and a verifier.
#[derive(Debug, Default)]
pub struct KeySet {
    signers: HashMap<SigningAlg, Arc<Signer>>,
    pub jwks: Arc<str>,
    pub etag: Arc<str>,
    pub verifier: Verifier,
    pub info: Vec<KeyInfo>,
}

impl KeySet {
    pub fn signer(&self, alg: SigningAlg) -> Option<Arc<Signer>> {
        self.signers.get(&alg).cloned()
    }

    /// Decrypts the active keys and gathers every published public key. A key that does not
    /// decrypt means the master key is wrong: that is an error, never a reason to regenerate.
    pub(crate) fn from_rows(
        rows: &[KeyRow],
        keyring: &Keyring,
        max_age: i64,
    ) -> Result<Self, CryptoError> {
        let mut set = KeySet::default();
        let mut published = Vec::new();
        for row in rows {
            let bad = |reason: String| CryptoError::BadKey {
                kid: row.kid.clone(),
                reason,
            };
            let alg: SigningAlg = row.alg.parse().map_err(|e| bad(format!("{e}")))?;
            let jwk: Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| bad(e.to_string()))?;
            let der = keyring.decrypt(&row.master_key_id, &row.private_key, row.kid.as_bytes())?;
            if row.state == "active" {
                let pair = KeyPair::from_pkcs8(alg, &der).map_err(bad)?;
                set.signers.insert(
                    alg,
                    Arc::new(Signer {
                        kid: row.kid.clone(),
                        alg,
                        pair,
                    }),
                );
            }
            set.verifier.insert(&row.kid, alg, &jwk)?;
            set.info.push(KeyInfo {
                kid: row.kid.clone(),
                alg,
                state: row.state.clone(),
                created_at: row.created_at,
                activated_at: row.activated_at,
                retired_at: row.retired_at,
                usable_from: row.created_at + max_age,
            });
            published.push(jwk);
        }
        let body = serde_json::json!({ "keys": published }).to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
        let etag: String = digest.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        set.etag = format!("\"{etag}\"").into();
        set.jwks = body.into();
        Ok(set)
    }
}

/// The current key set, swapped whole when keys change.
#[derive(Debug, Default)]
pub struct KeyStore {
    current: RwLock<Arc<KeySet>>,
}

impl KeyStore {
    pub fn current(&self) -> Arc<KeySet> {
        self.current.read().map(|k| k.clone()).unwrap_or_default()
    }

    pub(crate) fn replace(&self, set: KeySet) {
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(set);
        }
    }
}
