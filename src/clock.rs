//! Time as unix seconds. Everything that expires asks the clock in `AppState`, so tests move
//! time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the unix epoch.
    fn now_millis(&self) -> i64;

    /// Seconds since the unix epoch.
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

/// The operating system's wall clock. The one place that reads it (clippy.toml disallows
/// `SystemTime::now` and `OffsetDateTime::now_utc` elsewhere): everything else asks a [`Clock`],
/// so that tests can move time.
#[allow(clippy::disallowed_methods)]
fn system_time() -> SystemTime {
    SystemTime::now()
}

/// The real wall-clock time as `time` counts it, for libraries that date their own records by it
/// (tower-sessions' session expiry). Lifetimes of our own are judged by a [`Clock`] instead.
pub fn wall_time() -> OffsetDateTime {
    OffsetDateTime::from(system_time())
}

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        system_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; starts at the real time so tokens look plausible.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(SystemClock.now_millis())))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
