//! Cryptography. aws-lc-rs signs JWTs and generates key pairs (ring cannot generate RSA keys
//! and signs RSA 2.4× slower); ring does AES-256-GCM key wrapping, HMAC and randomness.

pub mod jwt;
pub mod keys;
pub mod master_key;
pub mod password;
pub mod random;
pub mod secrets;

/// Compares secrets without leaking where they differ (aws-lc's CRYPTO_memcmp; ring's
/// equivalent is deprecated).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// jsonwebtoken ≥ 10 has no default backend and panics without one: install aws-lc-rs once.
pub fn install_providers() {
    // An Err only means a provider is already installed (a second app in the same process).
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    // rustls panics when two providers are compiled in and none was chosen.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key generation failed")]
    KeyGeneration,
    #[error("signing failed")]
    Signing,
    #[error("stored key {kid} cannot be parsed: {reason}")]
    BadKey { kid: String, reason: String },
    #[error(
        "cannot decrypt data encrypted under master key {key_id}: the configured master key is \
         wrong or missing (TESSERA_MASTER_KEY / TESSERA_MASTER_KEY_FILE)"
    )]
    WrongMasterKey { key_id: String },
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}
