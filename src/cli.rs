//! The command line: `serve` (default), `migrate`, management of resources, clients, users and
//! keys through the service layer, and the audit log. Every command prints JSON with `--json`.

use std::borrow::Cow;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::app::{App, Init, shutdown_signal};
use crate::clock::SystemClock;
use crate::config::{Config, LogFormat};
use crate::error::AppError;
use crate::model::UserClaims;
use crate::model::{Actor, ApplicationType, AuthMethod, GrantType, Scope, ScopeDef, SigningAlg};
use crate::service::clients::ClientSpec;
use crate::service::resources::ResourceSpec;
use crate::service::user_claims::apply_settings;
use crate::service::users::UserSpec;
use crate::service::{Core, ServiceError};
use crate::telemetry::Telemetry;
use crate::terminal::escape;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "OAuth 2.0 / OpenID Connect authorization server"
)]
struct Cli {
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or upgrade the database schema (and the first keys), then exit.
    Migrate,
    /// Resource servers (APIs): the audiences of access tokens.
    #[command(subcommand)]
    Resources(ResourceCommand),
    /// OAuth clients.
    #[command(subcommand)]
    Clients(Box<ClientCommand>),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeyCommand),
    /// Login brute-force counters (accounts and IPs that must wait).
    #[command(subcommand)]
    Lockouts(LockoutCommand),
    /// People who sign in.
    #[command(subcommand)]
    Users(UserCommand),
    /// The audit log: admin changes and security events.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Events, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Args)]
