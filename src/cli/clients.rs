//! `tessera clients …`: OAuth clients.

use clap::{Args, Subcommand};

use super::{CliError, parse_alg, print};
use crate::model::{Actor, ApplicationType, AuthMethod, GrantType, Scope, SigningAlg};
use crate::service::ServiceError;
use crate::service::clients::ClientPatch;
use crate::state::Core;
use crate::terminal::escape;

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Register a client; prints its client_id and (once) its secret.
    Create(ClientArgs),
    List,
    Show {
        client_id: String,
    },
    /// Change a client; flags not given keep their values, repeatable flags replace.
    Update {
        client_id: String,
        #[command(flatten)]
        args: ClientArgs,
        /// Refuse the client everywhere from now on.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    /// Issue a new secret; the old one keeps working for --overlap seconds (default 0).
    RotateSecret {
        client_id: String,
        #[arg(long, default_value_t = 0)]
        overlap: i64,
    },
    Delete {
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub(super) struct ClientArgs {
    #[arg(long)]
    name: Option<String>,
    /// Repeatable; default client_credentials for confidential clients.
    #[arg(long = "grant-type", value_parser = parse_grant_type)]
    grant_types: Vec<GrantType>,
    /// A resource the client may get tokens for; repeatable.
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// Scopes granted (space-delimited or repeated); default: all scopes of the resources.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long)]
    default_resource: Option<String>,
    /// Scopes used when a request names none; default: all granted on the default resource.
    #[arg(long = "default-scope")]
    default_scopes: Vec<String>,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A public client (no secret).
    #[arg(long)]
    public: bool,
    /// client_secret_basic (default), client_secret_post, or none for public clients.
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<AuthMethod>,
    /// Access-token lifetime in seconds, overriding the resource's.
    #[arg(long)]
    access_token_ttl: Option<i64>,
    /// This client is that resource server: it may introspect tokens issued for it.
    #[arg(long)]
    resource_server_for: Option<String>,
    /// Where RP-initiated logout may send the browser; repeatable.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A browser origin (https://app.example.com) allowed to call /token, /revoke and /userinfo,
    /// besides the origins of the redirect URIs; repeatable.
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// A native app (RFC 8252 redirect rules: loopback IPs on any port, private-use schemes).
    #[arg(long)]
    native: bool,
    /// ID-token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long, value_parser = parse_alg)]
    id_token_alg: Option<SigningAlg>,
    /// A trusted first-party app: no consent page.
    #[arg(long)]
    first_party: bool,
    /// Allow authorization requests without PKCE (not recommended, RFC 9700 §2.1.1).
    #[arg(long)]
    pkce_optional: bool,
    /// Let a first-party client get offline_access without a consent page.
    #[arg(long)]
    offline_preauthorized: bool,
    /// Allow granting this client the admin API (its `tessera:admin` scope).
    #[arg(long)]
    admin_api: bool,
    /// ID-token lifetime in seconds (default 600).
    #[arg(long)]
    id_token_ttl: Option<i64>,
    /// Refresh-token idle lifetime in seconds (default 30 days).
    #[arg(long)]
    refresh_idle_ttl: Option<i64>,
    /// Refresh-token absolute lifetime in seconds (default 365 days).
    #[arg(long)]
    refresh_absolute_ttl: Option<i64>,
    /// Seconds in which a just-rotated refresh token yields the same successor (0-60, off).
    #[arg(long)]
    refresh_grace_seconds: Option<i64>,
    /// Seconds after which a sign-in no longer counts when an authorization request sends no
    /// max_age (OIDC default_max_age).
    #[arg(long)]
    default_max_age: Option<i64>,
}

fn parse_grant_type(raw: &str) -> Result<GrantType, String> {
    raw.parse()
        .map_err(|e: crate::model::UnknownValue| e.to_string())
}

fn parse_auth_method(raw: &str) -> Result<AuthMethod, String> {
    raw.parse()
        .map_err(|e: crate::model::UnknownValue| e.to_string())
}

fn scope_arg(field: &'static str, values: &[String]) -> Result<Option<Scope>, ServiceError> {
    if values.is_empty() {
        return Ok(None);
    }
    Scope::parse(&values.join(" "))
        .map(Some)
        .ok_or_else(|| ServiceError::Invalid {
            field,
            message: "malformed scope (RFC 6749 §3.3)".into(),
        })
}

fn describe_client(c: &crate::model::Client) -> String {
    let grants: Vec<String> = c
        .grants
        .iter()
        .map(|g| format!("    {}  [{}]", g.resource, g.scopes))
        .collect();
    let grant_types: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    format!(
        "{}\n  name: {}\n  type: {}\n  auth method: {}\n  grant types: {}\n  default resource: {}\n  \
         default scopes: {}\n  disabled: {}\n  resources:\n{}",
        c.client_id,
        escape(&c.name),
        if c.public { "public" } else { "confidential" },
        c.auth_method.as_str(),
        grant_types.join(" "),
        c.default_resource.as_deref().unwrap_or("-"),
        c.default_scopes,
        c.disabled,
        grants.join("\n")
    )
}

/// A repeatable flag: given at least once, it replaces the list.
fn replace<T>(values: Vec<T>) -> Option<Vec<T>> {
    (!values.is_empty()).then_some(values)
}

/// The change the flags ask for. New resources grant all their scopes and pick the default
/// resource and scopes anew unless those flags are given too; new scopes or a new default
/// resource pick the default scopes anew.
fn patch(a: ClientArgs) -> Result<ClientPatch, ServiceError> {
    let new_resources = !a.resources.is_empty();
    let scopes = scope_arg("scopes", &a.scopes)?;
    let default_scopes = scope_arg("default_scopes", &a.default_scopes)?;
    let reset_defaults = new_resources || scopes.is_some() || a.default_resource.is_some();
    Ok(ClientPatch {
        name: a.name,
        public: a.public.then_some(true),
        auth_method: a.auth_method,
        grant_types: replace(a.grant_types),
        resources: replace(a.resources),
        scopes: scopes.map(Some).or(new_resources.then_some(None)),
        default_resource: a
            .default_resource
            .map(Some)
            .or(new_resources.then_some(None)),
        default_scopes: default_scopes.map(Some).or(reset_defaults.then_some(None)),
        redirect_uris: replace(a.redirect_uris),
        post_logout_redirect_uris: replace(a.post_logout_redirect_uris),
        allowed_origins: replace(a.allowed_origins),
        access_token_ttl: a.access_token_ttl.map(Some),
        resource_server_for: a.resource_server_for.map(Some),
        application_type: a.native.then_some(ApplicationType::Native),
        id_token_alg: a.id_token_alg,
        first_party: a.first_party.then_some(true),
        pkce_required: a.pkce_optional.then_some(false),
        offline_preauthorized: a.offline_preauthorized.then_some(true),
        admin_api: a.admin_api.then_some(true),
        refresh_idle_ttl: a.refresh_idle_ttl.map(Some),
        refresh_absolute_ttl: a.refresh_absolute_ttl.map(Some),
        id_token_ttl: a.id_token_ttl.map(Some),
        refresh_grace_seconds: a.refresh_grace_seconds.map(Some),
        default_max_age: a.default_max_age.map(Some),
        disabled: None,
    })
}

pub(super) async fn run(core: &Core, command: ClientCommand, json: bool) -> Result<(), CliError> {
    match command {
        ClientCommand::Create(a) => {
            if a.name.is_none() {
                return Err(ServiceError::Invalid {
                    field: "name",
                    message: "--name is required".into(),
                }
                .into());
            }
            let spec = patch(a)?.into_spec();
            let reg = core.create_client(spec, &Actor::cli()).await?;
            let secret_line = match &reg.secret {
                Some(s) => format!("client_secret: {s}\n(shown once: store it now)"),
                None => "public client: no secret".to_owned(),
            };
            print(
                json,
                &serde_json::json!({"client": reg.client, "client_secret": reg.secret}),
                format!(
                    "client_id: {}\n{secret_line}\n{}",
                    reg.client.client_id,
                    describe_client(&reg.client)
                ),
            );
        }
        ClientCommand::List => {
            let all = core.clients().await?;
            let text: Vec<String> = all.iter().map(describe_client).collect();
            print(json, &all, text.join("\n"));
        }
        ClientCommand::Show { client_id } => {
            let c = core.client(&client_id).await?;
            print(json, &c, describe_client(&c));
        }
        ClientCommand::Update {
            client_id,
            args,
            disable,
            enable,
        } => {
            let mut changes = patch(args)?;
            changes.disabled = disable.then_some(true).or(enable.then_some(false));
            let c = core
                .patch_client(&client_id, changes, &Actor::cli())
                .await?;
            print(json, &c, format!("updated client {}", describe_client(&c)));
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let secret = core
                .rotate_client_secret(&client_id, overlap, &Actor::cli())
                .await?;
            print(
                json,
                &serde_json::json!({"client_id": client_id, "client_secret": secret, "overlap_seconds": overlap}),
                format!(
                    "client_id: {client_id}\nclient_secret: {secret}\n(shown once; the old secret works for {overlap}s more)"
                ),
            );
        }
        ClientCommand::Delete { client_id } => {
            core.delete_client(&client_id, &Actor::cli()).await?;
            print(
                json,
                &serde_json::json!({"deleted": client_id}),
                format!("deleted client {client_id}"),
            );
        }
    }
    Ok(())
}
