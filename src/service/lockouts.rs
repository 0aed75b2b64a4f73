//! Brute-force protection on login (OWASP Authentication Cheat Sheet, "Account Lockout"):
//! failures are counted per account and per source IP; past a threshold each further attempt
//! must wait, doubling up to a cap of a few minutes — a delay, never a lock an attacker could
//! hold forever. Unknown usernames are counted exactly like known ones. An account's counter is
//! keyed on the canonical form of the username (`model::username`), so every spelling that
//! reaches the account shares it; counters are purged a day after their last failure.

use super::ServiceError;
use crate::model::LoginFailure;
use crate::model::kind;
use crate::model::username::canonical;
use crate::model::{Actor, AuditEvent, Outcome};
use crate::state::Core;
use crate::store::login_failures::{self, Reservation, Reserved};

/// Failures older than a day no longer count, and their counters are purged.
pub(crate) const RESET_AFTER: i64 = 86_400;
/// The per-IP threshold is this many times the per-account one: one address may legitimately
/// serve many people.
const IP_FACTOR: i64 = 5;

fn account_key(username: &str) -> String {
    format!("account:{}", canonical(username))
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds of delay after `failures` failures with threshold `free`, doubling, capped.
fn delay_for(failures: i64, free: i64, cap: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    (1_i64 << doublings).min(cap)
}

/// A login attempt let through by the counters, counted as a failure until it is known to be
/// otherwise. Hand it back to [`Core::login_failed`] or [`Core::login_succeeded`]; dropped
/// without either (an internal error while checking), it stays counted, which errs on the
/// side of the delay.
#[derive(Debug)]
#[must_use]
pub struct LoginAttempt {
    username: String,
    ip: String,
    account: Reserved,
    from_ip: Reserved,
}

/// Whether a login attempt may check its password.
#[derive(Debug)]
pub enum LoginGate {
    Open(LoginAttempt),
    /// Seconds to wait before the next attempt.
    Delayed(i64),
}

impl Core {
    /// Reserves a login attempt for this account and IP before the password is checked
    /// (OWASP Authentication Cheat Sheet, "Account Lockout"): the counters go up first and any
    /// delay they reach starts at once, so guesses sent in parallel cannot check more passwords
    /// than `limits.login_failures_before_delay` allows — the rest are delayed like any
    /// attempt past it, on every instance.
    pub async fn begin_login(&self, username: &str, ip: &str) -> Result<LoginGate, ServiceError> {
        let now = self.now();
        let free = i64::from(self.config.limits.login_failures_before_delay);
        let cap = i64::from(self.config.limits.login_max_delay_seconds);
        let (account, from_ip) = (account_key(username), ip_key(ip));
        let delay = |key: &str, failures: i64| {
            let threshold = if key == account {
                free
            } else {
                free * IP_FACTOR
            };
            delay_for(failures, threshold, cap)
        };
        let keys = [account.as_str(), from_ip.as_str()];
        Ok(
            match login_failures::reserve(&self.db, keys, now, now - RESET_AFTER, delay).await? {
                Reservation::Delayed(until) => LoginGate::Delayed((until - now).max(1)),
                Reservation::Granted([account, from_ip]) => LoginGate::Open(LoginAttempt {
                    username: canonical(username),
                    ip: ip.to_owned(),
                    account,
                    from_ip,
                }),
            },
        )
    }

    /// The attempt's password was wrong: it stays counted, and a delay it started is
    /// audited.
    pub fn login_failed(&self, attempt: LoginAttempt) {
        let now = self.now();
        for r in [attempt.account, attempt.from_ip] {
            if r.delay == 0 {
                continue;
            }
            tracing::warn!(
                failures = r.failures,
                delay = r.delay,
                kind = r.key.split(':').next().unwrap_or(""),
                "login delayed after repeated failures"
            );
            let mut event = AuditEvent::new(kind::LOCKOUT_STARTED, now, Outcome::Failure)
                .ip(&attempt.ip)
                .detail(serde_json::json!({"failures": r.failures, "delay_seconds": r.delay}));
            if !attempt.username.is_empty() {
                event = event.actor(attempt.username.clone());
            }
            self.audit.record(event.target(r.key));
        }
    }

    /// A successful login clears the account's counter and gives the IP's attempt back (the
    /// IP's earlier failures stay: others may be guessing from the same address).
    pub async fn login_succeeded(&self, attempt: LoginAttempt) -> Result<(), ServiceError> {
        login_failures::clear(&self.db, &attempt.account.key, None).await?;
        login_failures::release(&self.db, &attempt.from_ip).await?;
        Ok(())
    }

    pub async fn lockouts(&self) -> Result<Vec<LoginFailure>, ServiceError> {
        Ok(login_failures::list(&self.db).await?)
    }

    /// Clears a counter: `account:<username>`, `ip:<address>`, or a bare username (any
    /// spelling of it).
    pub async fn clear_lockout(&self, key: &str, actor: &Actor) -> Result<(), ServiceError> {
        let key = match key.strip_prefix("account:") {
            Some(username) => account_key(username),
            None if key.starts_with("ip:") => key.to_owned(),
            None => account_key(key),
        };
        let audit = actor.event("lockout.cleared", self.now(), &key);
        if !login_failures::clear(&self.db, &key, Some(&audit)).await? {
            return Err(ServiceError::NotFound(format!("lockout {key}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_are_capped() {
        assert_eq!(delay_for(4, 5, 300), 0);
        assert_eq!(delay_for(5, 5, 300), 1);
        assert_eq!(delay_for(6, 5, 300), 2);
        assert_eq!(delay_for(9, 5, 300), 16);
        assert_eq!(delay_for(20, 5, 300), 300);
        assert_eq!(delay_for(i64::MAX, 5, 300), 300);
    }
}
