//! A real keyward server per test, on port 0, with its own database, and a cookie-keeping client
//! that fills in the CSRF token like a browser submitting the page's form would.

use std::path::PathBuf;

use diesel::Connection as _;
use diesel::RunQueryDsl as _;
use keyward::clock::Clock;
use keyward::config::Config;
use keyward::db::DatabaseUrl;
use keyward::startup::Application;
use keyward::state::AppState;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each test twice, as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block) => {
        async fn $name($app: $crate::helpers::TestApp) $body

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_if_available($crate::helpers::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    };
    // The same, on servers whose configuration `$tweak` (a `fn(&mut Config)`) changes first.
    (with $tweak:expr; $(#[doc = $doc:literal])* async fn $name:ident($app:ident) $body:block) => {
        async fn $name($app: $crate::helpers::TestApp) $body

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                use super::*;
                super::$name($crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, $tweak).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                use super::*;
                let backend = $crate::helpers::Backend::Postgres;
                if let Some(app) = $crate::helpers::TestApp::spawn_with_if_available(backend, $tweak).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub clock: Clock,
    pub state: AppState,
    pub setup_token: Option<String>,
    pub database_url: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    /// Dropped with the test, after the server it served.
    _pg: Option<PgDatabase>,
}

/// A throwaway PostgreSQL database, dropped with the test.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut conn) = diesel::PgConnection::establish(&url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn);
            }
        })
        .join();
    }
}

fn postgres_admin_url() -> Option<String> {
    match std::env::var("KEYWARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("KEYWARD_TEST_DATABASE_URL must be set in CI: the PostgreSQL tests may not be skipped")
        }
        _ => None,
    }
}

fn create_pg_database(admin_url: &str) -> (String, PgDatabase) {
    let name = format!("keyward_test_{}", hex::encode(keyward::crypto::random_bytes::<6>()));
    let mut conn = diesel::PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at KEYWARD_TEST_DATABASE_URL: {e}"));
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    let (head, query) = admin_url.split_once('?').map_or((admin_url, None), |(h, q)| (h, Some(q)));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    // Without TLS: servers of finished tests keep their pools until the process exits, and libpq closing
    // a TLS connection from a pool thread while OpenSSL's exit handlers run can crash the test binary.
    let url = match query {
        Some(q) if q.contains("sslmode=") => format!("{base}/{name}?{q}"),
        Some(q) => format!("{base}/{name}?{q}&sslmode=disable"),
        None => format!("{base}/{name}?sslmode=disable"),
    };
    (url, PgDatabase { admin_url: admin_url.to_owned(), name })
}

