//! Time as unix seconds, asked of a [`Clock`] so that tests (and services with their own notion
//! of time) can move it instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where the verifier reads the time: token expiry, DPoP proof age, the JWKS cache lifetime and
/// the refresh rate limit are all judged by it.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Seconds since the unix epoch.
    fn now(&self) -> u64;
}

/// The operating system's wall clock (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one read of the system clock in this crate (clippy.toml disallows it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