struct AuditListArgs {
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

#[derive(Debug, Subcommand)]
enum ResourceCommand {
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
struct ResourceArgs {
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

#[derive(Debug, Subcommand)]
enum ClientCommand {
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
struct ClientArgs {
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
}

#[derive(Debug, Subcommand)]
enum LockoutCommand {
    /// Accounts and IPs with failed logins, most recent first.
    List,
    /// Clears a counter: a username, `account:<username>` or `ip:<address>`.
    Clear { key: String },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
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

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints their `sub`, the identifier clients see.
    Create {
        /// 1–64 characters of A-Z a-z 0-9 . _ @ -, unique regardless of case.
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// The email address is known to be the user's.
        #[arg(long)]
        email_verified: bool,
        /// Full name, shown on the consent page and in the `name` claim.
        #[arg(long)]
        name: Option<String>,
        /// May use the admin console.
        #[arg(long)]
        admin: bool,
        /// A standard claim (OpenID Connect Core §5.1), e.g. `given_name=Ada`,
        /// `phone_number=+44 20 7946 0958`, `address.locality=London`; repeatable.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Change a user's standard claims; the others stay, an empty value removes one.
    Update {
        username: String,
        /// A standard claim (OpenID Connect Core §5.1), e.g. `locale=en-GB`,
        /// `address.country=UK`, `nickname=` (removes it); repeatable.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
    },
    List,
    Show {
        username: String,
    },
    /// Replace a user's password.
    SetPassword {
        username: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Refuse the user's sign-ins from now on.
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// End every browser session of the user and revoke all their refresh tokens.
    SignOut {
        username: String,
    },
}

/// Where a password comes from. Never a command-line argument: those show in `ps` and in shell
/// history.
#[derive(Debug, Args)]
struct PasswordArg {
    /// Read the password from this environment variable; without it, one line is read from
    /// standard input.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

fn parse_scope_def(raw: &str) -> Result<ScopeDef, String> {
    let (name, description) = raw.split_once('=').unwrap_or((raw, ""));
    Ok(ScopeDef {
        name: name.trim().to_owned(),
        description: description.trim().to_owned(),
    })
}

fn parse_alg(raw: &str) -> Result<SigningAlg, String> {
    raw.parse()
        .map_err(|e: crate::model::UnknownValue| e.to_string())
}

fn parse_grant_type(raw: &str) -> Result<GrantType, String> {
    raw.parse()
        .map_err(|e: crate::model::UnknownValue| e.to_string())
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

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Traces only for the server: management commands are not requests anyone follows.
    let telemetry = if serving && config.otel.enabled() {
        match Telemetry::start(&config.otel, runtime.handle().clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: configuration error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let _log_guard = match init_tracing(&config, serving, telemetry.as_ref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: cannot start the log writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    for name in &config.ignored_env {
        tracing::warn!(
            variable = %name,
            "ignoring an environment variable that names no setting (check its spelling if it \
             was meant as one)"
        );
    }
    match runtime.block_on(run(cli, config, telemetry)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr through a background writer ([`crate::log_writer`]), so request threads
/// only format the line and copy it into a buffer; lines reach stderr within
/// [`crate::log_writer::FLUSH_INTERVAL`] and are never dropped.
/// ANSI colours only on a terminal. The guard writes out what is left when dropped at exit.
/// With `telemetry`, spans are also exported as OpenTelemetry traces.
fn init_tracing(
    config: &Config,
    serving: bool,
    telemetry: Option<&Telemetry>,
) -> Result<crate::log_writer::FlushGuard, CliError> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = crate::log_writer::batched(std::io::stderr())?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let fmt = match config.log.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(telemetry.map(Telemetry::layer))
        .try_init();
    Ok(guard)
}

async fn run(cli: Cli, config: Config, telemetry: Option<Telemetry>) -> Result<(), CliError> {
    let json = cli.json;
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        return serve(config, telemetry).await;
    }
    crate::crypto::install_providers();
    let init = if matches!(command, Command::Migrate) {
        Init::Allowed
    } else {
        Init::Forbidden
    };
    check_database(&config, init)?;
    if let Command::Keys(KeyCommand::Rewrap { generate: true }) = &command {
        let path = crate::app::add_master_key_to_file(&config)?;
        eprintln!("added a new master key at the head of {}", path.display());
    }
    let core = Core::open(config, Arc::new(SystemClock), init).await?;
    let result = match command {
        Command::Serve => Ok(()),
        Command::Migrate => {
            print(
                json,
                &serde_json::json!({"migrated": true}),
                "database is up to date",
            );
            Ok(())
        }
        Command::Resources(c) => resources(&core, c, json).await,
        Command::Clients(c) => clients(&core, *c, json).await,
        Command::Keys(c) => keys(&core, c, json).await,
        Command::Lockouts(c) => lockouts(&core, c, json).await,
        Command::Users(c) => users(&core, c, json).await,
        Command::Audit(AuditCommand::List(a)) => audit_list(&core, a, json).await,
    };
    if let Err(e) = core.audit.flush().await {
        eprintln!("error: {e}");
    }
    core.db.close().await;
    result
}

/// Says which database a management command works on (a relative SQLite path depends on the
/// directory it runs in), and refuses to create a SQLite file: an empty new database beside the
/// server's real one would only hide the mistake.
fn check_database(config: &Config, init: Init) -> Result<(), CliError> {
    let Some(db) = config.sqlite_path() else {
        eprintln!(
            "database: {}",
            crate::store::describe_url(&config.database_url)
        );
        return Ok(());
    };
    let shown = std::path::absolute(&db).unwrap_or_else(|_| db.clone());
    eprintln!("database: {}", shown.display());
    if init == Init::Forbidden && !db.exists() {
        return Err(AppError::Startup(format!(
            "no database at {} (TESSERA_DATABASE_URL={}; a relative path is taken from the \
             current directory): run this command in the server's directory, set \
             TESSERA_DATABASE_URL to the server's database, or create one with `tessera migrate`",
            shown.display(),
            config.database_url
        ))
        .into());
    }
    Ok(())
}

async fn serve(mut config: Config, telemetry: Option<Telemetry>) -> Result<(), CliError> {
    // Held until the server has stopped: a second server on the same file refuses to start.
    let _instance = config
        .sqlite_path()
        .map(|db| crate::store::files::lock_instance(&db))
        .transpose()
        .map_err(AppError::Startup)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| {
            AppError::Startup(format!(
                "TESSERA_BIND: cannot listen on {}: {e}",
                config.bind
            ))
        })?;
    // Port 0 lets the OS choose: an issuer derived from the bind address must name the real port.
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    if config.bind.port() == 0 && config.issuer() == format!("{scheme}://{}", config.bind) {
        config.issuer = Some(format!("{scheme}://{}", listener.local_addr()?));
    }
    let mut app = App::build(config, Arc::new(SystemClock), listener).await?;
    if let Some(telemetry) = telemetry {
        app = app.with_telemetry(telemetry);
    }
    let addr = app.local_addr()?;
    let issuer = app.core.issuer().to_owned();
    tracing::info!(%addr, %issuer, "listening");
    if app.core.clients().await?.is_empty() {
        eprintln!(
            "Tessera listens on {scheme}://{addr} (issuer {issuer}).\n\
             Register a first API and client:\n  \
             tessera resources create https://api.example.com --scope 'read=Read data'\n  \
             tessera clients create --name my-service --resource https://api.example.com"
        );
    }
    app.serve(shutdown_signal()).await?;
    Ok(())
}

/// Prints `value` as JSON with `--json`, else the human text.
fn print<T: Serialize>(json: bool, value: &T, human: impl std::fmt::Display) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        println!("{human}");
    }
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

async fn resources(core: &Core, command: ResourceCommand, json: bool) -> Result<(), CliError> {
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

fn apply_client_args(mut spec: ClientSpec, a: ClientArgs) -> Result<ClientSpec, ServiceError> {
    if let Some(name) = a.name {
        spec.name = name;
    }
    if !a.grant_types.is_empty() {
        spec.grant_types = a.grant_types;
    }
    if !a.resources.is_empty() {
        spec.resources = a.resources;
        spec.scopes = None;
        spec.default_resource = None;
        spec.default_scopes = None;
    }
    if let Some(scopes) = scope_arg("scopes", &a.scopes)? {
        spec.scopes = Some(scopes);
        spec.default_scopes = None;
    }
    if a.default_resource.is_some() {
        spec.default_resource = a.default_resource;
        spec.default_scopes = None;
    }
    if let Some(d) = scope_arg("default_scopes", &a.default_scopes)? {
        spec.default_scopes = Some(d);
    }
    if !a.redirect_uris.is_empty() {
        spec.redirect_uris = a.redirect_uris;
    }
    if a.public {
        spec.public = true;
    }
    if a.auth_method.is_some() {
        spec.auth_method = a.auth_method;
    }
    if a.access_token_ttl.is_some() {
        spec.access_token_ttl = a.access_token_ttl;
    }
    if a.resource_server_for.is_some() {
        spec.resource_server_for = a.resource_server_for;
    }
    if !a.post_logout_redirect_uris.is_empty() {
        spec.post_logout_redirect_uris = a.post_logout_redirect_uris;
    }
    if !a.allowed_origins.is_empty() {
        spec.allowed_origins = a.allowed_origins;
    }
    if a.native {
        spec.application_type = ApplicationType::Native;
    }
    if let Some(alg) = a.id_token_alg {
        spec.id_token_alg = alg;
    }
    if a.first_party {
        spec.first_party = true;
    }
    if a.pkce_optional {
        spec.pkce_required = false;
    }
    if a.offline_preauthorized {
        spec.offline_preauthorized = true;
    }
    if a.admin_api {
        spec.admin_api = true;
    }
    if a.id_token_ttl.is_some() {
        spec.id_token_ttl = a.id_token_ttl;
    }
    if a.refresh_idle_ttl.is_some() {
        spec.refresh_idle_ttl = a.refresh_idle_ttl;
    }
    if a.refresh_absolute_ttl.is_some() {
        spec.refresh_absolute_ttl = a.refresh_absolute_ttl;
    }
    if a.refresh_grace_seconds.is_some() {
        spec.refresh_grace_seconds = a.refresh_grace_seconds;
    }
    Ok(spec)
}

async fn clients(core: &Core, command: ClientCommand, json: bool) -> Result<(), CliError> {
    match command {
        ClientCommand::Create(a) => {
            let name = a.name.clone().ok_or_else(|| ServiceError::Invalid {
                field: "name",
                message: "--name is required".into(),
            })?;
            let spec = apply_client_args(ClientSpec::new(name), a)?;
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
            let existing = core.client(&client_id).await?;
            let mut spec = apply_client_args(ClientSpec::from_client(&existing), args)?;
            if disable {
                spec.disabled = true;
            }
            if enable {
                spec.disabled = false;
            }
            let c = core.update_client(&client_id, spec, &Actor::cli()).await?;
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

async fn lockouts(core: &Core, command: LockoutCommand, json: bool) -> Result<(), CliError> {
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

async fn keys(core: &Core, command: KeyCommand, json: bool) -> Result<(), CliError> {
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

async fn audit_list(core: &Core, a: AuditListArgs, json: bool) -> Result<(), CliError> {
    let filter = crate::store::audit::Filter {
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

fn password_error(message: impl Into<String>) -> CliError {
    ServiceError::Invalid {
        field: "password",
        message: message.into(),
    }
    .into()
}

/// The password from `--password-env VAR`, else the first line of standard input.
fn read_password(arg: &PasswordArg) -> Result<String, CliError> {
    use std::io::{BufRead, IsTerminal, Write};
    if let Some(var) = &arg.password_env {
        return match std::env::var(var) {
            Ok(p) => Ok(p),
            Err(std::env::VarError::NotPresent) => Err(password_error(format!(
                "--password-env names {var}, which is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(password_error(format!("{var} is not valid UTF-8")))
            }
        };
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // No echo suppression without a terminal library: say so rather than surprise.
        eprint!("Password (shown as typed; use --password-env to avoid that): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    if stdin.lock().read_line(&mut line)? == 0 {
        return Err(password_error(
            "none given: pass --password-env VAR or write it on standard input",
        ));
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

fn describe_user(u: &crate::model::User) -> String {
    format!(
        "{}\n  sub: {}\n  email: {}{}\n  name: {}\n  admin: {}\n  disabled: {}",
        escape(&u.username),
        escape(&u.sub),
        escape(u.email.as_deref().unwrap_or("-")),
        if u.email_verified { " (verified)" } else { "" },
        escape(u.name.as_deref().unwrap_or("-")),
        u.admin,
        u.disabled
    )
}

async fn users(core: &Core, command: UserCommand, json: bool) -> Result<(), CliError> {
    match command {
        UserCommand::Create {
            username,
            email,
            email_verified,
            name,
            admin,
            claims,
            password,
        } => {
            let password = read_password(&password)?;
            let spec = UserSpec {
                username,
                email,
                email_verified,
                name,
                admin,
                claims: apply_settings(UserClaims::default(), &claims)?,
            };
            let u = core.create_user(spec, &password, &Actor::cli()).await?;
            print(json, &u, format!("created user {}", describe_user(&u)));
        }
        UserCommand::List => {
            let all = core.users().await?;
            let text: Vec<String> = all.iter().map(describe_user).collect();
            print(json, &all, text.join("\n"));
        }
        UserCommand::Show { username } => {
            let u = core
                .user_by_username(&username)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))?;
            print(json, &u, describe_user(&u));
        }
        UserCommand::SetPassword { username, password } => {
            let password = read_password(&password)?;
            core.set_user_password(&username, &password, &Actor::cli())
                .await?;
            print(
                json,
                &serde_json::json!({"username": username, "password_changed": true}),
                format!("changed the password of {username}"),
            );
        }
        UserCommand::Disable { username } => set_disabled(core, &username, true, json).await?,
        UserCommand::Enable { username } => set_disabled(core, &username, false, json).await?,
        UserCommand::Update { username, claims } => {
            let u = core
                .user_by_username(&username)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))?;
            let claims = apply_settings(u.claims, &claims)?;
            let u = core
                .update_user_claims(&u.sub, claims, &Actor::cli())
                .await?;
            print(json, &u, format!("updated user {}", describe_user(&u)));
        }
        UserCommand::SignOut { username } => {
            let u = core
                .user_by_username(&username)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))?;
            core.sign_out_everywhere(&u.sub, &Actor::cli()).await?;
            print(
                json,
                &serde_json::json!({"username": u.username, "signed_out": true}),
                format!("signed {} out everywhere", u.username),
            );
        }
    }
    Ok(())
}

async fn set_disabled(
    core: &Core,
    username: &str,
    disable: bool,
    json: bool,
) -> Result<(), CliError> {
    let u = core
        .set_user_disabled(username, disable, &Actor::cli())
        .await?;
    let verb = if disable { "disabled" } else { "enabled" };
    print(json, &u, format!("{verb} user {}", describe_user(&u)));
    Ok(())
}