/// A test server's configuration: any free port, few threads and connections, no background jobs.
fn test_config(data_dir: PathBuf, database: DatabaseUrl) -> Config {
    let mut config = Config::with_defaults(data_dir, database);
    config.listen = "127.0.0.1:0".parse().expect("addr");
    // Links (password links, the single sign-on callback) name the port bound at start.
    config.public_url = "http://127.0.0.1:0".into();
    config.workers = 2;
    config.db_pool_size = 4;
    // Tests run the reminder job themselves, after moving the clock.
    config.reminders_every_secs = 0;
    config.webhooks_every_secs = 0;
    config
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// PostgreSQL runs when `KEYWARD_TEST_DATABASE_URL` is set; outside CI it is skipped otherwise.
    pub async fn spawn_if_available(backend: Backend) -> Option<TestApp> {
        if backend == Backend::Postgres && postgres_admin_url().is_none() {
            eprintln!("skipped: set KEYWARD_TEST_DATABASE_URL=postgres://… to run the PostgreSQL variant");
            return None;
        }
        Some(Self::spawn(backend).await)
    }

    /// `spawn_with`, or `None` (with the reason printed) where PostgreSQL may be skipped.
    pub async fn spawn_with_if_available(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        if backend == Backend::Postgres && postgres_admin_url().is_none() {
            eprintln!("skipped: set KEYWARD_TEST_DATABASE_URL=postgres://… to run the PostgreSQL variant");
            return None;
        }
        Some(Self::spawn_with(backend, tweak).await)
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        capture_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, database_url, pg) = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("keyward.db");
                (DatabaseUrl::Sqlite(path.clone()), format!("sqlite://{}", path.display()), None)
            }
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("KEYWARD_TEST_DATABASE_URL");
                let (url, pg) = tokio::task::spawn_blocking(move || create_pg_database(&admin)).await.expect("join");
                (DatabaseUrl::parse(&url).expect("postgres url"), url, Some(pg))
            }
        };
        let mut config = test_config(dir.path().to_path_buf(), database);
        tweak(&mut config);
        let start = time::OffsetDateTime::now_utc().unix_timestamp();
        let clock = Clock::manual(start);
        let app = Application::build(config, clock.clone()).expect("the server starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let setup_token = app.setup_token();
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            clock,
            state,
            setup_token,
            database_url,
            data_dir: dir.path().to_path_buf(),
            _dir: dir,
            _pg: pg,
        }
    }

    /// A second server on this test's database and data directory (so the same master and cookie keys),
    /// as a second instance behind a load balancer would be.
    pub async fn beside(&self) -> Peer {
        self.beside_with(|_| {}).await
    }

    /// `beside`, configured like `spawn_with`.
    pub async fn beside_with(&self, tweak: impl FnOnce(&mut Config)) -> Peer {
        let database = DatabaseUrl::parse(&self.database_url).expect("database url");
        let mut config = test_config(self.data_dir.clone(), database);
        tweak(&mut config);
        let app = Application::build(config, self.clock.clone()).expect("the second server starts");
        let peer = Peer { base: format!("http://127.0.0.1:{}", app.port()), state: app.state().clone() };
        tokio::spawn(app.run_until_stopped());
        peer
    }

    pub fn account_id(&self, email: &str) -> i64 {
        let email = keyward::domain::email::Email::parse(email).expect("email");
        self.state.db.read(|c| keyward::db::accounts::find_by_email(c, &email)).expect("query").expect("account").id
    }

    /// Titles of the account's unread notifications, newest first.
    pub fn notices(&self, email: &str) -> Vec<String> {
        let id = self.account_id(email);
        self.state.db.read(|c| keyward::db::notifications::unread_titles(c, id)).expect("notices")
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// Completes first-run setup as `admin@example.com` and returns that signed-in browser.
    pub async fn admin(&self) -> Browser {
        let token = self.setup_token.clone().expect("a fresh install has a setup token");
        let b = self.browser();
        assert_eq!(b.get(&format!("/setup?token={token}")).await.status, StatusCode::OK);
        let page = b
            .post(
                "/setup",
                &[
                    ("token", token.as_str()),
                    ("workspace", "Acme"),
                    ("name", "Ada Admin"),
                    ("email", "admin@example.com"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        b
    }

    /// Adds an account through the console as `admin` and signs it in with a new browser.
    pub async fn user(&self, admin: &Browser, email: &str, role: &str) -> Browser {
        admin.get("/users").await;
        let page = admin
            .post(
                "/users",
                &[
                    ("email", email),
                    ("name", "Test Person"),
                    ("role", role),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = self.browser();
        let signed_in = b.sign_in(email, PASSWORD).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
        b
    }

    /// Runs the keyward binary against this test's database; returns (success, stdout, stderr).
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .env("KEYWARD_DATA_DIR", &self.data_dir)
            .env("KEYWARD_DATABASE_URL", &self.database_url)
            .env("KEYWARD_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run keyward");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// One person's browser: cookies, and the CSRF token of the last page it saw.
pub struct Browser {
    client: Client,
    base: String,
    csrf: std::sync::Mutex<Option<String>>,
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// The text of `<dd data-count="name">`, as on the dashboard.
    pub fn count(&self, name: &str) -> Option<i64> {
        let marker = format!("data-count=\"{name}\">");
        let start = self.body.find(&marker)? + marker.len();
        self.body[start..].split('<').next()?.trim().parse().ok()
    }
}

pub fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}

/// Another server on a `TestApp`'s database (`TestApp::beside`).
pub struct Peer {
    pub base: String,
    pub state: AppState,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let client = Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client");
        Self { client, base: base.to_owned(), csrf: std::sync::Mutex::new(None) }
    }

    /// The same browser (its cookies, its session) pointed at another server.
    pub fn at(&self, base: &str) -> Self {
        Self { client: self.client.clone(), base: base.to_owned(), csrf: std::sync::Mutex::new(Some(self.csrf())) }
    }

    async fn page(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        if let Some(token) = csrf_in(&body) {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        Page { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        self.page(response).await
    }

    /// A GET as htmx sends it.
    pub async fn get_htmx(&self, path: &str) -> Page {
        let response =
            self.client.get(format!("{}{path}", self.base)).header("HX-Request", "true").send().await.expect("GET");
        self.page(response).await
    }

    pub fn csrf(&self) -> String {
        self.csrf.lock().expect("lock").clone().unwrap_or_default()
    }

    /// Submits a form with the CSRF token of the last page seen, as the page's own form would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, &[]).await
    }

    /// Submits exactly these fields and headers: no token is added.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(fields);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.page(request.send().await.expect("POST")).await
    }

    /// An htmx request: the token travels in the header, as `hx-headers` sends it.
    pub async fn htmx_post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf();
        self.post_raw(path, fields, &[("HX-Request", "true"), ("X-CSRF-Token", token.as_str())]).await
    }

    /// Uploads a file as the field `file`, the token in the header as htmx sends it.
    pub async fn upload(&self, path: &str, filename: &str, bytes: Vec<u8>) -> Page {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", self.csrf())
            .multipart(form);
        self.page(request.send().await.expect("upload")).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post("/login", &[("email", email), ("password", password)]).await
    }
}

/// Every test's server logs, at debug level for keyward, into one buffer of this process.
static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = LogWriter(buffer.clone());
        // Another subscriber may already be installed by the harness; then nothing is captured and
        // `captured_logs` says so.
        let installed = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("keyward=debug,info"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .is_ok();
        assert!(installed, "the log capture must be the process's subscriber");
        buffer
    });
}

/// Everything logged so far by every server in this test process.
pub fn captured_logs() -> String {
    capture_logs();
    let buffer = LOGS.get().expect("installed").lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&buffer).into_owned()
}
