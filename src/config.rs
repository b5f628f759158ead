//! Command-line flags and `KEYWARD_…` environment variables, and the runtime configuration they produce.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::db::{DatabaseUrl, DbError};
use crate::domain::lockout::LockoutPolicy;
use crate::domain::role::ConsoleRole;

#[derive(Debug, Parser)]
#[command(name = "keyward", version, about = "API key management console and key verification service")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `keyward` alone serves, with these flags.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Directory for the SQLite database, the master key and the cookie key (created on first run).
    #[arg(long, env = "KEYWARD_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite://<path>` or `postgres://…`. Default: sqlite://<data-dir>/keyward.db
    #[arg(long, env = "KEYWARD_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Master keyring (`1:<base64 32 bytes>`, comma-separated versions). Default: <data-dir>/master.key
    #[arg(long, env = "KEYWARD_MASTER_KEY", global = true, hide_env_values = true)]
    pub master_key: Option<String>,
    /// Log filter, e.g. `info` or `keyward=debug,actix_web=info`.
    #[arg(long, env = "KEYWARD_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web console and the verification API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Console administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Console accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The master key that seals stored secrets.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Reports for auditors, written as CSV to stdout.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Starter catalogues of permissions and roles (never people or keys).
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Load demo data: a few people and as many keys as asked for (in the first workspace).
    Demo {
        /// How many keys to add.
        #[arg(long, default_value_t = 50)]
        keys: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Every key with owner, type, roles, dates, secret age and rotation status (as the console's
    /// credential report).
    Credentials {
        /// The workspace's id; default: the first workspace.
        #[arg(long)]
        workspace: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// List the starter catalogues.
    List,
    /// Add a starter catalogue's permissions and roles that the workspace does not have yet.
    Add {
        /// `device-actions` or `lorawan` (see `keyward catalogue list`).
        name: String,
        /// The workspace's id; default: the first workspace.
        #[arg(long)]
        workspace: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Add a new master-key version and re-seal every stored secret under it, in one transaction.
    /// Old versions stay in the key file until `--retire-old`: restart every instance first, since a
    /// running server keeps sealing with the version it loaded.
    Rotate {
        /// Re-seal anything still under an old version, then remove old versions from the key file.
        #[arg(long)]
        retire_old: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key in the owner's workspace and print it once on stdout (and nothing else there),
    /// for bootstrapping automation.
    Create {
        /// Email of the owning account.
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        /// Role name, e.g. ADMIN or READONLY; repeat for several.
        #[arg(long, required = true)]
        role: Vec<String>,
        /// Key type name.
        #[arg(long = "type", default_value = "Integration")]
        key_type: String,
        /// Identifying field value, for types that have one.
        #[arg(long)]
        identifier: Option<String>,
        /// Last valid day (YYYY-MM-DD, UTC); default: never expires.
        #[arg(long)]
        expires: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an Administrator (and the first workspace when there is none).
    /// The password comes from KEYWARD_ADMIN_PASSWORD, else it is prompted for.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Unlock an account locked by repeated failed sign-ins.
    Unlock { email: String },
    /// Set a new password (from KEYWARD_NEW_PASSWORD, else prompted); ends the account's sessions and unlocks it.
    ResetPassword { email: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecureCookies {
    /// Secure unless listening on a loopback address.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "KEYWARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL people use to reach the console, for printed links. Default: http://<listen>
    #[arg(long, env = "KEYWARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Session cookie key (base64 of at least 64 bytes). Default: <data-dir>/cookie.key
    #[arg(long, env = "KEYWARD_COOKIE_KEY", hide_env_values = true)]
    pub cookie_key: Option<String>,
    /// Mark cookies Secure (HTTPS only).
    #[arg(long, env = "KEYWARD_SECURE_COOKIES", value_enum, default_value = "auto")]
    pub secure_cookies: SecureCookies,
    /// Minutes without a request after which a console session ends.
    #[arg(long, env = "KEYWARD_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub session_idle_minutes: u32,
    /// Hours after sign-in after which a console session ends, however active.
    #[arg(long, env = "KEYWARD_SESSION_LIFETIME_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_lifetime_hours: u32,
    /// Consecutive failed sign-ins that lock an account (1–100).
    #[arg(long, env = "KEYWARD_LOCKOUT_THRESHOLD", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub lockout_threshold: u32,
    /// Trust X-Forwarded-For / Forwarded from a reverse proxy for the client address.
    #[arg(long, env = "KEYWARD_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "KEYWARD_WORKERS")]
    pub workers: Option<usize>,
    /// Maximum database connections in the pool.
    #[arg(long, env = "KEYWARD_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
    /// Verified keys kept in memory (0 turns the verification cache off).
    #[arg(long, env = "KEYWARD_CACHE_CAPACITY", default_value_t = 200_000)]
    pub cache_capacity: usize,
    /// Seconds a cached verification lives at most: the bound on how long a change made by another
    /// instance can go unseen here (changes made on this instance apply at once).
    #[arg(long, env = "KEYWARD_CACHE_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub cache_ttl_secs: u32,
    /// Seconds between runs of the reminder job (expiry, rotation and overlap notices); 0 turns it off
    /// on this instance.
    #[arg(long, env = "KEYWARD_REMINDERS_EVERY_SECS", default_value_t = 60)]
    pub reminders_every_secs: u64,
    /// Seconds between runs of the webhook delivery job; 0 turns it off on this instance.
    #[arg(long, env = "KEYWARD_WEBHOOKS_EVERY_SECS", default_value_t = 5)]
    pub webhooks_every_secs: u64,
    /// Seconds a request body may take to arrive in all; later, the request is answered 408.
    #[arg(long, env = "KEYWARD_BODY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// Let webhooks reach loopback, private and link-local addresses (internal receivers). Off: a
    /// workspace Administrator could otherwise make keyward call into the operator's network.
    #[arg(long, env = "KEYWARD_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false)]
    pub webhooks_allow_private: bool,
    /// OpenID Connect issuer for single sign-on (discovered at <issuer>/.well-known/openid-configuration).
    /// Single sign-on is off when unset.
    #[arg(long, env = "KEYWARD_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id registered with the provider.
    #[arg(long, env = "KEYWARD_OIDC_CLIENT_ID", default_value = "keyward")]
    pub oidc_client_id: String,
    /// The client secret registered with the provider.
    #[arg(long, env = "KEYWARD_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The provider's name on the sign-in button ("Sign in with …").
    #[arg(long, env = "KEYWARD_OIDC_LABEL", default_value = "single sign-on")]
    pub oidc_label: String,
    /// Console roles for accounts made at their first single sign-on, from the provider's `groups`
    /// claim: "group=role,…" (role: admin, auditor or member; the first match wins; default Member).
    #[arg(long, env = "KEYWARD_OIDC_GROUP_ROLES", default_value = "", value_parser = GroupRoles::parse)]
    pub oidc_group_roles: GroupRoles,
    /// Refuse password sign-in to accounts that have signed in with single sign-on.
    #[arg(long, env = "KEYWARD_OIDC_PASSWORDS_OFF", default_value_t = false)]
    pub oidc_passwords_off: bool,
    /// SMTP server for email: smtp://[user:password@]host[:587] (STARTTLS), smtps://…[:465] (TLS), or
    /// smtp://host:port?tls=none (a relay on loopback). Email is off when unset.
    #[arg(long, env = "KEYWARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of keyward's email, e.g. "Keyward <keyward@example.com>"; required with KEYWARD_SMTP_URL.
    #[arg(long, env = "KEYWARD_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Seconds between runs of the email job (the outbox and daily digests); 0 turns it off on this instance.
    #[arg(long, env = "KEYWARD_EMAIL_EVERY_SECS", default_value_t = 5)]
    pub email_every_secs: u64,
}

/// Where email goes out: `KEYWARD_SMTP_URL` (secret: it may hold a password) and `KEYWARD_SMTP_FROM`.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig").field("from", &self.from).finish_non_exhaustive()
    }
}

/// Provider groups and the console role each gives, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRoles(pub Vec<(String, ConsoleRole)>);

impl GroupRoles {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for entry in input.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (group, role) = entry.split_once('=').ok_or_else(|| format!("{entry:?}: write group=role"))?;
            let role =
                ConsoleRole::parse(role).ok_or_else(|| format!("{entry:?}: the role is admin, auditor or member"))?;
            pairs.push((group.trim().to_owned(), role));
        }
        Ok(Self(pairs))
    }

    /// The role the first listed group the person is in gives, if any.
    pub fn role_for(&self, groups: &[String]) -> Option<ConsoleRole> {
        self.0.iter().find(|(g, _)| groups.iter().any(|have| have == g)).map(|(_, role)| *role)
    }
}

/// Single sign-on with an OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub label: String,
    pub group_roles: GroupRoles,
    pub passwords_off: bool,
}

/// Everything the server needs to start, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub master_key: Option<String>,
    pub cookie_key: Option<String>,
    pub secure_cookies: bool,
    pub session_idle_secs: i64,
    pub session_lifetime_secs: i64,
    pub lockout: LockoutPolicy,
    pub trust_proxy: bool,
    pub workers: usize,
    pub db_pool_size: u32,
    pub cache_capacity: usize,
    pub cache_ttl_secs: i64,
    pub reminders_every_secs: u64,
    pub webhooks_every_secs: u64,
    pub webhooks_allow_private: bool,
    pub body_timeout_secs: u64,
    pub oidc: Option<OidcConfig>,
    /// Email is off when `None`; a URL without a sender is refused at start.
    pub smtp: Option<SmtpConfig>,
    pub email_every_secs: u64,
}

impl GlobalArgs {
    pub fn database(&self) -> Result<DatabaseUrl, DbError> {
        match &self.database_url {
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::sqlite_in(&self.data_dir)),
        }
    }
}

