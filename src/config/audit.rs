//! `[audit]`: how long security events are kept and how they are written.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The audit log of security events: written in batches by a background writer, kept for
/// `retention_days` and then purged by the maintenance job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days an event is kept. There is no "forever": an unbounded table eventually fills the
    /// disk, and a log kept for years belongs in a log archive, not in the login database.
    pub retention_days: u32,
    /// Events waiting for the writer; past that, events are dropped (and counted) rather than
    /// slowing requests down.
    pub queue: u32,
    /// How often the writer stores what it holds, in milliseconds (it also writes whenever
    /// 500 events are waiting).
    pub flush_ms: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 90,
            queue: 10_000,
            flush_ms: 1000,
        }
    }
}

impl AuditConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3650).contains(&self.retention_days) {
            return Err(invalid(
                "TESSERA_AUDIT__RETENTION_DAYS",
                "must be between 1 and 3650 days (keeping events forever is not supported)",
            ));
        }
        if !(1..=1_000_000).contains(&self.queue) {
            return Err(invalid(
                "TESSERA_AUDIT__QUEUE",
                "must be between 1 and 1000000 events",
            ));
        }
        if !(10..=60_000).contains(&self.flush_ms) {
            return Err(invalid(
                "TESSERA_AUDIT__FLUSH_MS",
                "must be between 10 and 60000 milliseconds",
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
    fn audit_settings_from_env_and_their_bounds() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(
                (
                    config.audit.retention_days,
                    config.audit.queue,
                    config.audit.flush_ms
                ),
                (90, 10_000, 1000)
            );
            jail.set_env("TESSERA_AUDIT__RETENTION_DAYS", "30");
            jail.set_env("TESSERA_AUDIT__QUEUE", "64");
            jail.set_env("TESSERA_AUDIT__FLUSH_MS", "250");
            let config = Config::load().expect("valid");
            assert_eq!(config.audit.retention_days, 30);
            assert_eq!(config.audit.queue, 64);
            assert_eq!(config.audit.flush_ms, 250);
            for (name, value) in [
                ("TESSERA_AUDIT__RETENTION_DAYS", "0"),
                ("TESSERA_AUDIT__RETENTION_DAYS", "3651"),
                ("TESSERA_AUDIT__QUEUE", "0"),
                ("TESSERA_AUDIT__FLUSH_MS", "5"),
            ] {
                jail.set_env(name, value);
                let err = load_err(jail);
                assert!(err.contains(name), "{name}={value}: {err}");
                jail.set_env(name, "100");
            }
            jail.set_env("TESSERA_AUDIT__KEEP", "1");
            assert!(
                load_err(jail).contains("keep"),
                "unknown audit keys are refused"
            );
            Ok(())
        });
    }
}
