//! `[sessions]`: how long a browser session lasts.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Browser sessions: ended after `idle_minutes` without a request and `absolute_hours` after
/// sign-in, whichever comes first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub idle_minutes: u32,
    pub absolute_hours: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            absolute_hours: 10,
        }
    }
}

impl SessionsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_minutes == 0 || self.absolute_hours == 0 {
            return Err(invalid(
                "TESSERA_SESSIONS__IDLE_MINUTES / TESSERA_SESSIONS__ABSOLUTE_HOURS",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
