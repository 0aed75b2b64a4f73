//! `tessera audit list`: the audit log, newest first.

use std::borrow::Cow;

use clap::{Args, Subcommand};

use super::{CliError, print};
use crate::state::Core;
use crate::terminal::escape;

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Events, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub(super) struct AuditListArgs {
    /// A kind (login.failed), or a family ending in a dot (login.).
    #[arg(long)]
    kind: Option<String>,
    /// Who acted: a username, a client_id, or `system`.
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    client: Option<String>,
    /// Only events at or after this time: RFC 3339 (2025-06-01T00:00:00Z) or unix seconds.
    #[arg(long, value_parser = parse_time)]
    since: Option<i64>,
    /// Only events older than the event with this id (the next page after a listing).
    #[arg(long)]
    before: Option<i64>,
    /// At most this many events (1-10000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    limit: i64,
}

/// RFC 3339 or unix seconds.
fn parse_time(raw: &str) -> Result<i64, String> {
    if let Ok(seconds) = raw.parse::<i64>() {
        return Ok(seconds);
    }
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("not RFC 3339 (2025-06-01T00:00:00Z) or unix seconds: {e}"))
}

/// Unix seconds as RFC 3339 in UTC (the number itself if out of range).
fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

pub(super) async fn run(core: &Core, a: AuditListArgs, json: bool) -> Result<(), CliError> {
    let filter = crate::model::AuditFilter {
        kind: a.kind,
        actor: a.actor,
        client_id: a.client,
        from: a.since,
        until: None,
    };
    let events = core.audit_events(&filter, a.before, a.limit).await?;
    // Actors and client ids of failed attempts are whatever a caller typed.
    fn dash(v: &Option<String>) -> Cow<'_, str> {
        v.as_deref().map_or(Cow::Borrowed("-"), escape)
    }
    let mut text = vec![format!(
        "{:>8}  {:<20}  {:<24}  {:<7}  {:<20}  {:<20}  {:<15}  {:<20}  {:>5}",
        "ID", "TIME", "KIND", "OUTCOME", "ACTOR", "CLIENT", "IP", "TARGET", "COUNT"
    )];
    text.extend(events.iter().map(|s| {
        let e = &s.event;
        format!(
            "{:>8}  {:<20}  {:<24}  {:<7}  {:<20}  {:<20}  {:<15}  {:<20}  {:>5}",
            s.id,
            rfc3339(e.at),
            escape(&e.kind),
            e.outcome.as_str(),
            dash(&e.actor),
            dash(&e.client_id),
            dash(&e.ip),
            dash(&e.target),
            e.count
        )
    }));
    print(json, &events, text.join("\n"));
    Ok(())
}