impl Config {
    pub fn from_args(global: &GlobalArgs, serve: &ServeArgs) -> Result<Self, DbError> {
        let secure_cookies = match serve.secure_cookies {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => !serve.listen.ip().is_loopback(),
        };
        Ok(Self {
            listen: serve.listen,
            public_url: serve
                .public_url
                .clone()
                .map_or_else(|| format!("http://{}", serve.listen), |u| u.trim_end_matches('/').to_owned()),
            data_dir: global.data_dir.clone(),
            database: global.database()?,
            master_key: global.master_key.clone(),
            cookie_key: serve.cookie_key.clone(),
            secure_cookies,
            session_idle_secs: i64::from(serve.session_idle_minutes) * 60,
            session_lifetime_secs: i64::from(serve.session_lifetime_hours) * 3600,
            lockout: LockoutPolicy::new(serve.lockout_threshold),
            trust_proxy: serve.trust_proxy,
            workers: serve.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
            db_pool_size: serve.db_pool_size.max(2),
            cache_capacity: serve.cache_capacity,
            cache_ttl_secs: i64::from(serve.cache_ttl_secs),
            reminders_every_secs: serve.reminders_every_secs,
            webhooks_every_secs: serve.webhooks_every_secs,
            webhooks_allow_private: serve.webhooks_allow_private,
            body_timeout_secs: serve.body_timeout_secs,
            oidc: serve.oidc_issuer.as_ref().map(|issuer| OidcConfig {
                issuer: issuer.trim_end_matches('/').to_owned(),
                client_id: serve.oidc_client_id.clone(),
                client_secret: serve.oidc_client_secret.clone(),
                label: serve.oidc_label.clone(),
                group_roles: serve.oidc_group_roles.clone(),
                passwords_off: serve.oidc_passwords_off,
            }),
            smtp: serve
                .smtp_url
                .as_ref()
                .filter(|u| !u.trim().is_empty())
                .map(|url| SmtpConfig { url: url.clone(), from: serve.smtp_from.clone().unwrap_or_default() }),
            email_every_secs: serve.email_every_secs,
        })
    }

