//! Limits that hold across instances: a fixed-window counter per limit and key ("N per second"
//! or "N per minute", windows aligned on the clock), kept in memory and pooled through a shared
//! store in batches.
//!
//! A request is decided from memory only: the others' count for its window as of the last sync
//! plus this instance's own. Every `limits.sync_ms` one batch adds what this instance counted
//! since the previous sync to the shared counters (one SQL statement, or one Redis pipeline) and
//! reads the totals back. So the limit can be overshot by what the instances admit between two
//! syncs, and a burst straddling two windows can reach twice the limit; Retry-After is the time
//! to the end of the window.
//!
//! When the store does not answer, its batch is kept for the next sync and each instance goes
//! on deciding from its own counts (plus the others' last known ones): limits loosen, token
//! issuance goes on.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dashmap::DashMap;
use prometheus_client::metrics::counter::Counter;
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

use super::Limit;
use crate::clock::SharedClock;
use crate::config::LimitsConfig;
use crate::store::StoreError;
use crate::store::rate_limits::{self, Increment};
use crate::store::redis_counters::RedisCounters;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60_000;

/// At most this many counters per statement or pipeline: a flood of distinct keys becomes
/// several round trips instead of one unbounded one.
const MAX_BATCH: usize = 10_000;

/// At most one warning a minute while the store is failing.
const WARN_EVERY_MS: i64 = 60_000;

/// How long a sync may wait for the store: a store that cannot answer within a sync interval
/// (and at least a second) is treated as down and its batch carried to the next sync.
pub(super) fn store_timeout(sync_ms: u32) -> Duration {
    Duration::from_millis(u64::from(sync_ms)).max(Duration::from_secs(1))
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Database(#[from] StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

pub(super) enum Store {
    Database(PgPool),
    Redis(RedisCounters),
}

impl Store {
    async fn exchange(&self, batch: &[Increment], now_ms: i64) -> Result<Vec<i64>, SyncError> {
        Ok(match self {
            Store::Database(pool) => rate_limits::exchange(pool, batch).await?,
            Store::Redis(redis) => redis.exchange(batch, now_ms).await?,
        })
    }
}

/// Which counter: a limit on successful traffic, or failed client authentication.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Success(Limit),
    Failures,
}

const KINDS: usize = 7;

impl Kind {
    fn index(self) -> u8 {
        match self {
            Kind::Success(limit) => limit as u8,
            Kind::Failures => 6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Success(limit) => limit.name(),
            Kind::Failures => "client_auth_failures",
        }
    }

    /// (allowed, window in ms) as configured; 0 allowed = off.
    fn allowance(self, config: &LimitsConfig) -> (u32, i64) {
        match self {
            Kind::Success(Limit::TokenPerClient) => (config.token_per_client_per_second, SECOND),
            Kind::Success(Limit::TokenPerIp) => (config.token_per_ip_per_second, SECOND),
            Kind::Success(Limit::IntrospectPerClient) => {
                (config.introspect_per_client_per_second, SECOND)
            }
            Kind::Success(Limit::RevokePerClient) => (config.revoke_per_client_per_second, SECOND),
            Kind::Success(Limit::AuthorizePerIp) => (config.authorize_per_ip_per_minute, MINUTE),
            Kind::Success(Limit::LoginPerIp) => (config.login_per_ip_per_minute, MINUTE),
            Kind::Failures => (config.client_auth_failures_per_minute, MINUTE),
        }
    }

    const ALL: [Kind; KINDS] = [
        Kind::Success(Limit::TokenPerClient),
        Kind::Success(Limit::TokenPerIp),
        Kind::Success(Limit::IntrospectPerClient),
        Kind::Success(Limit::RevokePerClient),
        Kind::Success(Limit::AuthorizePerIp),
        Kind::Success(Limit::LoginPerIp),
        Kind::Failures,
    ];
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    name: &'static str,
    max: u64,
    period_ms: i64,
}

impl Rule {
    fn window_start(&self, now_ms: i64) -> i64 {
        now_ms - now_ms.rem_euclid(self.period_ms)
    }
}

/// One key's count in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    /// Unix milliseconds.
    start: i64,
    /// Counted here and already added to the store.
    pushed: u64,
    /// Counted here since the last sync.
    pending: u64,
    /// Everyone else's count, as of the last sync.
    others: u64,
}

