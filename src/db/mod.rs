//! Database access: one connection type over SQLite and PostgreSQL, a pool, migrations, and one module
//! of plain query functions per area. Handlers never build SQL; they call these functions.
//!
//! Lookups by a unique key use `get_result`, not `first`: on SQLite, Diesel does not reuse the prepared
//! statement of a query with `LIMIT`, and re-preparing the key lookup's four-table join cost 52 µs
//! against 1.9 µs cached (measured on the release build). `first` is kept where several rows may match.
//!
//! A query run on a `DbConn` is written out as SQL on every run (the multi-backend connection cannot
//! tell two runs of one query apart by type, so it finds the prepared statement by its text). The
//! verification lookups run instead on the backend's own connection (`on_backend!`), where the query's
//! type finds its prepared statement: writing the SQL out was a tenth of an uncached verification.

/// Evaluates `$body` with `$c` bound to the backend's own connection behind a `&mut DbConn` (the body
/// is compiled once per backend).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod console_sessions;
pub mod dashboard;
pub mod email;
pub mod invitations;
pub mod key_types;
pub mod keys;
pub mod lookup;
pub mod notifications;
pub mod password_links;
pub mod permissions;
pub mod reminders;
pub mod roles;
pub mod schema;
pub mod settings;
pub mod shared_secrets;
pub mod two_factor;
pub mod usage;
pub mod webhooks;
pub mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Every pooled connection is one of these; query code is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbConn::Sqlite(_) => "DbConn::Sqlite",
            DbConn::Postgres(_) => "DbConn::Postgres",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://<path> (e.g. sqlite://./data/keyward.db) or postgres://user@host/db"
    )]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// A database location, parsed from its URL. The scheme decides the backend: Diesel's own
/// `establish` would try each backend in turn, and SQLite accepts any string as a file name.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    /// Never prints a PostgreSQL URL: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(_) => f.write_str("postgres://…"),
        }
    }
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::UnsupportedUrl(url.to_owned()));
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err(DbError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn sqlite_in(data_dir: &Path) -> Self {
        DatabaseUrl::Sqlite(data_dir.join("keyward.db"))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    fn connect(&self) -> Result<DbConn, DbError> {
        match self {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| DbError::Connect("database path is not UTF-8".into()))?;
                let mut conn = SqliteConnection::establish(path).map_err(|e| DbError::Connect(e.to_string()))?;
                // Per connection; WAL itself is persistent and set once in `Database::open`. A page cache
                // of 1 MiB each (SQLite's default is 2 MiB) keeps the default pool's caches at 16 MiB: the
                // operating system caches the file for all of them, and the hot index pages fit.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
                     PRAGMA cache_size = -1024;",
                )
                .map_err(|e| DbError::Connect(e.to_string()))?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                PgConnection::establish(url).map(DbConn::Postgres).map_err(|e| DbError::Connect(e.to_string()))
            }
        }
    }
}

/// Keeps a URL's scheme and host in error messages but never its password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::Query)
    }

    /// Checked when a connection comes back to the pool: one whose server went away, or whose
    /// transaction was left broken, is dropped there instead of being tested on every checkout.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

pub type Conn = PooledConnection<ConnectionManager>;

/// The pool plus the rules for using it.
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    url: DatabaseUrl,
    /// SQLite allows one writer at a time, and a deferred transaction that reads before it writes fails
    /// with SQLITE_BUSY when another writer got in between. Writers of this process queue here instead.
    /// PostgreSQL needs no gate.
    write_gate: Option<Arc<Mutex<()>>>,
    /// What changed when, here or elsewhere: caches filled before a change of what they depend on are
    /// stale (see `changes`, `services::verify`).
    changes: Arc<changes::Changes>,
}

/// Creates the SQLite file, or narrows an existing one, to 0600: it holds password hashes. SQLite gives its
/// `-wal` and `-shm` files the database file's mode when it creates them; existing ones are narrowed too.
fn owner_only(path: &std::path::Path) -> Result<(), DbError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let failed = |e: std::io::Error| DbError::Connect(format!("cannot secure {}: {e}", path.display()));
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(failed)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
            _ => {}
        }
    }
    Ok(())
}

impl Database {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(url: DatabaseUrl, max_connections: u32) -> Result<Self, DbError> {
        if let DatabaseUrl::Sqlite(path) = &url {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| DbError::Connect(format!("cannot create {}: {e}", parent.display())))?;
            }
            owner_only(path)?;
            let mut conn = url.connect()?;
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        let mut first = url.connect()?;
        run_migrations(&mut first)?;
        drop(first);

