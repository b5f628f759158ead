//! The operator's commands. Everything but `serve` opens the database, does one thing, and exits.

use std::io::IsTerminal as _;

use crate::clock::Clock;
use crate::config::{
    AccountCommand, AdminCommand, CatalogueCommand, Cli, Command, Config, KeyCommand, MasterKeyCommand, ReportCommand,
    ServeArgs,
};
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
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
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
            let password = read_secret("KEYWARD_ADMIN_PASSWORD", "Password for the new administrator")?;
            let form = NewUserForm {
                email,
                name,
                role: "admin".into(),
                password: password.clone(),
                confirm: password,
                permissions: Vec::new(),
                invite: false,
            };
            let origin = Origin { actor: Actor::System("command line"), ip: None };
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let id = runtime.block_on(accounts::create_user(&state, origin, None, form))?;
            eprintln!("administrator created (account id {id})");
            Ok(())
        }
        Command::MasterKey(MasterKeyCommand::Rotate { retire_old }) => {
            rotate_master_key(config(&cli.serve)?, retire_old)
        }
        Command::Demo { keys } => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let started = std::time::Instant::now();
            let report = crate::services::demo::load(&state, keys)?;
            eprintln!(
                "demo data loaded: {} new accounts, {} keys in {:.1} s",
                report.accounts,
                report.keys,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Catalogue(CatalogueCommand::List) => {
            for s in &crate::services::catalogues::STARTERS {
                println!("{}\t{}", s.code, s.title);
            }
            Ok(())
        }
        Command::Catalogue(CatalogueCommand::Add { name, workspace }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let caller = command_line_caller(&state, workspace)?;
            let applied = crate::services::catalogues::apply(&state, &caller, &name).map_err(|e| match e {
                crate::error::Error::NotFound => {
                    CliError::Input(format!("no catalogue {name}; `keyward catalogue list` names them"))
                }
                other => other.into(),
            })?;
            eprintln!(
                "{name}: {} permissions and {} roles added, {} key types restricted",
                applied.permissions, applied.roles, applied.restricted
            );
            Ok(())
        }
        Command::Report(ReportCommand::Credentials { workspace }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let caller = command_line_caller(&state, workspace)?;
            let csv = crate::services::keys::credential_report(&state, &caller)?;
            use std::io::Write as _;
            std::io::stdout().write_all(&csv).map_err(|e| CliError::Input(format!("cannot write the report: {e}")))?;
            Ok(())
        }
        Command::Key(command) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            create_key(&state, command)
        }
        Command::Account(AccountCommand::Unlock { email }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let email = Email::parse(&email).map_err(|e| CliError::Input(e.message))?;
            let id =
                accounts::id_by_email(&state, &email).map_err(|_| CliError::Input(format!("no account {email}")))?;
            accounts::unlock(&state, &Origin { actor: Actor::System("command line"), ip: None }, None, id)?;
            eprintln!("{email} unlocked");
            Ok(())
        }
        Command::Account(AccountCommand::ResetPassword { email }) => {
            let state = open_state(config(&cli.serve)?, Clock::System)?;
            let email = Email::parse(&email).map_err(|e| CliError::Input(e.message))?;
            let password = read_secret("KEYWARD_NEW_PASSWORD", &format!("New password for {email}"))?;
            let password = NewPassword::parse(password.expose(), password.expose(), email.as_str())
                .map_err(|e| CliError::Input(e.message))?;
            accounts::reset_password(
                &state,
                &Origin { actor: Actor::System("command line"), ip: None },
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

/// `keyward key create`: the new key is the only thing written to stdout.
fn create_key(state: &crate::state::AppState, command: KeyCommand) -> Result<(), CliError> {
    let KeyCommand::Create { owner, name, role, key_type, identifier, expires } = command;
    let email = Email::parse(&owner).map_err(|e| CliError::Input(e.message))?;
    let input = |message: String| crate::error::Error::from(crate::domain::Invalid::new("input", message));
    let (workspace, owner_id, role_ids, type_id) = state
        .db
        .read(|c| {
            let account =
                crate::db::accounts::find_by_email(c, &email)?.ok_or_else(|| input(format!("no account {email}")))?;
            let workspace = crate::db::workspaces::home_of(c, account.id)?
                .ok_or_else(|| input(format!("{email} is not a member of any workspace")))?;
            let mut role_ids = Vec::new();
            for r in &role {
                let found = crate::db::roles::find_by_name(c, workspace.id, r)?
                    .ok_or_else(|| input(format!("no role {r:?} in workspace {}", workspace.name)))?;
                role_ids.push(found.id);
            }
            let key_type = crate::db::key_types::find_by_name(c, workspace.id, &key_type)?
                .ok_or_else(|| input(format!("no key type {key_type:?} in workspace {}", workspace.name)))?;
            Ok::<_, crate::error::Error>((workspace.id, account.id, role_ids, key_type.id))
        })
        .map_err(cli_input)?;
    let form = crate::services::keys::KeyForm {
        name,
        key_type: type_id.to_string(),
        identifier: identifier.unwrap_or_default(),
        owner: owner_id.to_string(),
        roles: role_ids,
        expiry: if expires.is_some() { "date".into() } else { "never".into() },
        expires_on: expires.unwrap_or_default(),
        ..Default::default()
    };
    let caller = crate::services::Caller {
        workspace_id: workspace,
        account_id: None,
        role: crate::domain::role::ConsoleRole::Administrator,
        origin: Origin { actor: Actor::System("command line"), ip: None },
    };
    let created = crate::services::keys::create(state, &caller, &form).map_err(cli_input)?;
    println!("{}", created.secret.expose());
    eprintln!("key {} created (id {})", created.name, created.id);
    Ok(())
}

/// The command line acting as an Administrator of `workspace` (default: the first workspace).
fn command_line_caller(
    state: &crate::state::AppState,
    workspace: Option<i64>,
) -> Result<crate::services::Caller, CliError> {
    let workspace_id = match workspace {
        Some(id) => state
            .db
            .read(|c| crate::db::workspaces::find(c, id))?
            .map(|w| w.id)
            .ok_or_else(|| CliError::Input(format!("there is no workspace {id}")))?,
        None => state
            .db
            .read(crate::db::workspaces::first)?
            .map(|w| w.id)
            .ok_or_else(|| CliError::Input("there is no workspace yet".into()))?,
    };
    Ok(crate::services::Caller {
        workspace_id,
        account_id: None,
        role: crate::domain::role::ConsoleRole::Administrator,
        origin: Origin { actor: Actor::System("command line"), ip: None },
    })
}

/// `keyward master-key rotate [--retire-old]`.
fn rotate_master_key(config: Config, retire_old: bool) -> Result<(), CliError> {
    use crate::crypto::keyring::{Keyring, replace_private_file};
    let io = |e: std::io::Error| CliError::Input(format!("master key file: {e}"));
    if config.master_key.is_some() {
        // The keyring lives in the environment, which this command cannot change: re-seal under the
        // newest version it holds.
        let state = open_state(config, Clock::System)?;
        let done = crate::services::master_key::reseal_all(&state, &state.keyring)?;
        eprintln!(
            "re-sealed {} key secrets, {} two-factor secrets and {} shared secrets under version {} of KEYWARD_MASTER_KEY;              to rotate, add a new version there (e.g. 1:…,2:…), restart, and run this again",
            done.key_secrets,
            done.totp_secrets,
            done.shared_secrets,
            state.keyring.current_version()
        );
        return Ok(());
    }
    let path = config.data_dir.join("master.key");
    if !retire_old {
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let (_, new_text) =
            Keyring::parse(&text).and_then(|ring| ring.with_new_version(&text)).map_err(StartError::from)?;
        replace_private_file(&path, new_text.as_bytes()).map_err(io)?;
    }
    let state = open_state(config, Clock::System)?;
    let done = crate::services::master_key::reseal_all(&state, &state.keyring)?;
    let version = state.keyring.current_version();
    if retire_old {
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let newest = Keyring::retain_newest(&text).map_err(StartError::from)?;
        replace_private_file(&path, newest.as_bytes()).map_err(io)?;
        eprintln!(
            "re-sealed {} secrets; the master key file now holds only version {version}",
            done.key_secrets + done.totp_secrets + done.shared_secrets
        );
    } else {
        eprintln!(
            "master key version {version} added; re-sealed {} key secrets, {} two-factor secrets and {} shared secrets. \
             Restart every instance, then run `keyward master-key rotate --retire-old` to drop the old versions.",
            done.key_secrets, done.totp_secrets, done.shared_secrets
        );
    }
    Ok(())
}

/// Input errors read as messages on the command line.
fn cli_input(e: crate::error::Error) -> CliError {
    match e {
        crate::error::Error::Invalid(invalid) => CliError::Input(invalid.message),
        other => other.into(),
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
        return Err(CliError::Input(format!("set {env}, or run this at a terminal to be asked")));
    }
    let first = rpassword::prompt_password(format!("{prompt}: "))?;
    let again = rpassword::prompt_password("Repeat it: ")?;
    if first != again {
        return Err(CliError::Input("the two entries differ".into()));
    }
    Ok(SecretString::new(first))
}
