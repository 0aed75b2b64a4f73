//! Prometheus metrics. The registry lives in the app state (no process global), so apps started
//! side by side in tests count separately. Per-client series only for allow-listed clients, so
//! a large deployment cannot blow up the series count by accident. Nothing is recorded per
//! request unless `/metrics` is served (`metrics.token` set): counting what nobody can read is
//! wasted work. (The rare failure counters handed to the limiter and the audit writer count
//! always.)

use std::collections::HashSet;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    pub grant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabels {
    pub client_id: String,
    pub grant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub state: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

pub struct Metrics {
    /// Whether anything is recorded.
    enabled: bool,
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    tokens_issued: Family<GrantLabels, Counter>,
    tokens_by_client: Family<ClientLabels, Counter>,
    per_client: HashSet<String>,
    logins: Family<OutcomeLabels, Counter>,
    rate_limited: Family<LimitLabels, Counter>,
    refresh_replays: Counter,
    code_replays: Counter,
    /// Syncs with the shared rate-limit store that failed (limits fell back to local counts).
    pub rate_limit_sync_failures: Counter,
    argon2_queue_wait: Histogram,
    db_pool: Family<PoolLabels, Gauge>,
    cache_entries: Family<CacheLabels, Gauge>,
    pub audit_dropped: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// `enabled` false gives a registry that records nothing.
    pub fn new(per_client: &[String], enabled: bool) -> Self {
        let mut metrics = Self {
            enabled,
            registry: Registry::with_prefix("tessera"),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            tokens_issued: Family::default(),
            tokens_by_client: Family::default(),
            per_client: per_client.iter().cloned().collect(),
            logins: Family::default(),
            rate_limited: Family::default(),
            refresh_replays: Counter::default(),
            code_replays: Counter::default(),
            rate_limit_sync_failures: Counter::default(),
            argon2_queue_wait: latency_histogram(),
            db_pool: Family::default(),
            cache_entries: Family::default(),
            audit_dropped: Counter::default(),
        };
        // Registration order is the order of the /metrics exposition.
        metrics.register_traffic();
        metrics.register_health();
        metrics
    }

    /// What the server is asked to do: requests, tokens, logins, refusals.
    fn register_traffic(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            self.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            self.http_duration.clone(),
        );
        registry.register(
            "tokens_issued",
            "Access tokens issued by grant type",
            self.tokens_issued.clone(),
        );
        registry.register(
            "tokens_issued_by_client",
            "Access tokens issued to allow-listed clients (metrics.per_client)",
            self.tokens_by_client.clone(),
        );
        registry.register(
            "logins",
            "Login attempts by outcome (success, failure, delayed)",
            self.logins.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused with 429, by limit",
            self.rate_limited.clone(),
        );
    }

    /// How the server itself is doing: replays caught, background work, pools and queues.
    fn register_health(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "refresh_token_replays",
            "Rotated refresh tokens used again (families revoked)",
            self.refresh_replays.clone(),
        );
        registry.register(
            "authorization_code_replays",
            "Authorization codes used twice",
            self.code_replays.clone(),
        );
        registry.register(
            "rate_limit_sync_failures",
            "Syncs with the shared rate-limit store that failed (limits counted locally meanwhile)",
            self.rate_limit_sync_failures.clone(),
        );
        registry.register(
            "argon2_queue_wait_seconds",
            "Time password hashing jobs waited for a hashing thread",
            self.argon2_queue_wait.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            self.db_pool.clone(),
        );
        registry.register(
            "cache_entries",
            "Entries in the in-memory caches (clients, resources, origins), each bounded",
            self.cache_entries.clone(),
        );
        registry.register(
            "audit_events_dropped",
            "Audit events lost: the writer's queue was full, or the database refused writes for \
             longer than the queue could hold",
            self.audit_dropped.clone(),
        );
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn token_issued(&self, grant: &str, client_id: &str) {
        if !self.enabled {
            return;
        }
        self.tokens_issued
            .get_or_create(&GrantLabels {
                grant: grant.to_owned(),
            })
            .inc();
        if self.per_client.contains(client_id) {
            self.tokens_by_client
                .get_or_create(&ClientLabels {
                    client_id: client_id.to_owned(),
                    grant: grant.to_owned(),
                })
                .inc();
        }
    }

    pub fn login(&self, outcome: &str) {
        if !self.enabled {
            return;
        }
        self.logins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn rate_limited(&self, limit: &str) {
        if !self.enabled {
            return;
        }
        self.rate_limited
            .get_or_create(&LimitLabels {
                limit: limit.to_owned(),
            })
            .inc();
    }

    pub fn refresh_replay(&self) {
        if self.enabled {
            self.refresh_replays.inc();
        }
    }

    pub fn code_replay(&self) {
        if self.enabled {
            self.code_replays.inc();
        }
    }

    /// The argon2 queue-wait histogram, for the password hasher to observe into (None when
    /// nothing is recorded, so the hasher does not even time its queue).
    pub fn argon2_queue_wait(&self) -> Option<Histogram> {
        self.enabled.then(|| self.argon2_queue_wait.clone())
    }

    /// The text exposition, with the pool and cache gauges read now (`caches`: each cache's
    /// name and entry count).
    pub fn encode(
        &self,
        pool_size: u32,
        pool_idle: usize,
        caches: &[(&str, usize)],
    ) -> Result<String, std::fmt::Error> {
        for (cache, entries) in caches {
            self.cache_entries
                .get_or_create(&CacheLabels {
                    cache: (*cache).to_owned(),
                })
                .set(i64::try_from(*entries).unwrap_or(i64::MAX));
        }
        let idle = i64::try_from(pool_idle).unwrap_or(i64::MAX);
        let size = i64::from(pool_size);
        for (state, value) in [("idle", idle), ("in_use", (size - idle).max(0))] {
            self.db_pool
                .get_or_create(&PoolLabels {
                    state: state.to_owned(),
                })
                .set(value);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
