//! The master keyring: AES-256-GCM keys that wrap signing keys at rest and derive the
//! client-secret HMAC keys. It never lives in the database; every ciphertext names the id of the
//! key that made it, so a new key can be added and data rewrapped later.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};

use super::{CryptoError, random};

pub struct MasterKey {
    id: String,
    bytes: [u8; 32],
    aead: LessSafeKey,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    fn from_bytes(bytes: [u8; 32]) -> Result<Self, CryptoError> {
        let id = digest(&SHA256, &bytes).as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| CryptoError::InvalidMasterKey("not an AES-256 key".into()))?;
        Ok(Self {
            id,
            bytes,
            aead: LessSafeKey::new(unbound),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Raw key material, for deriving purpose-bound subkeys (HMAC) only.
    pub(crate) fn material(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// One or more master keys; the first encrypts new data, all can decrypt.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// Parses keys separated by commas or newlines, each 32 bytes in base64url or base64.
    pub fn parse(raw: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for part in raw
            .split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let decoded = URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(part))
                .map_err(|_| CryptoError::InvalidMasterKey("not base64".into()))?;
            let bytes: [u8; 32] = decoded.try_into().map_err(|_| {
                CryptoError::InvalidMasterKey("a master key must be exactly 32 bytes".into())
            })?;
            keys.push(MasterKey::from_bytes(bytes)?);
        }
        if keys.is_empty() {
            return Err(CryptoError::InvalidMasterKey("empty".into()));
        }
        Ok(Self { keys })
    }

    /// A fresh random 256-bit key, encoded as it is stored in a key file.
    pub fn generate_encoded() -> String {
        URL_SAFE_NO_PAD.encode(random::bytes::<32>())
    }

    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    pub fn keys(&self) -> &[MasterKey] {
        &self.keys
    }

    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Encrypts under the primary key; `aad` binds the ciphertext to its owner (e.g. a kid).
    /// Returns (key id, base64url(nonce || ciphertext || tag)).
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<(String, String), CryptoError> {
        let key = self.primary();
        let nonce_bytes = random::bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        key.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| CryptoError::Signing)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok((key.id.clone(), URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn decrypt(&self, key_id: &str, blob: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let wrong = || CryptoError::WrongMasterKey {
            key_id: key_id.to_owned(),
        };
        let key = self.get(key_id).ok_or_else(wrong)?;
        let raw = URL_SAFE_NO_PAD.decode(blob).map_err(|_| wrong())?;
        if raw.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut buf = ciphertext.to_vec();
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| wrong())?;
        Ok(plain.to_vec())
    }
}

/// Writes a new key file readable only by its owner (mode 0600). Fails if the file exists, so
/// two processes starting at once cannot overwrite each other's key.
pub fn create_key_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = crate::store::files::open_private(path, true)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let ring = Keyring::parse(&Keyring::generate_encoded()).expect("valid");
        let (id, blob) = ring.encrypt(b"secret", b"kid-1").expect("encrypt");
        assert_eq!(id, ring.primary().id());
        assert_eq!(
            ring.decrypt(&id, &blob, b"kid-1").expect("decrypt"),
            b"secret"
        );
        assert!(
            ring.decrypt(&id, &blob, b"kid-2").is_err(),
            "aad binds the owner"
        );
        let other = Keyring::parse(&Keyring::generate_encoded()).expect("valid");
        assert!(matches!(
            other.decrypt(&id, &blob, b"kid-1"),
            Err(CryptoError::WrongMasterKey { .. })
        ));
    }

    #[test]
    fn keyring_with_two_keys_decrypts_both() {
        let (a, b) = (Keyring::generate_encoded(), Keyring::generate_encoded());
        let old = Keyring::parse(&a).expect("valid");
        let (id, blob) = old.encrypt(b"x", b"").expect("encrypt");
        let both = Keyring::parse(&format!("{b},{a}")).expect("valid");
        assert_ne!(both.primary().id(), id);
        assert_eq!(
            both.decrypt(&id, &blob, b"").expect("old key still works"),
            b"x"
        );
        assert!(Keyring::parse("c2hvcnQ").is_err());
        assert!(Keyring::parse("").is_err());
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/master.key");
        create_key_file(&path, "k").expect("create");
        assert!(create_key_file(&path, "other").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
