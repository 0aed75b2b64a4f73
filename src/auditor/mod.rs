//! The audit trail of security events: sign-ins, login delays, replayed refresh tokens and
//! codes, revocations, scheduled key rotations, failed client authentication and token issuance.
//!
//! Requests never wait for it. An event goes into a bounded queue that a background task writes
//! in batches (one transaction each); when the queue is full the event is dropped and counted in
//! `tessera_audit_events_dropped_total` instead of slowing a login or token request down. Token
//! issuance, by far the most frequent event, is counted in memory per client, grant type and
//! minute and stored as one `token.issued` row with a count. Every event also goes to the log
//! stream (target `tessera::audit`), so ELK or Loki see it even when the database does not.
//! Failed client authentication is sampled and counted the same way (see [`failures`]).
//!
//! Admin changes do not come through here: they are inserted in the change's own transaction
//! (`store::audit::insert_event!`), so a change and its audit line commit or roll back together.

mod failures;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use crate::clock::SharedClock;
use crate::config::AuditConfig;
use crate::model::{AuditEvent, GrantType, Outcome, kind};
use crate::store::{self, Db, StoreError};

use failures::Failures;

/// The actor of what the server does by itself (scheduled key rotation).
pub const SYSTEM: &str = "system";

/// Events per transaction.
const BATCH: usize = 500;
/// Longest actor, client id, IP or target kept, in bytes: usernames and client ids of failed
/// attempts are whatever the caller typed.
const MAX_FIELD: usize = 200;
/// At most one warning about dropped events per this many seconds.
const WARN_EVERY: i64 = 10;

/// Records security events without blocking; owned by `Core`.
pub struct Auditor {
    events: mpsc::Sender<AuditEvent>,
    flushes: mpsc::Sender<oneshot::Sender<Result<(), StoreError>>>,
    tally: Arc<Tally>,
    failures: Arc<Failures>,
    drops: Arc<Drops>,
    clock: SharedClock,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auditor")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error("the audit writer has stopped")]
    Stopped,
    #[error("audit events could not be written: {0}")]
    Store(#[from] StoreError),
}

impl Auditor {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(db: Db, config: &AuditConfig, clock: SharedClock, dropped: Counter) -> Self {
        let capacity = usize::try_from(config.queue).unwrap_or(usize::MAX).max(1);
        let (events, receiver) = mpsc::channel(capacity);
        let (flushes, flush_requests) = mpsc::channel(16);
        let tally = Arc::new(Tally::default());
        let failures = Arc::new(Failures::default());
        let drops = Arc::new(Drops {
            counter: dropped,
            last_warning: AtomicI64::new(i64::MIN),
            clock: clock.clone(),
        });
        let writer = Writer {
            db,
            events: receiver,
            flushes: flush_requests,
            tally: tally.clone(),
            failures: failures.clone(),
            drops: drops.clone(),
            clock: clock.clone(),
            held: VecDeque::new(),
            limit: capacity,
            failing: false,
        };
        tokio::spawn(writer.run(Duration::from_millis(u64::from(config.flush_ms))));
        Self {
            events,
            flushes,
            tally,
            failures,
            drops,
            clock,
        }
    }

    /// Logs the event and queues it for the database; never waits. A full queue drops it (the
    /// log line is still written).
    pub fn record(&self, mut event: AuditEvent) {
        for field in [
            &mut event.actor,
            &mut event.client_id,
            &mut event.ip,
            &mut event.target,
        ] {
            cap(field);
        }
        emit(&event);
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.drops.add(1, "the audit queue is full"),
            Err(TrySendError::Closed(_)) => self.drops.add(1, "the audit writer has stopped"),
        }
    }

    /// Counts one access token; stored per client, grant type and minute once the minute is
    /// over (or at the next flush).
    pub fn token_issued(&self, client_id: &str, grant: GrantType) {
        let minute = self.clock.now().div_euclid(60);
        let mut open = self
            .tally
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let clients = open.entry((minute, grant.as_str())).or_default();
        match clients.get_mut(client_id) {
            Some(count) => *count += 1,
            None => {
                clients.insert(client_id.to_owned(), 1);
            }
        }
    }

