//! `database_url` and `[database]`: which database, and how many connections to it.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
        }
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 {
            return Err(invalid(
                "TESSERA_DATABASE__MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// SQLite for one instance, PostgreSQL for everything else; nothing else is spoken.
pub(super) fn validate_url(database_url: &str) -> Result<(), ConfigError> {
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(invalid(
            "TESSERA_DATABASE_URL",
            "must start with sqlite:, postgres:// or postgresql://",
        ));
    }
    Ok(())
}
