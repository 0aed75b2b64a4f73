//! Signing a person in with a username and password, as named steps: the brute-force gate
//! (`lockouts`), the password check (`users::authenticate_user`), then the counters, metrics and
//! audit line of the outcome. The sign-in page only turns the [`SignInOutcome`] into a page.

use super::ServiceError;
use super::lockouts::LoginGate;
use crate::model::kind;
use crate::model::username::canonical;
use crate::model::{AuditEvent, Outcome, User};
use crate::state::Core;

/// One sign-in attempt: the form's values and where it came from. Never logged as a whole (the
/// password).
pub struct SignInAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub ip: &'a str,
    /// The client of the authorization request being continued, if any (the console has none).
    pub client_id: Option<&'a str>,
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(Box<User>),
    /// Unknown user, wrong password or disabled account: one answer for all (OWASP
    /// Authentication Cheat Sheet, "Authentication and Error Messages").
    BadCredentials,
    /// Too many recent failures for this account or address: no password is checked until
    /// `wait` seconds have passed.
    LockedOut {
        wait: i64,
    },
}

impl Core {
    /// Checks an attempt. The brute-force gate is passed before the password is checked, so
    /// that guesses sent in parallel cannot outrun it, and the same wait applies whether or not
    /// the account exists.
    pub async fn sign_in(
        &self,
        attempt: &SignInAttempt<'_>,
    ) -> Result<SignInOutcome, ServiceError> {
        let reserved = match self.begin_login(attempt.username, attempt.ip).await? {
            LoginGate::Open(reserved) => reserved,
            LoginGate::Delayed(wait) => {
                self.sign_in_failed(attempt, "delayed", "delayed");
                return Ok(SignInOutcome::LockedOut { wait });
            }
        };
        let user = self
            .authenticate_user(attempt.username, attempt.password)
            .await?;
        let Some(user) = user else {
            tracing::info!(client_id = attempt.client_id, "login failed");
            self.sign_in_failed(attempt, "failure", "bad_credentials");
            self.login_failed(reserved);
            return Ok(SignInOutcome::BadCredentials);
        };
        self.login_succeeded(reserved).await?;
        tracing::info!(client_id = attempt.client_id, "login succeeded");
        self.metrics.login("success");
        self.audit.record(
            self.sign_in_event(attempt, kind::LOGIN_SUCCEEDED, Outcome::Success)
                .target(user.sub.clone()),
        );
        Ok(SignInOutcome::SignedIn(Box::new(user)))
    }

    /// A refused sign-in: counted under `metric` and audited as `login.failed` with `reason`.
    fn sign_in_failed(&self, attempt: &SignInAttempt<'_>, metric: &str, reason: &str) {
        self.metrics.login(metric);
        self.audit.record(
            self.sign_in_event(attempt, kind::LOGIN_FAILED, Outcome::Failure)
                .detail(serde_json::json!({ "reason": reason })),
        );
    }

    /// A sign-in attempt for the audit log: the username as typed in its canonical form (as
    /// accounts match it, capped in length), the client IP and, once the authorize request is known, its client.
    /// Never the password.
    fn sign_in_event(
        &self,
        attempt: &SignInAttempt<'_>,
        kind: &str,
        outcome: Outcome,
    ) -> AuditEvent {
        let mut event = AuditEvent::new(kind, self.now(), outcome).ip(attempt.ip);
        let name = canonical(attempt.username);
        if !name.is_empty() {
            event = event.actor(name);
        }
        if let Some(client_id) = attempt.client_id {
            event = event.client(client_id);
        }
        event
    }
}
