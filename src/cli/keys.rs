//! `tessera keys …`: signing keys and the master keyring.

use clap::Subcommand;

use super::{CliError, parse_alg, print};
use crate::model::{Actor, SigningAlg};
use crate::state::Core;

#[derive(Debug, Subcommand)]
pub(super) enum KeyCommand {
    List,
    /// Re-encrypt every stored private key under the first master key of the keyring. With a
    /// key file, --generate first adds a new key at its head. Deploy the new keyring (new key
    /// first, old keys kept) to every instance before running it without --generate.
    Rewrap {
        #[arg(long)]
        generate: bool,
    },
    /// Promote next → active and active → retired, and publish a new next key.
    Rotate {
        /// Only this algorithm (default: all).
        #[arg(long, value_parser = parse_alg)]
        alg: Option<SigningAlg>,
    },
}

pub(super) async fn run(core: &Core, command: KeyCommand, json: bool) -> Result<(), CliError> {
    match command {
        KeyCommand::Rewrap { .. } => {
            let count = core.rewrap_keys().await?;
            let primary = core.keyring.primary().id().to_owned();
            print(
                json,
                &serde_json::json!({"rewrapped": count, "master_key_id": primary}),
                format!("{count} signing key(s) now encrypted under master key {primary}"),
            );
        }
        KeyCommand::List => {
            let info = core.keys.current().info.clone();
            let text: Vec<String> = info
                .iter()
                .map(|k| {
                    format!(
                        "{:<6} {:<8} {}  created {}",
                        k.alg.as_str(),
                        k.state,
                        k.kid,
                        k.created_at
                    )
                })
                .collect();
            print(json, &info, text.join("\n"));
        }
        KeyCommand::Rotate { alg } => {
            let algs = alg.map_or_else(|| SigningAlg::ALL.to_vec(), |a| vec![a]);
            let mut rotated = Vec::new();
            for alg in algs {
                rotated.push(core.rotate_key(alg, false, &Actor::cli()).await?);
            }
            let text: Vec<String> = rotated
                .iter()
                .map(|k| format!("{} now signs with {}", k.alg.as_str(), k.kid))
                .collect();
            print(json, &rotated, text.join("\n"));
        }
    }
    Ok(())
}
