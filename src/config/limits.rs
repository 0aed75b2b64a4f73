//! `[limits]`: rate limits, the proxies whose client address is believed, and where instances
//! pool their counts.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretString, invalid};

/// Rate limits. Failures are limited by default; successful traffic only when configured
/// (0 = off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Failed client authentications per client and IP per minute before 429.
    pub client_auth_failures_per_minute: u32,
    pub token_per_client_per_second: u32,
    pub token_per_ip_per_second: u32,
    pub introspect_per_client_per_second: u32,
    pub revoke_per_client_per_second: u32,
    pub authorize_per_ip_per_minute: u32,
    pub login_per_ip_per_minute: u32,
    /// Proxies (IP addresses) whose `forwarded_header` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The one header the trusted proxies set: the other is ignored, so a client cannot pick
    /// its address by sending the header the proxies leave alone.
    pub forwarded_header: ForwardedHeader,
    /// Failed logins per account (and per IP) before each further attempt waits.
    pub login_failures_before_delay: u32,
    /// The longest such wait, in seconds: a delay, never a lock an attacker can hold forever.
    pub login_max_delay_seconds: u32,
    /// Where instances pool their counts so that the limits above hold across them.
    pub shared: SharedLimits,
    /// `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS), with
    /// `shared = "redis"`.
    pub redis_url: Option<SecretString>,
    /// PEM CA certificates a `rediss://` server's certificate is verified against (default:
    /// the system's roots).
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis key Tessera writes, so deployments can share one Redis.
    pub redis_key_prefix: String,
    /// How often an instance pushes its counts to the shared store and reads the totals back.
    pub sync_ms: u32,
}

/// Which header carries the client address through trusted proxies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// Neither: the socket's peer is the client.
    None,
    /// `X-Forwarded-For` (de facto standard).
    XForwardedFor,
    /// `Forwarded` (RFC 7239), its `for=` parameters.
    Forwarded,
}

/// The store behind shared rate limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SharedLimits {
    /// In-process limits only: each instance allows the full rate.
    Off,
    /// The server's own PostgreSQL database.
    Database,
    /// Redis at `redis_url`.
    Redis,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            client_auth_failures_per_minute: 20,
            token_per_client_per_second: 0,
            token_per_ip_per_second: 0,
            introspect_per_client_per_second: 0,
            revoke_per_client_per_second: 0,
            authorize_per_ip_per_minute: 0,
            login_per_ip_per_minute: 0,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            login_failures_before_delay: 5,
            login_max_delay_seconds: 300,
            shared: SharedLimits::Off,
            redis_url: None,
            redis_ca_file: None,
            redis_key_prefix: "tessera:limits:".to_owned(),
            sync_ms: 250,
        }
    }
}

