//! The command line: `serve` (default), `migrate`, management of resources, clients, users and
//! keys through the service layer, and the audit log. Every command prints JSON with `--json`.

mod audit;
mod clients;
mod keys;
mod lockouts;
mod resources;
mod serve;
mod users;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::app::Init;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::error::AppError;
use crate::model::SigningAlg;
use crate::service::ServiceError;
use crate::state::Core;
use crate::telemetry::Telemetry;
use audit::AuditCommand;
use clients::ClientCommand;
use keys::KeyCommand;
use lockouts::LockoutCommand;
use resources::ResourceCommand;
use serve::{init_tracing, serve};
use users::UserCommand;

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

fn parse_alg(raw: &str) -> Result<SigningAlg, String> {
    raw.parse()
        .map_err(|e: crate::model::UnknownValue| e.to_string())
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
        Command::Resources(c) => resources::run(&core, c, json).await,
        Command::Clients(c) => clients::run(&core, *c, json).await,
        Command::Keys(c) => keys::run(&core, c, json).await,
        Command::Lockouts(c) => lockouts::run(&core, c, json).await,
        Command::Users(c) => users::run(&core, c, json).await,
        Command::Audit(AuditCommand::List(a)) => audit::run(&core, a, json).await,
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
