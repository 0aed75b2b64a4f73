//! `tessera users …`: people who sign in.

use clap::{Args, Subcommand};

use super::{CliError, print};
use crate::model::{Actor, UserClaims};
use crate::service::ServiceError;
use crate::service::user_claims::apply_settings;
use crate::service::users::UserSpec;
use crate::state::Core;
use crate::terminal::escape;

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
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
pub(super) struct PasswordArg {
    /// Read the password from this environment variable; without it, one line is read from
    /// standard input.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
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

pub(super) async fn run(core: &Core, command: UserCommand, json: bool) -> Result<(), CliError> {
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
