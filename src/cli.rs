//! The operator's commands. Everything but `serve` opens the database, does one thing, and exits.

use std::io::IsTerminal as _;

use crate::clock::Clock;
use crate::config::{AccountCommand, AdminCommand, Cli, Command, Config, ServeArgs};
use crate::crypto::SecretString;
use crate::domain::audit::Actor;
use crate::domain::email::Email;
use crate::domain::password::NewPassword;
use crate::services::accounts::{self, NewUserForm, Origin};
use crate::startup::{Application, StartError, open_state};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Service(#[from] crate::error::Error),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Logs go to stderr, so stdout stays clean for output meant for scripts.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli.command.unwrap_or(Command::Serve(cli.serve.clone()));
    let config = |serve: &ServeArgs| Config::from_args(&cli.global, serve);
    match command {
        Command::Serve(serve) => serve_forever(config(&serve)?),
        Command::Migrate => {
            open_state(config(&cli.serve)?, Clock::System)?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, name }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let password = read_secret(
                "KEYWARD_ADMIN_PASSWORD",
                "Password for the new administrator",
            )?;
            let form = NewUserForm {
                email,
                name,
                role: "admin".into(),
                password: password.clone(),
                confirm: password,
            };
            let origin = Origin {
                actor: Actor::System("command line"),
                ip: None,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let id = runtime.block_on(accounts::create_user(&state, origin, None, form))?;
            eprintln!("administrator created (account id {id})");
            Ok(())
        }
        Command::Account(AccountCommand::Unlock { email }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let email = Email::parse(&email).map_err(|e| CliError::Input(e.message))?;
            let id = accounts::id_by_email(&state, &email)
                .map_err(|_| CliError::Input(format!("no account {email}")))?;
            accounts::unlock(
                &state,
                &Origin {
                    actor: Actor::System("command line"),
                    ip: None,
                },
                None,
                id,
            )?;
            eprintln!("{email} unlocked");
            Ok(())
        }
        Command::Account(AccountCommand::ResetPassword { email }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let email = Email::parse(&email).map_err(|e| CliError::Input(e.message))?;
            let password =
                read_secret("KEYWARD_NEW_PASSWORD", &format!("New password for {email}"))?;
            let password = NewPassword::parse(password.expose(), password.expose(), email.as_str())
                .map_err(|e| CliError::Input(e.message))?;
            accounts::reset_password(
                &state,
                &Origin {
                    actor: Actor::System("command line"),
                    ip: None,
                },
                &email,
                &password,
            )
            .map_err(|e| match e {
                crate::error::Error::NotFound => CliError::Input(format!("no account {email}")),
                other => other.into(),
            })?;
            eprintln!("password of {email} reset; its sessions have ended");
            Ok(())
        }
    }
}

fn serve_forever(config: Config) -> Result<(), CliError> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config.clone(), Clock::System)?;
        tracing::info!(listen = %config.listen, database = ?config.database, "keyward is serving");
        app.run_until_stopped().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// A secret from the environment, or typed at a terminal (twice), never echoed.
fn read_secret(env: &str, prompt: &str) -> Result<SecretString, CliError> {
    if let Ok(value) = std::env::var(env) {
        return Ok(SecretString::new(value));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Input(format!(
            "set {env}, or run this at a terminal to be asked"
        )));
    }
    let first = rpassword::prompt_password(format!("{prompt}: "))?;
    let again = rpassword::prompt_password("Repeat it: ")?;
    if first != again {
        return Err(CliError::Input("the two entries differ".into()));
    }
    Ok(SecretString::new(first))
}
