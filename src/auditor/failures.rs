//! Failed client authentication (RFC 6749 §2.3, answered `invalid_client` per §5.2) at /token,
//! /introspect and /revoke, counted instead of stored one row each. A flood of bad credentials
//! (random client ids from many addresses) must not add one audit row per request: the first
//! [`IMMEDIATE_PER_MINUTE`] failures of a minute are still recorded one by one (with their
//! client id and IP, at once), and the rest of the minute is tallied per endpoint into one
//! `client_auth.failures` row whose `count` says how many and whose detail samples where they
//! came from.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use crate::model::{AuditEvent, Outcome};

use crate::model::kind;

/// Failures per minute (across endpoints) recorded one row each before counting starts.
pub const IMMEDIATE_PER_MINUTE: u32 = 20;
/// Distinct (client id, IP) sources tracked per minute and endpoint; failures from further
/// sources are only counted (`untracked`), so a flood costs bounded memory.
const MAX_SOURCES: usize = 1_000;
/// Sources named in a `client_auth.failures` row, the most frequent first.
const SAMPLE: usize = 20;

/// (client id presented, or empty; IP), both already capped.
type Source = (String, String);

#[derive(Default)]
struct Window {
    total: i64,
    sources: HashMap<Source, i64>,
    untracked: i64,
}

#[derive(Default)]
struct State {
    /// The minute (unix seconds / 60) whose individual rows `immediate` counts.
    minute: i64,
    immediate: u32,
    /// Failures beyond the individual rows, per minute and endpoint, until written.
    open: BTreeMap<(i64, &'static str), Window>,
}

/// The failures being counted; shared by the auditor (which counts) and its writer (which
/// closes minutes).
#[derive(Default)]
pub(super) struct Failures {
    state: Mutex<State>,
}

impl Failures {
    /// Counts one failure; true when it is among the minute's first [`IMMEDIATE_PER_MINUTE`]
    /// and gets a row of its own.
    pub(super) fn note(&self, minute: i64, endpoint: &'static str, source: Source) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.minute != minute {
            state.minute = minute;
            state.immediate = 0;
        }
        if state.immediate < IMMEDIATE_PER_MINUTE {
            state.immediate += 1;
            return true;
        }
        let window = state.open.entry((minute, endpoint)).or_default();
        window.total += 1;
        if let Some(count) = window.sources.get_mut(&source) {
            *count += 1;
        } else if window.sources.len() < MAX_SOURCES {
            window.sources.insert(source, 1);
        } else {
            window.untracked += 1;
        }
        false
    }

    /// Removes the minutes before `minute` as `client_auth.failures` events, oldest first.
    pub(super) fn take_before(&self, minute: i64) -> Vec<AuditEvent> {
        let closed = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let open = state.open.split_off(&(minute, ""));
            std::mem::replace(&mut state.open, open)
        };
        closed
            .into_iter()
            .map(|((minute, endpoint), window)| summary(minute, endpoint, window))
            .collect()
    }
}

/// One row for a minute's counted failures at one endpoint.
fn summary(minute: i64, endpoint: &'static str, window: Window) -> AuditEvent {
    let distinct = window.sources.len();
    let mut sources: Vec<(Source, i64)> = window.sources.into_iter().collect();
    sources.sort_by(|(a, x), (b, y)| y.cmp(x).then_with(|| a.cmp(b)));
    let sample: Vec<serde_json::Value> = sources
        .into_iter()
        .take(SAMPLE)
        .map(|((client_id, ip), count)| {
            serde_json::json!({
                "client_id": (!client_id.is_empty()).then_some(client_id),
                "ip": ip,
                "count": count,
            })
        })
        .collect();
    let mut event = AuditEvent::new(kind::CLIENT_AUTH_FAILURES, minute * 60, Outcome::Failure)
        .detail(serde_json::json!({
            "endpoint": endpoint,
            "sources": sample,
            "distinct_sources": distinct,
            "untracked": window.untracked,
        }));
    event.count = window.total;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(client: &str, ip: &str) -> Source {
        (client.to_owned(), ip.to_owned())
    }

    #[test]
    fn a_minute_records_some_rows_then_counts_the_rest() {
        let f = Failures::default();
        let individual = (0..100)
            .filter(|i| f.note(7, "token", source(&format!("c{}", i % 3), "192.0.2.1")))
            .count();
        assert_eq!(individual, IMMEDIATE_PER_MINUTE as usize);
        assert!(f.take_before(7).is_empty(), "the minute is still open");
        let rows = f.take_before(8);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.kind.as_str(), row.at),
            (kind::CLIENT_AUTH_FAILURES, 420)
        );
        assert_eq!(row.count, 100 - i64::from(IMMEDIATE_PER_MINUTE));
        let detail = row.detail.as_ref().expect("detail");
        assert_eq!(detail["endpoint"], "token");
        assert_eq!(detail["distinct_sources"], 3);
        assert_eq!(detail["sources"].as_array().map(Vec::len), Some(3));
        assert!(f.take_before(i64::MAX).is_empty(), "taken once");
        assert!(f.note(8, "token", source("c", "ip")), "a new minute");
    }

    #[test]
    fn sources_beyond_the_cap_are_only_counted() {
        let f = Failures::default();
        let n = IMMEDIATE_PER_MINUTE as usize + MAX_SOURCES + 50;
        for i in 0..n {
            f.note(1, "introspect", source(&i.to_string(), "198.51.100.9"));
        }
        let rows = f.take_before(2);
        let detail = rows[0].detail.as_ref().expect("detail");
        assert_eq!(detail["distinct_sources"], MAX_SOURCES);
        assert_eq!(detail["untracked"], 50);
        assert_eq!(detail["sources"].as_array().map(Vec::len), Some(SAMPLE));
        assert_eq!(rows[0].count, (MAX_SOURCES + 50) as i64);
    }
}