        let pool = Pool::builder()
            .max_size(max_connections)
            // No query on every checkout: on PostgreSQL it was a round trip before each verification.
            // A connection the server dropped fails its next query, and `has_broken` keeps it out after.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(ConnectionManager { url: url.clone() })?;
        let write_gate = (!url.is_postgres()).then(|| Arc::new(Mutex::new(())));
        Ok(Self { pool, url, write_gate, changes: Arc::default() })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn conn(&self) -> Result<Conn, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in one transaction: all of it is committed, or none. What it changed of what verification
    /// reads (as the `db` functions it calls name it, see `changes::touched`) is announced to the other
    /// instances at commit and made stale in this one's caches before this returns.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        changes::collect();
        let result = self.write_counters(|c| {
            let value = f(c)?;
            let scopes = changes::named();
            let epoch =
                if scopes.is_empty() { None } else { Some(changes::announce(c, self.changes.instance(), &scopes)?) };
            Ok((value, epoch))
        });
        // After the commit (or a failure, in case the commit took effect after all): a cache fill that
        // read the old state has an older generation.
        self.changes.touch(&changes::finish());
        result.map(|(value, epoch)| {
            if let Some(epoch) = epoch {
                self.changes.account(epoch);
            }
            value
        })
    }

    /// A write transaction that never changes who may do what (usage counters): caches stay valid.
    pub fn write_counters<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        let _guard = self.write_gate.as_ref().map(|gate| gate.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut conn = self.conn()?;
        let conn: &mut DbConn = &mut conn;
        write_transaction(conn, f)
    }

    /// How many changes this instance has seen; read it before a cache fill's queries.
    pub fn generation(&self) -> u64 {
        self.changes.generation()
    }

    /// The generation and how changes made elsewhere reach it.
    pub fn changes(&self) -> &changes::Changes {
        &self.changes
    }

    /// Starts following changes made by other instances (and the command line): call it before
    /// loading anything that is cached. Servers do; one-off commands need not.
    pub fn watch_changes(&self) -> Result<(), DbError> {
        changes::watch(&self.url, &self.changes)
    }

    /// Runs read-only queries on one connection.
    pub fn read<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> crate::error::Result<T>
    where
        E: Into<crate::error::Error>,
    {
        let mut conn = self.conn()?;
        f(&mut conn).map_err(Into::into)
    }

    /// Runs read-only queries now, on the calling thread, with a SQLite connection that is idle: `None` on
    /// PostgreSQL (each query is a network round trip, not for an async worker) or when every connection
    /// is in use. For an indexed lookup or two in a local file, which take less time than handing work to
    /// another thread and back.
    pub fn read_if_idle<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Option<crate::error::Result<T>>
    where
        E: Into<crate::error::Error>,
    {
        if self.url.is_postgres() {
            return None;
        }
        let mut conn = self.pool.try_get()?;
        // One read transaction: one snapshot for every query, and the file locks taken once, not per query.
        Some(conn.transaction::<T, crate::error::Error, _>(|c| f(c).map_err(Into::into)))
    }

    pub fn state(&self) -> diesel::r2d2::State {
        self.pool.state()
    }

    /// One round trip: the readiness probe.
    pub fn ping(&self) -> crate::error::Result<()> {
        use diesel::connection::SimpleConnection as _;
        self.read(|c| c.batch_execute("SELECT 1").map_err(DbError::Query))
    }
}

fn run_migrations(conn: &mut DbConn) -> Result<(), DbError> {
    let result = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(drop),
        DbConn::Postgres(c) => {
            // Several instances may start together; one migrates, the others wait.
            c.batch_execute("SELECT pg_advisory_lock(7243190001)")?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
            c.batch_execute("SELECT pg_advisory_unlock(7243190001)")?;
            result
        }
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// A write transaction; on SQLite one that takes the write lock when it begins (`BEGIN IMMEDIATE`). The write
/// gate orders this process's writers, but not another process's on the same file (a command-line run, a
/// second instance): a deferred transaction that has read and then writes finds the file changed since its
/// snapshot and fails at once with "database is locked" instead of waiting its turn.
fn write_transaction<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConn as Connection>::TransactionManager;
    let DbConn::Sqlite(sqlite) = conn else { return conn.transaction(f) };
    // Counted by the connection's own transaction manager: nested transactions in `f` are savepoints.
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/k.db").ok(),
            Some(DatabaseUrl::Sqlite(PathBuf::from("./data/k.db")))
        );
        assert!(DatabaseUrl::parse("postgres://u@h/db").is_ok_and(|u| u.is_postgres()));
        assert!(DatabaseUrl::parse("postgresql://u@h/db").is_ok_and(|u| u.is_postgres()));
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_a_password() {
        let err = DatabaseUrl::parse("mysql://root:hunter2@localhost/db").err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("sqlite://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(DatabaseUrl::parse("./keyward.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn a_sqlite_write_waits_for_another_process_writing_the_same_file() -> Result<(), DbError> {
        let dir = tempfile::tempdir().map_err(|e| DbError::Connect(e.to_string()))?;
        let url = DatabaseUrl::sqlite_in(dir.path());
        // Two instances on one file, as a server and a command-line run: each has its own write gate.
        let (a, b) = (Database::open(url.clone(), 2)?, Database::open(url, 2)?);
        a.write_counters(|c| c.batch_execute("CREATE TABLE t (n INTEGER)").map_err(DbError::from))?;
        let (began, go) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            // A reads, B writes meanwhile, then A writes what it read: B waits for A instead of A failing
            // with "database is locked" (a deferred transaction whose snapshot went stale).
            let second = s.spawn(move || {
                go.recv().map_err(|e| DbError::Connect(e.to_string()))?;
                b.write_counters(|c| c.batch_execute("INSERT INTO t VALUES (2)").map_err(DbError::from))
            });
            let first = a.write_counters(|c| {
                c.batch_execute("SELECT count(*) FROM t")?;
                began.send(()).map_err(|e| DbError::Connect(e.to_string()))?;
                std::thread::sleep(Duration::from_millis(300));
                c.batch_execute("INSERT INTO t VALUES (1)").map_err(DbError::from)
            });
            assert!(first.is_ok(), "the first write: {first:?}");
            let second = second.join().expect("the second writer");
            assert!(second.is_ok(), "the second write: {second:?}");
        });
        let mut conn = a.conn()?;
        let rows: i64 = diesel::RunQueryDsl::get_result(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM t)")),
            &mut *conn,
        )?;
        assert_eq!(rows, 2);
        Ok(())
    }
}
