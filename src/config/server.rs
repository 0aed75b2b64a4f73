//! `[server]`: connection deadlines and the cap on open connections.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Connections (plain and TLS): how long a client may take, and how many may be open.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// From a request head's first byte (or a new connection's start) to its last; also the
    /// TLS handshake's limit. Missed, the connection is dropped.
    pub header_read_timeout_ms: u32,
    /// A connection with no request in progress and no traffic for this long is closed.
    pub keep_alive_timeout_ms: u32,
    /// Reading a request body may take this long.
    pub body_timeout_ms: u32,
    /// Open connections at most; further ones wait in the listen backlog.
    pub max_connections: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            keep_alive_timeout_ms: 75_000,
            body_timeout_ms: 10_000,
            max_connections: 1000,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            (
                "TESSERA_SERVER__HEADER_READ_TIMEOUT_MS",
                self.header_read_timeout_ms,
            ),
            (
                "TESSERA_SERVER__KEEP_ALIVE_TIMEOUT_MS",
                self.keep_alive_timeout_ms,
            ),
            ("TESSERA_SERVER__BODY_TIMEOUT_MS", self.body_timeout_ms),
        ] {
            if !(100..=3_600_000).contains(&value) {
                return Err(invalid(
                    setting,
                    "must be between 100 and 3600000 milliseconds",
                ));
            }
        }
        // Semaphore permits are limited to usize::MAX >> 3; a million is far past any fd limit.
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(invalid(
                "TESSERA_SERVER__MAX_CONNECTIONS",
                "must be between 1 and 1000000",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return its large error type; that is the library's signature.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use crate::config::{Config, load_err};

    #[test]
    fn server_settings_from_env_and_their_bounds() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(config.server.header_read_timeout_ms, 10_000);
            jail.set_env("TESSERA_SERVER__KEEP_ALIVE_TIMEOUT_MS", "500");
            jail.set_env("TESSERA_SERVER__MAX_CONNECTIONS", "20");
            let config = Config::load().expect("valid");
            assert_eq!(config.server.keep_alive_timeout_ms, 500);
            assert_eq!(config.server.max_connections, 20);
            for (name, value) in [
                ("TESSERA_SERVER__HEADER_READ_TIMEOUT_MS", "0"),
                ("TESSERA_SERVER__BODY_TIMEOUT_MS", "99"),
                ("TESSERA_SERVER__MAX_CONNECTIONS", "0"),
            ] {
                jail.set_env(name, value);
                let err = load_err(jail);
                assert!(err.contains(name), "{name}={value}: {err}");
                jail.clear_env();
            }
            Ok(())
        });
    }
}