impl Window {
    fn new(start: i64) -> Self {
        Self {
            start,
            pushed: 0,
            pending: 0,
            others: 0,
        }
    }

    fn total(&self) -> u64 {
        self.others + self.pushed + self.pending
    }

    /// Starts over when the clock has entered a later window.
    fn roll(&mut self, start: i64) {
        if self.start != start {
            *self = Window::new(start);
        }
    }
}

/// What leaves the process instead of the key: client ids come from the request (any length,
/// any bytes, NUL included, which PostgreSQL text refuses), so the store sees a fixed-size
/// digest.
fn store_key(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// Sync bookkeeping, behind the lock that makes syncs run one at a time.
#[derive(Debug, Default)]
struct SyncState {
    failing: bool,
    last_warning: Option<i64>,
    unreported_failures: u64,
}

pub(super) struct Shared {
    clock: SharedClock,
    rules: [Option<Rule>; KINDS],
    windows: DashMap<(u8, String), Window>,
    store: Store,
    every: Duration,
    timeout: Duration,
    sync: tokio::sync::Mutex<SyncState>,
    sync_failures: Counter,
}

fn retry_after(ms: i64) -> u64 {
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

impl Shared {
    pub(super) fn new(
        config: &LimitsConfig,
        clock: SharedClock,
        store: Store,
        sync_failures: Counter,
    ) -> Self {
        let mut rules = [None; KINDS];
        for kind in Kind::ALL {
            let (max, period_ms) = kind.allowance(config);
            if let Some(rule) = rules.get_mut(usize::from(kind.index())) {
                *rule = (max > 0).then_some(Rule {
                    name: kind.name(),
                    max: u64::from(max),
                    period_ms,
                });
            }
        }
        Self {
            clock,
            rules,
            windows: DashMap::new(),
            store,
            every: Duration::from_millis(u64::from(config.sync_ms)),
            timeout: store_timeout(config.sync_ms),
            sync: tokio::sync::Mutex::new(SyncState::default()),
            sync_failures,
        }
    }

    fn rule(&self, kind: Kind) -> Option<Rule> {
        self.rules.get(usize::from(kind.index())).copied().flatten()
    }

    /// Counts one request unless the window is used up; Err(seconds to its end) then.
    pub(super) fn check(&self, kind: Kind, key: &str) -> Result<(), u64> {
        let Some(rule) = self.rule(kind) else {
            return Ok(());
        };
        let now = self.clock.now_millis();
        let start = rule.window_start(now);
        let mut w = self
            .windows
            .entry((kind.index(), key.to_owned()))
            .or_insert_with(|| Window::new(start));
        w.roll(start);
        if w.total() >= rule.max {
            return Err(retry_after(start + rule.period_ms - now));
        }
        w.pending += 1;
        Ok(())
    }

    /// Err(seconds to the window's end) once this key's failures went past the allowance: the
    /// attempt that used it up was still answered, the next ones wait.
    pub(super) fn over(&self, key: &str) -> Result<(), u64> {
        let Some(rule) = self.rule(Kind::Failures) else {
            return Ok(());
        };
        let now = self.clock.now_millis();
        let start = rule.window_start(now);
        match self.windows.get(&(Kind::Failures.index(), key.to_owned())) {
            Some(w) if w.start == start && w.total() > rule.max => {
                Err(retry_after(start + rule.period_ms - now))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure.
    pub(super) fn add(&self, key: &str) {
        let Some(rule) = self.rule(Kind::Failures) else {
            return;
        };
        let start = rule.window_start(self.clock.now_millis());
        let mut w = self
            .windows
            .entry((Kind::Failures.index(), key.to_owned()))
            .or_insert_with(|| Window::new(start));
        w.roll(start);
        w.pending += 1;
    }

    /// Forgets windows that have ended.
    pub(super) fn shrink(&self) {
        let now = self.clock.now_millis();
        self.windows.retain(|(kind, _), w| {
            self.rules
                .get(usize::from(*kind))
                .copied()
                .flatten()
                .is_some_and(|rule| w.start + rule.period_ms > now)
        });
    }

    /// Moves every current window's pending count into a batch (read-only entries included,
    /// so idle keys learn the others' counts too) and forgets ended windows.
    fn take_batch(&self, now: i64) -> Vec<((u8, String), Increment)> {
        let mut batch = Vec::new();
        self.windows.retain(|(kind, key), w| {
            let Some(rule) = self.rules.get(usize::from(*kind)).copied().flatten() else {
                return false;
            };
            let end = w.start + rule.period_ms;
            if end <= now {
                return false;
            }
            let hits = w.pending;
            w.pushed += hits;
            w.pending = 0;
            batch.push((
                (*kind, key.clone()),
                Increment {
                    limit: rule.name,
                    key: store_key(key),
                    window_start: w.start,
                    window_end: end,
                    hits: i64::try_from(hits).unwrap_or(i64::MAX),
                },
            ));
            true
        });
        batch
    }

    /// The store's totals: everyone else's share is the total less what we pushed.
    fn apply(&self, batch: &[((u8, String), Increment)], totals: &[i64]) {
        for ((id, inc), total) in batch.iter().zip(totals) {
            if let Some(mut w) = self.windows.get_mut(id)
                && w.start == inc.window_start
            {
                w.others = u64::try_from(*total).unwrap_or(0).saturating_sub(w.pushed);
            }
        }
    }

    /// The store did not take the batch: its counts go back to pending for the next sync.
    fn give_back(&self, batch: &[((u8, String), Increment)]) {
        for (id, inc) in batch {
            if let Some(mut w) = self.windows.get_mut(id)
                && w.start == inc.window_start
            {
                let hits = u64::try_from(inc.hits).unwrap_or(0);
                w.pushed = w.pushed.saturating_sub(hits);
                w.pending += hits;
            }
        }
    }

    pub(super) async fn sync(&self) -> Result<(), SyncError> {
        let mut state = self.sync.lock().await;
        let now = self.clock.now_millis();
        let batch = self.take_batch(now);
        for (n, chunk) in batch.chunks(MAX_BATCH).enumerate() {
            let increments: Vec<Increment> = chunk.iter().map(|(_, i)| i.clone()).collect();
            let answer = tokio::time::timeout(self.timeout, self.store.exchange(&increments, now))
                .await
                .unwrap_or(Err(SyncError::Timeout(self.timeout)));
            match answer {
                Ok(totals) => self.apply(chunk, &totals),
                Err(e) => {
                    // This chunk and the ones after it go again with the next sync. A chunk
                    // that timed out may have been applied already: counting it twice errs on
                    // the strict side.
                    self.give_back(&batch[n * MAX_BATCH..]);
                    self.failed(&mut state, &e, now);
                    return Err(e);
                }
            }
        }
        if state.failing {
            state.failing = false;
            tracing::info!("shared rate-limit store answers again: limits hold across instances");
        }
        Ok(())
    }

    /// Counts a failed sync; warns at most once a minute.
    fn failed(&self, state: &mut SyncState, e: &SyncError, now: i64) {
        self.sync_failures.inc();
        state.failing = true;
        let due = state
            .last_warning
            .is_none_or(|at| now.saturating_sub(at) >= WARN_EVERY_MS);
        if due {
            tracing::warn!(
                error = %e,
                failed_syncs_since_last_warning = state.unreported_failures + 1,
                "shared rate-limit store unavailable: limits count this instance's requests only \
                 until it answers"
            );
            state.last_warning = Some(now);
            state.unreported_failures = 0;
        } else {
            state.unreported_failures += 1;
        }
    }

    pub(super) async fn run(&self) {
        let mut tick = tokio::time::interval(self.every);
        // A slow store delays the next sync instead of causing a burst of catch-up syncs.
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Failures are counted and logged by `sync`; the next tick is the retry.
            let _ = self.sync().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, TestClock};
    use crate::service::limits::failure_key;

    fn shared(config: &LimitsConfig, clock: &TestClock) -> Shared {
        // A lazy pool that is never used: these tests exercise the in-memory side of syncs.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .expect("lazy pool");
        Shared::new(
            config,
            Arc::new(clock.clone()),
            Store::Database(pool),
            Counter::default(),
        )
    }

    fn config() -> LimitsConfig {
        LimitsConfig {
            token_per_client_per_second: 3,
            client_auth_failures_per_minute: 2,
            ..LimitsConfig::default()
        }
    }

    #[tokio::test]
    async fn requests_are_decided_from_local_counts_plus_the_others_last_known() {
        let clock = TestClock::new();
        let s = shared(&config(), &clock);
        let kind = Kind::Success(Limit::TokenPerClient);
        assert_eq!(s.check(kind, "c"), Ok(()));
        let batch = s.take_batch(clock.now_millis());
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].1.hits, 1);
        assert_ne!(batch[0].1.key, "c", "keys are hashed before they leave");
        // Another instance counted 2 in this window: 3 in all.
        s.apply(&batch, &[3]);
        let start = Rule {
            name: "",
            max: 3,
            period_ms: SECOND,
        }
        .window_start(clock.now_millis());
        let end_ms = start + SECOND - clock.now_millis();
        assert_eq!(s.check(kind, "c"), Err(retry_after(end_ms)));
        assert_eq!(
            s.check(kind, "other"),
            Ok(()),
            "other keys are not affected"
        );
        clock.advance(1);
        assert_eq!(s.check(kind, "c"), Ok(()), "a new window starts from zero");
    }

    #[tokio::test]
    async fn an_unanswered_batch_is_pushed_again_with_the_next_one() {
        let clock = TestClock::new();
        let s = shared(&config(), &clock);
        let kind = Kind::Success(Limit::TokenPerClient);
        s.check(kind, "c").expect("first");
        let batch = s.take_batch(clock.now_millis());
        s.check(kind, "c").expect("second");
        s.give_back(&batch);
        let again = s.take_batch(clock.now_millis());
        assert_eq!(again[0].1.hits, 2);
        // Nothing new: read only.
        let read = s.take_batch(clock.now_millis());
        assert_eq!(read[0].1.hits, 0);
    }

    #[tokio::test]
    async fn failures_block_once_past_the_allowance_and_windows_end() {
        let clock = TestClock::new();
        let s = shared(&config(), &clock);
        let key = failure_key("client", "127.0.0.1");
        for _ in 0..2 {
            s.add(&key);
            assert_eq!(s.over(&key), Ok(()));
        }
        s.add(&key);
        let wait = s.over(&key).expect_err("blocked");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(s.over(&failure_key("client", "127.0.0.2")), Ok(()));
        clock.advance(60);
        assert_eq!(s.over(&key), Ok(()));
        s.shrink();
        assert!(s.windows.is_empty(), "ended windows are forgotten");
        assert!(s.take_batch(clock.now_millis()).is_empty());
    }

    #[tokio::test]
    async fn limits_left_off_count_nothing() {
        let clock = TestClock::new();
        let s = shared(&LimitsConfig::default(), &clock);
        for _ in 0..100 {
            assert_eq!(s.check(Kind::Success(Limit::TokenPerIp), "ip"), Ok(()));
        }
        assert!(s.windows.is_empty());
    }
}
