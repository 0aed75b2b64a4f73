//! Rate limits, keyed by client and by source IP. Failed client authentication is limited by
//! default; limits on successful traffic are off unless configured, so a busy service is never
//! throttled by surprise. By default each instance counts on its own (`local`); with
//! `limits.shared` the instances pool their counts through PostgreSQL or Redis (`shared`),
//! still deciding every request from memory.

mod local;
mod shared;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prometheus_client::metrics::counter::Counter;

use crate::clock::SharedClock;
use crate::config::{LimitsConfig, SharedLimits};
use crate::error::AppError;
use crate::store::Db;
use crate::store::redis_counters::RedisCounters;

pub use shared::SyncError;

/// The failure counters' key for a client id (as presented, possibly unknown) and IP: a
/// fixed-size digest, so a flood of distinct ids costs the same small entry each until the
/// maintenance job forgets idle ones.
fn failure_key(client_id: &str, ip: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{client_id}\u{0}{ip}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// A limit on successful traffic.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    TokenPerClient,
    TokenPerIp,
    IntrospectPerClient,
    RevokePerClient,
    AuthorizePerIp,
    LoginPerIp,
}

impl Limit {
    /// The metrics label and configuration name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::TokenPerClient => "token_per_client",
            Limit::TokenPerIp => "token_per_ip",
            Limit::IntrospectPerClient => "introspect_per_client",
            Limit::RevokePerClient => "revoke_per_client",
            Limit::AuthorizePerIp => "authorize_per_ip",
            Limit::LoginPerIp => "login_per_ip",
        }
    }
}

pub struct Limits {
    backend: Backend,
}

enum Backend {
    Local(local::Local),
    /// Boxed: it carries the store's connection pool besides its counters.
    Shared(Box<shared::Shared>),
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

impl Limits {
    /// In-process limits, or shared ones over `db` (PostgreSQL) or Redis as configured.
    /// `sync_failures` counts the syncs the shared store did not answer.
    pub fn new(
        config: &LimitsConfig,
        clock: SharedClock,
        db: &Db,
        sync_failures: Counter,
    ) -> Result<Self, AppError> {
        let store = match config.shared {
            SharedLimits::Off => {
                return Ok(Self {
                    backend: Backend::Local(local::Local::new(config, clock)),
                });
            }
            SharedLimits::Database => match db {
                Db::Postgres(pool) => shared::Store::Database(pool.clone()),
                Db::Sqlite(_) => {
                    return Err(AppError::Startup(
                        "TESSERA_LIMITS__SHARED: \"database\" needs PostgreSQL".into(),
                    ));
                }
            },
            SharedLimits::Redis => {
                let url = config
                    .redis_url
                    .as_ref()
                    .map(|u| u.0.as_str())
                    .ok_or_else(|| {
                        AppError::Startup("TESSERA_LIMITS__REDIS_URL is not set".into())
                    })?;
                let timeout = shared::store_timeout(config.sync_ms);
                let ca = config
                    .redis_ca_file
                    .as_ref()
                    .map(|path| {
                        std::fs::read(path).map_err(|e| {
                            AppError::Startup(format!(
                                "TESSERA_LIMITS__REDIS_CA_FILE: cannot read {}: {e}",
                                path.display()
                            ))
                        })
                    })
                    .transpose()?;
                let counters = RedisCounters::new(url, ca, &config.redis_key_prefix, timeout)
                    .map_err(|e| AppError::Startup(format!("TESSERA_LIMITS__REDIS_URL: {e}")))?;
                shared::Store::Redis(counters)
            }
        };
        Ok(Self {
            backend: Backend::Shared(Box::new(shared::Shared::new(
                config,
                clock,
                store,
                sync_failures,
            ))),
        })
    }

    /// Counts one request against `limit` for `key`; Err(seconds to wait) when over it.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), u64> {
        match &self.backend {
            Backend::Local(l) => l.check(limit, key),
            Backend::Shared(s) => s.check(shared::Kind::Success(limit), key),
        }
    }

    /// Err(seconds) while this client and IP are blocked for failing authentication too often.
    pub fn client_blocked(&self, client_id: &str, ip: &str) -> Result<(), u64> {
        match &self.backend {
            Backend::Local(l) => l.client_blocked(client_id, ip),
            Backend::Shared(s) => s.over(&failure_key(client_id, ip)),
        }
    }

    /// Records a failed client authentication; when the allowance is used up the pair is
    /// blocked until it refills.
    pub fn client_failed(&self, client_id: &str, ip: &str) {
        match &self.backend {
            Backend::Local(l) => l.client_failed(client_id, ip),
            Backend::Shared(s) => s.add(&failure_key(client_id, ip)),
        }
    }

    /// Forgets idle buckets and ended windows (called by the maintenance job).
    pub fn shrink(&self) {
        match &self.backend {
            Backend::Local(l) => l.shrink(),
            Backend::Shared(s) => s.shrink(),
        }
    }

    /// Shared limits: pushes the counts made here since the last sync and reads the totals
    /// back, now (the background task does it every `limits.sync_ms`). Nothing to do when the
    /// limits are in-process.
    pub async fn sync(&self) -> Result<(), SyncError> {
        match &self.backend {
            Backend::Local(_) => Ok(()),
            Backend::Shared(s) => s.sync().await,
        }
    }

    /// Syncs every `limits.sync_ms` for as long as the server runs; returns at once when the
    /// limits are in-process.
    pub async fn run_sync(&self) {
        if let Backend::Shared(s) = &self.backend {
            s.run().await;
        }
    }
}
