//! `tessera resources …`: resource servers (APIs), the audiences of access tokens.

use clap::{Args, Subcommand};

use super::{CliError, parse_alg, print};
use crate::model::{Actor, ScopeDef, SigningAlg};
use crate::service::resources::ResourceSpec;
use crate::state::Core;
use crate::terminal::escape;

#[derive(Debug, Subcommand)]
pub(super) enum ResourceCommand {
    /// Register a resource server.
    Create(ResourceArgs),
    List,
    Show {
        identifier: String,
    },
    /// Change a resource; flags not given keep their values (`--scope` replaces the list).
    Update(ResourceArgs),
    Delete {
        identifier: String,
    },
}

#[derive(Debug, Args)]
pub(super) struct ResourceArgs {
    /// Absolute URI, the `aud` of its tokens (RFC 8707), e.g. https://api.example.com/orders.
    identifier: String,
    #[arg(long)]
    name: Option<String>,
    /// A scope and its plain-words description, `name=description`; repeatable.
    #[arg(long = "scope", value_name = "NAME=DESCRIPTION", value_parser = parse_scope_def)]
    scopes: Vec<ScopeDef>,
    /// Access-token signing algorithm: ES256 (default), RS256 or EdDSA.
    #[arg(long, value_parser = parse_alg)]
    alg: Option<SigningAlg>,
    /// Access-token lifetime in seconds (default 600).
    #[arg(long)]
    access_token_ttl: Option<i64>,
}

fn parse_scope_def(raw: &str) -> Result<ScopeDef, String> {
    let (name, description) = raw.split_once('=').unwrap_or((raw, ""));
    Ok(ScopeDef {
        name: name.trim().to_owned(),
        description: description.trim().to_owned(),
    })
}

fn describe_resource(r: &crate::model::Resource) -> String {
    let scopes: Vec<String> = r
        .scopes
        .iter()
        .map(|s| format!("    {}  {}", s.name, escape(&s.description)))
        .collect();
    format!(
        "{}\n  name: {}\n  alg: {}\n  access token lifetime: {}s\n  scopes:\n{}",
        r.identifier,
        escape(&r.name),
        r.signing_alg.as_str(),
        r.access_token_ttl,
        scopes.join("\n")
    )
}

fn apply_resource_args(mut spec: ResourceSpec, a: ResourceArgs) -> ResourceSpec {
    if let Some(name) = a.name {
        spec.name = name;
    }
    if !a.scopes.is_empty() {
        spec.scopes = a.scopes;
    }
    if let Some(alg) = a.alg {
        spec.signing_alg = alg;
    }
    if let Some(ttl) = a.access_token_ttl {
        spec.access_token_ttl = ttl;
    }
    spec
}

pub(super) async fn run(core: &Core, command: ResourceCommand, json: bool) -> Result<(), CliError> {
    match command {
        ResourceCommand::Create(a) => {
            let spec = apply_resource_args(ResourceSpec::new(a.identifier.clone()), a);
            let r = core.create_resource(spec, &Actor::cli()).await?;
            print(
                json,
                &r,
                format!("created resource {}", describe_resource(&r)),
            );
        }
        ResourceCommand::List => {
            let all = core.resources().await?;
            let text: Vec<String> = all.iter().map(describe_resource).collect();
            print(json, &all, text.join("\n"));
        }
        ResourceCommand::Show { identifier } => {
            let r = core.resource(&identifier).await?;
            print(json, &r, describe_resource(&r));
        }
        ResourceCommand::Update(a) => {
            let existing = core.resource(&a.identifier).await?;
            let spec = apply_resource_args(ResourceSpec::from_resource(&existing), a);
            let r = core.update_resource(spec, &Actor::cli()).await?;
            print(
                json,
                &r,
                format!("updated resource {}", describe_resource(&r)),
            );
        }
        ResourceCommand::Delete { identifier } => {
            core.delete_resource(&identifier, &Actor::cli()).await?;
            print(
                json,
                &serde_json::json!({"deleted": identifier}),
                format!("deleted resource {identifier}"),
            );
        }
    }
    Ok(())
}
