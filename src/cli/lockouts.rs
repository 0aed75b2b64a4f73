//! `tessera lockouts …`: login brute-force counters.

use clap::Subcommand;

use super::{CliError, print};
use crate::model::Actor;
use crate::state::Core;
use crate::terminal::escape;

#[derive(Debug, Subcommand)]
pub(super) enum LockoutCommand {
    /// Accounts and IPs with failed logins, most recent first.
    List,
    /// Clears a counter: a username, `account:<username>` or `ip:<address>`.
    Clear { key: String },
}

pub(super) async fn run(core: &Core, command: LockoutCommand, json: bool) -> Result<(), CliError> {
    match command {
        LockoutCommand::List => {
            let all = core.lockouts().await?;
            let now = core.now();
            let text: Vec<String> = all
                .iter()
                .map(|l| {
                    let wait = (l.delay_until - now).max(0);
                    let key = escape(&l.key);
                    format!("{key:<40} {:>4} failures  wait {wait}s", l.failures)
                })
                .collect();
            print(json, &all, text.join("\n"));
        }
        LockoutCommand::Clear { key } => {
            core.clear_lockout(&key, &Actor::cli()).await?;
            print(
                json,
                &serde_json::json!({"cleared": key}),
                format!("cleared {key}"),
            );
        }
    }
    Ok(())
}
