//! Brute-force protection on login (OWASP Authentication Cheat Sheet, "Account Lockout"):
//! failures are counted per account and per source IP; past a threshold each further attempt
//! must wait, doubling up to a cap of a few minutes — a delay, never a lock an attacker could
//! hold forever. Unknown usernames are counted exactly like known ones. An account's counter is
//! keyed on the canonical form of the username (`model::username`), so every spelling that
//! reaches the account shares it; counters are purged a day after their last failure.

use super::audit::kind;
use super::{Core, ServiceError};
use crate::model::username::canonical;
use crate::model::{Actor, AuditEvent, Outcome};
use crate::store::login_failures::{self, LoginFailure};

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

impl Core {
    /// Seconds the next login attempt for this account or from this IP must still wait.
    pub async fn login_delay(&self, username: &str, ip: &str) -> Result<Option<i64>, ServiceError> {
        let now = self.now();
        let until =
            login_failures::delayed_until(&self.db, [&account_key(username), &ip_key(ip)], now)
                .await?;
        Ok(until.map(|u| u - now))
    }

    pub async fn login_failed(&self, username: &str, ip: &str) -> Result<(), ServiceError> {
        let now = self.now();
        let free = i64::from(self.config.limits.login_failures_before_delay);
        let cap = i64::from(self.config.limits.login_max_delay_seconds);
        for (key, threshold) in [
            (account_key(username), free),
            (ip_key(ip), free * IP_FACTOR),
        ] {
            let failures = login_failures::record(&self.db, &key, now, now - RESET_AFTER).await?;
            let delay = delay_for(failures, threshold, cap);
            if delay > 0 {
                login_failures::set_delay(&self.db, &key, now + delay).await?;
                tracing::warn!(
                    failures,
                    delay,
                    kind = key.split(':').next().unwrap_or(""),
                    "login delayed after repeated failures"
                );
                let name = canonical(username);
                let mut event = AuditEvent::new(kind::LOCKOUT_STARTED, now, Outcome::Failure)
                    .ip(ip)
                    .detail(serde_json::json!({"failures": failures, "delay_seconds": delay}));
                if !name.is_empty() {
                    event = event.actor(name);
                }
                self.audit.record(event.target(key));
            }
        }
        Ok(())
    }

    /// A successful login clears the account's counter (the IP's stays: others may be guessing
    /// from the same address).
    pub async fn login_succeeded(&self, username: &str) -> Result<(), ServiceError> {
        login_failures::clear(&self.db, &account_key(username), None).await?;
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