    /// A failed client authentication at `endpoint` with the client_id presented (empty when
    /// none was): recorded as its own `client_auth.failed` event while the minute has had few,
    /// counted into the minute's `client_auth.failures` row after that.
    pub fn client_auth_failed(&self, endpoint: &'static str, client_id: &str, ip: &str) {
        let now = self.clock.now();
        let (mut client, mut from) = (Some(client_id.to_owned()), Some(ip.to_owned()));
        cap(&mut client);
        cap(&mut from);
        let (client, from) = (client.unwrap_or_default(), from.unwrap_or_default());
        if !self
            .failures
            .note(now.div_euclid(60), endpoint, (client.clone(), from.clone()))
        {
            return;
        }
        let mut event = AuditEvent::new(kind::CLIENT_AUTH_FAILED, now, Outcome::Failure)
            .ip(from)
            .detail(serde_json::json!({ "endpoint": endpoint }));
        if !client.is_empty() {
            event = event.actor(client.clone()).client(client);
        }
        self.record(event);
    }

    /// Writes everything recorded before this call, including the minute still being counted.
    /// For shutdown and tests.
    pub async fn flush(&self) -> Result<(), FlushError> {
        let (reply, done) = oneshot::channel();
        self.flushes
            .send(reply)
            .await
            .map_err(|_| FlushError::Stopped)?;
        done.await.map_err(|_| FlushError::Stopped)??;
        Ok(())
    }
}

/// Cuts an over-long field on a character boundary.
fn cap(field: &mut Option<String>) {
    if let Some(value) = field
        && value.len() > MAX_FIELD
    {
        let mut end = MAX_FIELD;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
}

/// The event as a log line. Its fields are plain strings (escaped by both log formats), and no
/// event carries a secret: callers pass identifiers, never tokens, codes or passwords.
fn emit(e: &AuditEvent) {
    tracing::info!(
        target: "tessera::audit",
        kind = e.kind.as_str(),
        actor = e.actor.as_deref(),
        client_id = e.client_id.as_deref(),
        ip = e.ip.as_deref(),
        outcome = e.outcome.as_str(),
        "target" = e.target.as_deref(),
        count = e.count,
        detail = e.detail.as_ref().map(tracing::field::display),
        at = e.at,
        "audit event"
    );
}

/// A minute (unix seconds / 60) and a grant type.
type Slot = (i64, &'static str);
/// Tokens per client_id.
type Counts = HashMap<String, i64>;

/// Token issuance being counted.
#[derive(Default)]
struct Tally {
    open: Mutex<HashMap<Slot, Counts>>,
}

impl Tally {
    /// Removes the minutes before `minute` as `token.issued` events, oldest first.
    fn take_before(&self, minute: i64) -> Vec<AuditEvent> {
        let closed: Vec<(Slot, Counts)> = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let keys: Vec<Slot> = open.keys().filter(|(m, _)| *m < minute).copied().collect();
            keys.into_iter()
                .filter_map(|k| open.remove(&k).map(|clients| (k, clients)))
                .collect()
        };
        let mut events: Vec<AuditEvent> = closed
            .into_iter()
            .flat_map(|((minute, grant), clients)| {
                clients.into_iter().map(move |(client_id, count)| {
                    let mut e = AuditEvent::new(kind::TOKEN_ISSUED, minute * 60, Outcome::Success)
                        .actor(client_id.clone())
                        .client(client_id)
                        .target(grant);
                    e.count = count;
                    e
                })
            })
            .collect();
        events
            .sort_by(|a, b| (a.at, &a.client_id, &a.target).cmp(&(b.at, &b.client_id, &b.target)));
        events
    }
}

/// The dropped-events counter, with a warning at most every [`WARN_EVERY`] seconds.
struct Drops {
    counter: Counter,
    last_warning: AtomicI64,
    clock: SharedClock,
}

impl Drops {
    fn add(&self, n: u64, reason: &'static str) {
        self.counter.inc_by(n);
        let now = self.clock.now();
        let last = self.last_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                reason,
                dropped_total = self.counter.get(),
                "audit events dropped (tessera_audit_events_dropped_total)"
            );
        }
    }
}

/// The background task: collects events and writes them in batches.
struct Writer {
    db: Db,
    events: mpsc::Receiver<AuditEvent>,
    flushes: mpsc::Receiver<oneshot::Sender<Result<(), StoreError>>>,
    tally: Arc<Tally>,
    failures: Arc<Failures>,
    drops: Arc<Drops>,
    clock: SharedClock,
    /// Received, not yet written.
    held: VecDeque<AuditEvent>,
    /// Most events held while the database refuses writes (the queue's capacity), so an outage
    /// costs bounded memory.
    limit: usize,
    /// The last write failed: wait for the next tick before trying again.
    failing: bool,
}

