//! Client secrets: 256-bit random strings, stored only as a keyed hash. HMAC-SHA-256 is used
//! instead of argon2/bcrypt because the secret already has full entropy, and a slow hash would make
//! every machine-to-machine token request pay for it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use super::master_key::Keyring;
use super::random;

const VERSION: &str = "h1";

/// HMAC keys derived from each master key, so that hashes made under an older master key keep
/// verifying after a new one is added.
pub struct SecretHasher {
    keys: Vec<(String, hmac::Key)>,
    dummy: hmac::Tag,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher")
    }
}

impl SecretHasher {
    pub fn new(keyring: &Keyring) -> Self {
        let keys: Vec<_> = keyring
            .keys()
            .iter()
            .map(|k| {
                let root = hmac::Key::new(hmac::HMAC_SHA256, k.material());
                let derived = hmac::sign(&root, b"tessera client-secret hash v1");
                (
                    k.id().to_owned(),
                    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
                )
            })
            .collect();
        let dummy = hmac::sign(&keys[0].1, b"no such client");
        Self { keys, dummy }
    }

    /// A new secret: 256 bits, base64url.
    pub fn generate_secret() -> String {
        random::token::<32>()
    }

    /// `h1$<master key id>$<base64url HMAC>`, under the primary master key.
    pub fn hash(&self, secret: &str) -> String {
        let (id, key) = &self.keys[0];
        let tag = hmac::sign(key, secret.as_bytes());
        format!("{VERSION}${id}${}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Constant-time check of `secret` against a stored hash (ring's `hmac::verify`).
    pub fn verify(&self, secret: &str, stored: &str) -> bool {
        let mut parts = stored.splitn(3, '$');
        let (Some(VERSION), Some(id), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Some((_, key)) = self.keys.iter().find(|(k, _)| k == id) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(key, secret.as_bytes(), &tag).is_ok()
    }

    /// Whether a stored hash was made under an older master key (and should be re-hashed the
    /// next time the secret is presented).
    pub fn is_outdated(&self, stored: &str) -> bool {
        stored.split('$').nth(1) != Some(self.keys[0].0.as_str())
    }

    /// The same work as [`verify`](Self::verify) for a client that does not exist, so the
    /// answer time does not tell whether a client_id is registered.
    pub fn verify_dummy(&self, secret: &str) {
        let _ = hmac::verify(&self.keys[0].1, secret.as_bytes(), self.dummy.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let ring = Keyring::parse(&Keyring::generate_encoded()).expect("keyring");
        let hasher = SecretHasher::new(&ring);
        let secret = SecretHasher::generate_secret();
        assert_eq!(secret.len(), 43, "256 bits in base64url");
        let stored = hasher.hash(&secret);
        assert!(stored.starts_with(&format!("h1${}$", ring.primary().id())));
        assert!(!stored.contains(&secret));
        assert!(hasher.verify(&secret, &stored));
        assert!(!hasher.verify("wrong", &stored));
        assert!(!hasher.verify(&secret, "h1$unknown$abc"));
        assert!(!hasher.verify(&secret, "garbage"));
    }
}
