//! In-process rate limits (GCRA token buckets from `governor`): the default, when instances do
//! not share their counts. Time comes from our clock, so tests move it instead of sleeping.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::Limit;
use crate::clock::SharedClock;
use crate::config::LimitsConfig;

/// Our clock as governor's: milliseconds since the epoch as a `Duration`.
#[derive(Clone)]
struct LimiterClock(SharedClock);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_millis()).unwrap_or(0))
    }
}

type Keyed = RateLimiter<String, DashMapStateStore<String>, LimiterClock, NoOpMiddleware<Duration>>;

/// Bounds the blocked-key table when many keys fail at once.
const MAX_BLOCKED: usize = 100_000;

pub struct Local {
    clock: LimiterClock,
    client_failures: Option<Keyed>,
    /// (client, ip) keys whose failures ran out, and until when (ms) they get 429.
    blocked: Mutex<HashMap<String, i64>>,
    success: Vec<(u8, Keyed)>,
}

fn keyed(quota: Option<Quota>, clock: &LimiterClock) -> Option<Keyed> {
    quota.map(|q| RateLimiter::new(q, DashMapStateStore::default(), clock.clone()))
}

fn per_second(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_second)
}

fn per_minute(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_minute)
}

impl Local {
    pub fn new(config: &LimitsConfig, clock: SharedClock) -> Self {
        let clock = LimiterClock(clock);
        let success = [
            (
                Limit::TokenPerClient,
                per_second(config.token_per_client_per_second),
            ),
            (
                Limit::TokenPerIp,
                per_second(config.token_per_ip_per_second),
            ),
            (
                Limit::IntrospectPerClient,
                per_second(config.introspect_per_client_per_second),
            ),
            (
                Limit::RevokePerClient,
                per_second(config.revoke_per_client_per_second),
            ),
            (
                Limit::AuthorizePerIp,
                per_minute(config.authorize_per_ip_per_minute),
            ),
            (
                Limit::LoginPerIp,
                per_minute(config.login_per_ip_per_minute),
            ),
        ]
        .into_iter()
        .filter_map(|(limit, quota)| keyed(quota, &clock).map(|k| (limit as u8, k)))
        .collect();
        Self {
            client_failures: keyed(per_minute(config.client_auth_failures_per_minute), &clock),
            blocked: Mutex::new(HashMap::new()),
            success,
            clock,
        }
    }

    fn retry_after(&self, earliest: Duration) -> u64 {
        let now = governor::clock::Clock::now(&self.clock);
        earliest.saturating_sub(now).as_secs().max(1)
    }

    /// Counts one request against `limit` for `key`; Err(seconds to wait) when over it.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), u64> {
        let Some((_, limiter)) = self.success.iter().find(|(l, _)| *l == limit as u8) else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| self.retry_after(not_until.earliest_possible()))
    }

    /// Err(seconds) while this client and IP are blocked for failing authentication too often.
    pub fn client_blocked(&self, client_id: &str, ip: &str) -> Result<(), u64> {
        let now = self.clock.0.now_millis();
        let blocked = self
            .blocked
            .lock()
            .map(|b| b.get(&super::failure_key(client_id, ip)).copied());
        match blocked {
            Ok(Some(until)) if until > now => Err(u64::try_from((until - now + 999) / 1000)
                .unwrap_or(1)
                .max(1)),
            _ => Ok(()),
        }
    }

    /// Records a failed client authentication; when the allowance is used up the pair is
    /// blocked until the bucket refills.
    pub fn client_failed(&self, client_id: &str, ip: &str) {
        let Some(limiter) = &self.client_failures else {
            return;
        };
        let key = super::failure_key(client_id, ip);
        if let Err(not_until) = limiter.check_key(&key) {
            let until =
                i64::try_from(not_until.earliest_possible().as_millis()).unwrap_or(i64::MAX);
            if let Ok(mut blocked) = self.blocked.lock() {
                if blocked.len() >= MAX_BLOCKED {
                    let now = self.clock.0.now_millis();
                    blocked.retain(|_, until| *until > now);
                }
                blocked.insert(key, until);
            }
        }
    }

    /// Forgets idle buckets (called by the maintenance job).
    pub fn shrink(&self) {
        if let Some(l) = &self.client_failures {
            l.retain_recent();
        }
        for (_, l) in &self.success {
            l.retain_recent();
        }
        let now = self.clock.0.now_millis();
        if let Ok(mut blocked) = self.blocked.lock() {
            blocked.retain(|_, until| *until > now);
        }
    }
}
