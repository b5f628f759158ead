//! Building the application: used by `main` and by the tests alike (they listen on port 0).

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::keyring::write_private_file;
use crate::crypto::{Keyring, PasswordService, random_token};
use crate::db::{Database, accounts};
use crate::memory::throttle::IpThrottle;
use crate::state::AppState;

/// Failed sign-ins one client address may make per window before it must wait.
const IP_FAILURES_PER_WINDOW: u32 = 30;
const IP_WINDOW_SECS: i64 = 15 * 60;
const MAX_FORM_BODY: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Keyring(#[from] crate::crypto::KeyringError),
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cookie key: {0}")]
    CookieKey(String),
    #[error(transparent)]
    Service(#[from] crate::error::Error),
    #[error("email: {0}")]
    Email(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

/// Opens the data directory, database and keys: what every command needs.
pub fn open_state(config: Config, clock: Clock) -> Result<AppState, StartError> {
    create_data_dir(&config)?;
    let keyring = match &config.master_key {
        Some(text) => Keyring::parse(text)?,
        None => Keyring::load_or_create(&config.data_dir.join("master.key"))?,
    };
    let db = Database::open(config.database.clone(), config.db_pool_size)?;
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let cache = crate::memory::verify_cache::VerifyCache::new(config.cache_capacity, config.cache_ttl_secs);
    let smtp = match &config.smtp {
        Some(smtp) if smtp.from.trim().is_empty() => {
            return Err(StartError::Email("KEYWARD_SMTP_URL is set: set KEYWARD_SMTP_FROM too".into()));
        }
        Some(smtp) => Some(Arc::new(crate::mail::Smtp::new(&smtp.url, &smtp.from).map_err(StartError::Email)?)),
        None => None,
    };
    Ok(AppState {
        smtp,
        config: Arc::new(config),
        db,
        clock,
        passwords: PasswordService::new(workers),
        keyring: Arc::new(keyring),
        ip_throttle: Arc::new(IpThrottle::new(IP_FAILURES_PER_WINDOW, IP_WINDOW_SECS)),
        unknown_emails: Arc::default(),
        link_requests: Arc::default(),
        usage: Arc::default(),
        uploads: Arc::default(),
        verify_cache: Arc::new(cache),
        lookups: Arc::default(),
        metrics: Arc::default(),
        signing: Arc::default(),
        http: Arc::default(),
        setup_token: Arc::new(Mutex::new(None)),
        sso: Arc::default(),
    })
}

/// Creates the data directory readable by the service's user alone (0700): it holds the master key, the
/// cookie key and, on SQLite, the password hashes. An existing directory is narrowed to 0700 too.
fn create_data_dir(config: &Config) -> Result<(), StartError> {
    use std::os::unix::fs::PermissionsExt as _;
    let error = |source| StartError::DataDir { path: config.data_dir.display().to_string(), source };
    std::fs::create_dir_all(&config.data_dir).map_err(error)?;
    std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700)).map_err(error)
}

fn cookie_key(config: &Config) -> Result<Key, StartError> {
    create_data_dir(config)?;
    let bad = |m: &str| StartError::CookieKey(m.to_owned());
    let encoded = match &config.cookie_key {
        Some(text) => text.trim().to_owned(),
        None => {
            let path = config.data_dir.join("cookie.key");
            match std::fs::read_to_string(&path) {
                Ok(text) => text.trim().to_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_cookie_key(&path)?,
                Err(e) => {
                    return Err(StartError::DataDir { path: path.display().to_string(), source: e });
                }
            }
        }
    };
    let bytes = B64.decode(encoded).map_err(|_| bad("not valid base64"))?;
    Key::try_from(bytes.as_slice()).map_err(|_| bad("must be at least 64 bytes"))
}

fn create_cookie_key(path: &Path) -> Result<String, StartError> {
    let encoded = B64.encode(crate::crypto::random_bytes::<64>());
    write_private_file(path, format!("{encoded}\n").as_bytes())
        .map_err(|source| StartError::DataDir { path: path.display().to_string(), source })?;
    Ok(encoded)
}

impl Application {
    pub fn build(config: Config, clock: Clock) -> Result<Self, StartError> {
        crate::limit_malloc_arenas();
        let listener = TcpListener::bind(config.listen)
            .map_err(|source| StartError::Listen { addr: config.listen.to_string(), source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Listen { addr: config.listen.to_string(), source })?
            .port();
        let mut config = config;
        if config.public_url.ends_with(":0") {
            // Listening on port 0: links name the port actually bound.
            config.public_url = format!("{}{port}", config.public_url.trim_end_matches('0'));
        }
        let key = cookie_key(&config)?;
        let state = open_state(config, clock)?;
        // Before anything is cached: from here on, changes made elsewhere reach this instance.
        state.db.watch_changes()?;
        crate::services::shared_secret::ensure_all(&state)?;

        if state.db.read(accounts::count)? == 0 {
            let token = random_token();
            let base = &state.config.public_url;
            tracing::warn!("no account exists yet: create the first administrator at {base}/setup?token={token}");
            *state.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        }

        let secure = state.config.secure_cookies;
        let workers = state.config.workers;
        let data = actix_web::web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_name("keyward_session".to_owned())
                .cookie_secure(secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Strict)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default())
                .build();
            App::new()
                .app_data(data.clone())
                .app_data(web::FormConfig::default().limit(MAX_FORM_BODY))
                .app_data(crate::api::error::json_config())
                .app_data(crate::api::error::path_config())
                .app_data(crate::api::error::query_config())
                .configure(crate::api::routes)
                .configure(crate::console::routes)
                .default_service(web::to(not_found))
                .wrap(from_fn(crate::console::csrf::protect))
                .wrap(from_fn(crate::http::headers::body_deadline))
                .wrap(session)
                .wrap(from_fn(crate::console::error::htmx_errors))
                .wrap(from_fn(crate::http::headers::security_headers))
                .wrap(from_fn(crate::http::headers::request_log))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)
        .map_err(|source| StartError::Listen { addr: "listener".into(), source })?
        .run();
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The live first-run token, while no account exists.
    pub fn setup_token(&self) -> Option<String> {
        self.state.setup_token.lock().ok().and_then(|t| t.clone())
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (up to 10 s), writes the last
    /// gathered key usage, and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let flusher = tokio::spawn(crate::jobs::flush_usage_periodically(self.state.clone()));
        let secrets = tokio::spawn(crate::jobs::reload_secrets_periodically(self.state.clone()));
        let reminders = tokio::spawn(crate::jobs::send_reminders_periodically(self.state.clone()));
        let webhooks = tokio::spawn(crate::jobs::deliver_webhooks_periodically(self.state.clone()));
        let email = tokio::spawn(crate::jobs::send_email_periodically(self.state.clone()));
        let result = self.server.await;
        email.abort();
        flusher.abort();
        secrets.abort();
        reminders.abort();
        webhooks.abort();
        crate::jobs::flush_usage(&self.state).await;
        result
    }
}

/// Anything else is the API's JSON 404 under `/api/`, else a 404 page (or a toast, for htmx).
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        return Err(crate::api::error::not_found_error().into());
    }
    Err(crate::console::error::AppError::from(crate::error::Error::NotFound).into())
}