impl LimitsConfig {
    pub(super) fn validate(&self, database_url: &str) -> Result<(), ConfigError> {
        if !(10..=60_000).contains(&self.sync_ms) {
            return Err(invalid(
                "TESSERA_LIMITS__SYNC_MS",
                "must be between 10 and 60000 milliseconds",
            ));
        }
        match (self.shared, &self.redis_url) {
            (SharedLimits::Redis, None) => {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "is required with TESSERA_LIMITS__SHARED=redis",
                ));
            }
            (SharedLimits::Redis, Some(url))
                if !(url.0.starts_with("redis://") || url.0.starts_with("rediss://")) =>
            {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "must start with redis:// or rediss:// (TLS)",
                ));
            }
            (SharedLimits::Off | SharedLimits::Database, Some(_)) => {
                return Err(invalid(
                    "TESSERA_LIMITS__REDIS_URL",
                    "is only used with TESSERA_LIMITS__SHARED=redis",
                ));
            }
            _ => {}
        }
        if self.redis_ca_file.is_some()
            && !self
                .redis_url
                .as_ref()
                .is_some_and(|u| u.0.starts_with("rediss://"))
        {
            return Err(invalid(
                "TESSERA_LIMITS__REDIS_CA_FILE",
                "is only used with a rediss:// TESSERA_LIMITS__REDIS_URL",
            ));
        }
        // One SQLite file is one instance's database, where in-process limits already hold;
        // sharing it between processes on one machine is not what "database" is for.
        if self.shared == SharedLimits::Database && database_url.starts_with("sqlite:") {
            return Err(invalid(
                "TESSERA_LIMITS__SHARED",
                "\"database\" needs PostgreSQL (TESSERA_DATABASE_URL=postgres://…); with SQLite \
                 use \"off\" or \"redis\"",
            ));
        }
        if self.shared == SharedLimits::Redis && self.redis_key_prefix.is_empty() {
            return Err(invalid(
                "TESSERA_LIMITS__REDIS_KEY_PREFIX",
                "must not be empty",
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

    use super::*;
    use crate::config::{Config, load_err};

    #[test]
    fn the_forwarded_header_is_one_named_choice() {
        Jail::expect_with(|jail| {
            let config = Config::load().expect("defaults are valid");
            assert_eq!(
                config.limits.forwarded_header,
                ForwardedHeader::XForwardedFor
            );
            jail.set_env("TESSERA_LIMITS__FORWARDED_HEADER", "forwarded");
            let config = Config::load().expect("valid");
            assert_eq!(config.limits.forwarded_header, ForwardedHeader::Forwarded);
            jail.set_env("TESSERA_LIMITS__FORWARDED_HEADER", "x-real-ip");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    fn shared_limit_settings_are_checked() {
        let with = |database_url: &str, limits: LimitsConfig| Config {
            database_url: database_url.to_owned(),
            limits,
            ..Config::default()
        };
        let pg = "postgres://db/x";
        let redis = |url: &str| LimitsConfig {
            shared: SharedLimits::Redis,
            redis_url: Some(SecretString(url.to_owned())),
            ..LimitsConfig::default()
        };
        for (url, limits, setting) in [
            (
                "sqlite://t.db",
                LimitsConfig {
                    shared: SharedLimits::Database,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__SHARED",
            ),
            (
                pg,
                LimitsConfig {
                    shared: SharedLimits::Redis,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__REDIS_URL",
            ),
            (pg, redis("http://r:6380"), "TESSERA_LIMITS__REDIS_URL"),
            (
                pg,
                LimitsConfig {
                    redis_ca_file: Some("ca.pem".into()),
                    ..redis("redis://r")
                },
                "TESSERA_LIMITS__REDIS_CA_FILE",
            ),
            (
                pg,
                LimitsConfig {
                    redis_url: Some(SecretString("redis://r".into())),
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__REDIS_URL",
            ),
            (
                pg,
                LimitsConfig {
                    redis_key_prefix: String::new(),
                    ..redis("redis://r")
                },
                "TESSERA_LIMITS__REDIS_KEY_PREFIX",
            ),
            (
                pg,
                LimitsConfig {
                    sync_ms: 0,
                    ..LimitsConfig::default()
                },
                "TESSERA_LIMITS__SYNC_MS",
            ),
        ] {
            let err = with(url, limits).validated().unwrap_err().to_string();
            assert!(err.contains(setting), "{err}");
        }
        let database = LimitsConfig {
            shared: SharedLimits::Database,
            ..LimitsConfig::default()
        };
        assert!(with(pg, database).validated().is_ok());
        assert!(
            with("sqlite://t.db", redis("redis://:pw@r:6379/2"))
                .validated()
                .is_ok()
        );
    }

    #[test]
    fn shared_limit_settings_from_env() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://db/x");
            jail.set_env("TESSERA_LIMITS__SHARED", "database");
            jail.set_env("TESSERA_LIMITS__SYNC_MS", "500");
            let config = Config::load().expect("valid");
            assert_eq!(config.limits.shared, SharedLimits::Database);
            assert_eq!(config.limits.sync_ms, 500);
            jail.set_env("TESSERA_LIMITS__SHARED", "memcached");
            assert!(
                load_err(jail).contains("LIMITS.SHARED"),
                "{}",
                load_err(jail)
            );
            Ok(())
        });
    }
}