    /// Defaults for a data directory and database, as `keyward serve` would use them.
    pub fn with_defaults(data_dir: PathBuf, database: DatabaseUrl) -> Self {
        let global = GlobalArgs { data_dir, database_url: None, master_key: None, log: "info".into() };
        let serve = Cli::parse_from(["keyward"]).serve;
        let mut config = Self::from_args(&global, &serve).unwrap_or_else(|_| unreachable!("no URL to parse"));
        config.database = database;
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keyward_serves_on_loopback_with_sqlite_in_the_data_dir() {
        let cli = Cli::parse_from(["keyward"]);
        assert!(cli.command.is_none());
        let config = Config::from_args(&cli.global, &cli.serve).ok();
        let config = config.as_ref();
        assert_eq!(config.map(|c| c.listen.to_string()), Some("127.0.0.1:8080".into()));
        assert_eq!(config.map(|c| c.secure_cookies), Some(false));
        assert_eq!(config.map(|c| format!("{:?}", c.database)), Some("sqlite://./data/keyward.db".into()));
    }

    #[test]
    fn serve_flags_work_after_the_subcommand_too() {
        let cli = Cli::parse_from(["keyward", "serve", "--listen", "0.0.0.0:9000", "--data-dir", "/tmp/k"]);
        let Some(Command::Serve(serve)) = cli.command else { panic!("expected serve") };
        let config = Config::from_args(&cli.global, &serve).ok();
        assert_eq!(config.as_ref().map(|c| c.secure_cookies), Some(true));
        assert_eq!(config.map(|c| c.data_dir), Some(PathBuf::from("/tmp/k")));
    }

    #[test]
    fn group_roles_are_read_in_order_and_refused_when_unclear() {
        let roles = GroupRoles::parse(" admins = admin , ops=Auditor,").expect("valid");
        assert_eq!(roles.role_for(&["ops".into(), "admins".into()]), Some(ConsoleRole::Administrator));
        assert_eq!(roles.role_for(&["ops".into()]), Some(ConsoleRole::Auditor));
        assert_eq!(roles.role_for(&["staff".into()]), None);
        assert!(GroupRoles::parse("admins").is_err());
        assert!(GroupRoles::parse("admins=root").is_err());
        assert!(Cli::try_parse_from(["keyward", "--oidc-group-roles", "x=boss"]).is_err(), "refused at start");
    }

    #[test]
    fn the_lockout_threshold_is_bounded() {
        assert!(Cli::try_parse_from(["keyward", "--lockout-threshold", "101"]).is_err());
    }
}