impl Writer {
    async fn run(mut self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = self.flushes.recv() => {
                    let Some(reply) = request else { break };
                    let result = self.flush(i64::MAX).await;
                    let _ = reply.send(result);
                }
                event = self.events.recv() => {
                    let Some(event) = event else { break };
                    self.hold(event);
                    if !self.failing && self.held.len() >= BATCH {
                        let _ = self.write().await;
                    }
                }
                _ = tick.tick() => {
                    let minute = self.clock.now().div_euclid(60);
                    let _ = self.flush(minute).await;
                }
            }
        }
        // The auditor is gone (its core was dropped): one last try for what is still held.
        if let Err(e) = self.flush(i64::MAX).await {
            tracing::error!(error = %e, lost = self.held.len(), "audit events lost at exit");
        }
    }

    /// Takes what is queued and the token and failure counts of minutes before `minute`, and
    /// writes.
    async fn flush(&mut self, minute: i64) -> Result<(), StoreError> {
        while let Ok(event) = self.events.try_recv() {
            self.hold(event);
        }
        let counted = self.tally.take_before(minute);
        for event in counted.into_iter().chain(self.failures.take_before(minute)) {
            emit(&event);
            self.hold(event);
        }
        self.write().await
    }

    fn hold(&mut self, event: AuditEvent) {
        self.held.push_back(event);
        if self.failing {
            self.trim();
        }
    }

    /// While writes fail, the oldest events beyond the limit are given up (and counted).
    fn trim(&mut self) {
        let excess = self.held.len().saturating_sub(self.limit);
        if excess > 0 {
            self.held.drain(..excess);
            self.drops.add(
                u64::try_from(excess).unwrap_or(u64::MAX),
                "the database refused audit writes for longer than the queue could hold",
            );
        }
    }

    /// Writes everything held, [`BATCH`] events per transaction. A failed batch stays held for
    /// the next tick.
    async fn write(&mut self) -> Result<(), StoreError> {
        while !self.held.is_empty() {
            let n = self.held.len().min(BATCH);
            let batch = &self.held.make_contiguous()[..n];
            if let Err(e) = store::audit::insert_batch(&self.db, batch).await {
                tracing::warn!(error = %e, held = self.held.len(), "writing audit events failed; will retry");
                self.failing = true;
                self.trim();
                return Err(e);
            }
            self.held.drain(..n);
        }
        self.failing = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_fields_are_cut_on_a_character_boundary() {
        let mut long = Some("é".repeat(MAX_FIELD));
        cap(&mut long);
        let cut = long.expect("kept");
        assert!(cut.len() <= MAX_FIELD && cut.len() >= MAX_FIELD - 1);
        assert!(cut.chars().all(|c| c == 'é'));
        let mut short = Some("alice".to_owned());
        cap(&mut short);
        assert_eq!(short.as_deref(), Some("alice"));
    }

    #[test]
    fn token_counts_close_by_minute_client_and_grant() {
        let tally = Tally::default();
        {
            let mut open = tally.open.lock().expect("lock");
            open.entry((10, "client_credentials"))
                .or_default()
                .insert("a".into(), 5);
            open.entry((10, "refresh_token"))
                .or_default()
                .insert("a".into(), 2);
            open.entry((11, "client_credentials"))
                .or_default()
                .insert("a".into(), 1);
        }
        let closed = tally.take_before(11);
        let seen: Vec<(i64, Option<&str>, i64)> = closed
            .iter()
            .map(|e| (e.at, e.target.as_deref(), e.count))
            .collect();
        assert_eq!(
            seen,
            vec![
                (600, Some("client_credentials"), 5),
                (600, Some("refresh_token"), 2)
            ]
        );
        assert!(closed.iter().all(|e| e.kind == kind::TOKEN_ISSUED
            && e.client_id.as_deref() == Some("a")
            && e.actor.as_deref() == Some("a")
            && e.ip.is_none()));
        assert!(tally.take_before(11).is_empty(), "taken once");
        assert_eq!(
            tally.take_before(i64::MAX).len(),
            1,
            "the open minute on flush"
        );
    }
}
