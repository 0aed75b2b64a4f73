//! `[keys]`: signing-key rotation and how the key set is published and re-read.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Automatic rotation period of the active signing key per algorithm.
    pub rotation_days: u32,
    /// `Cache-Control: max-age` of /jwks.json; a next key is published at least this long
    /// before it may sign.
    pub jwks_max_age: u32,
    /// How often an instance re-reads the key set written by others.
    pub reload_seconds: u32,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            rotation_days: 90,
            jwks_max_age: 300,
            reload_seconds: 30,
        }
    }
}

impl KeysConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.rotation_days == 0 {
            return Err(invalid("TESSERA_KEYS__ROTATION_DAYS", "must be at least 1"));
        }
        if !(1..=86_400).contains(&self.jwks_max_age) {
            return Err(invalid(
                "TESSERA_KEYS__JWKS_MAX_AGE",
                "must be between 1 and 86400 seconds",
            ));
        }
        if self.reload_seconds == 0 {
            return Err(invalid(
                "TESSERA_KEYS__RELOAD_SECONDS",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
