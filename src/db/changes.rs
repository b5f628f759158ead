//! How a change reaches every instance's caches.
//!
//! Caches of this process (the verification cache and what it holds) are stamped with a *generation*:
//! bumping it makes every entry stale at once. This instance bumps it after each of its own write
//! transactions that may change access (`Database::write`). Changes made elsewhere — another instance on
//! the same PostgreSQL database, or the command line beside a server on SQLite — arrive here in two ways:
//!
//! * **Notices** (PostgreSQL): each such transaction sends `NOTIFY keyward_changes` with the writer's
//!   instance id; PostgreSQL delivers it at commit. A *watcher* thread per instance holds one connection
//!   outside the pool that LISTENs (before anything is cached: `Database::watch_changes` runs before the
//!   server loads anything) and bumps the generation on a notice from another instance, within
//!   `POLL` of the commit.
//! * **The epoch** (both backends): the same transactions also bump the one-row `change_epoch` table, which
//!   the watcher reads every `EPOCH_EVERY`. A notice that was lost still takes effect then.
//!
//! Each successful epoch read renews the caches' *trust* for `TRUSTED_FOR`. While the watcher cannot read
//! the epoch (the database unreachable, its connection stuck or broken), trust lapses and every verification
//! reads the database, so a change committed anywhere takes effect here within `HARD_BOUND` whatever happens
//! to notices. After a reconnect the whole cache is dropped: notices sent meanwhile are lost.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::change_epoch;
use super::{DatabaseUrl, DbConn, DbError};

/// The channel every instance listens on.
pub const CHANNEL: &str = "keyward_changes";
/// How often the watcher looks for notices (it does not block on the socket: Diesel offers no way to).
pub const POLL: Duration = Duration::from_millis(10);
/// How often the watcher reads the epoch.
pub const EPOCH_EVERY: Duration = Duration::from_secs(1);
/// How long one successful epoch read keeps cached entries trusted.
pub const TRUSTED_FOR: Duration = Duration::from_millis(2_500);
/// The longest a change committed anywhere can go unseen by this instance's caches: the epoch is read
/// at least every `EPOCH_EVERY` while that works, and trust lapses `TRUSTED_FOR` after the last read
/// that did.
pub const HARD_BOUND: Duration = Duration::from_secs(3);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The generation, this instance's id, and the watcher's state.
#[derive(Debug)]
pub struct Changes {
    generation: AtomicU64,
    /// Random, per process: notices carry it so that an instance skips its own.
    instance: String,
    started: Instant,
    /// Milliseconds after `started` until which cached entries may be used.
    trusted_until: AtomicU64,
    /// Whether a watcher runs; until one does (command-line processes never start one) nothing is
    /// distrusted: such a process writes, it does not serve from a cache for long.
    watched: AtomicBool,
    /// Epoch values this process's own commits made, not yet passed by the watcher: their changes are
    /// in the generation already, so the watcher does not drop the cache for them.
    own: Mutex<BTreeSet<i64>>,
    pub notices: AtomicU64,
    pub reconnects: AtomicU64,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            generation: AtomicU64::new(0),
            instance: hex::encode(crate::crypto::random_bytes::<8>()),
            started: Instant::now(),
            trusted_until: AtomicU64::new(0),
            watched: AtomicBool::new(false),
            own: Mutex::default(),
            notices: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        }
    }
}

impl Changes {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Makes every cached entry stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// After a commit that set the epoch to `epoch` here (see `own`).
    pub(super) fn committed(&self, epoch: i64) {
        self.own.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(epoch);
    }

    /// Whether an epoch that moved from `from` to `to` includes a change made elsewhere. Values this
    /// process made are forgotten once passed; one it records only after the watcher read past it
    /// counts as foreign (a needless drop of the cache, never a missed change).
    fn moved_elsewhere(&self, from: i64, to: i64) -> bool {
        let mut own = self.own.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let foreign = (from.saturating_add(1)..=to).any(|v| !own.contains(&v)) || to < from;
        own.retain(|v| *v > to);
        foreign
    }

    /// This process's id, as notices carry it.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether cached entries may answer now: the watcher read the epoch recently.
    pub fn trusted(&self) -> bool {
        !self.watched.load(Ordering::Relaxed) || self.trusted_until.load(Ordering::Relaxed) > self.elapsed_ms()
    }

    fn confirm(&self) {
        let until = self.elapsed_ms().saturating_add(u64::try_from(TRUSTED_FOR.as_millis()).unwrap_or(u64::MAX));
        self.trusted_until.store(until, Ordering::Relaxed);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Ends a transaction that may change access: bumps the epoch and, on PostgreSQL, queues the notice
/// (both take effect at commit, and vanish with a rollback); returns the epoch it set. The instance id
/// is hex, safe to inline.
pub(super) fn announce(conn: &mut DbConn, instance: &str) -> Result<i64, diesel::result::Error> {
    let epoch = diesel::update(change_epoch::table)
        .set(change_epoch::epoch.eq(change_epoch::epoch + 1))
        .returning(change_epoch::epoch)
        .get_result(conn)?;
    if let DbConn::Postgres(pg) = conn {
        pg.batch_execute(&format!("NOTIFY {CHANNEL}, '{instance}'"))?;
    }
    Ok(epoch)
}

/// The connection a watcher holds, and what it last read.
struct Watch {
    conn: DbConn,
    epoch: i64,
}

impl Watch {
    /// Connects, LISTENs (PostgreSQL), reads the epoch and drops every cached entry; from then on nothing
    /// committed is missed.
    fn open(url: &DatabaseUrl, changes: &Changes) -> Result<Watch, DbError> {
        let mut conn = match url {
            DatabaseUrl::Postgres(url) => {
                // Named, so operators (and the tests) can tell it apart in pg_stat_activity.
                let name = format!("keyward-watch-{}", changes.instance);
                let mut pg = diesel::PgConnection::establish(url).map_err(|e| DbError::Connect(e.to_string()))?;
                pg.batch_execute(&format!("SET application_name = '{name}'; LISTEN {CHANNEL}"))?;
                DbConn::Postgres(pg)
            }
            DatabaseUrl::Sqlite(_) => url.connect()?,
        };
        let epoch = read_epoch(&mut conn)?;
        // Whatever was cached before may have missed notices (none on the first start: nothing is).
        changes.bump();
        changes.confirm();
        Ok(Watch { conn, epoch })
    }

    /// Watches until the connection fails (the error) or the instance is gone (`Ok`).
    fn run(&mut self, changes: &Weak<Changes>) -> Result<(), DbError> {
        let mut last_read = Instant::now();
        loop {
            let Some(changes) = changes.upgrade() else { return Ok(()) };
            if let DbConn::Postgres(pg) = &mut self.conn {
                let mut heard = false;
                for notice in pg.notifications_iter() {
                    heard |= notice?.payload != changes.instance;
                }
                if heard {
                    changes.notices.fetch_add(1, Ordering::Relaxed);
                    changes.bump();
                }
            }
            if last_read.elapsed() >= EPOCH_EVERY {
                last_read = Instant::now();
                let epoch = read_epoch(&mut self.conn)?;
                if changes.moved_elsewhere(self.epoch, epoch) {
                    changes.bump();
                }
                self.epoch = epoch;
                changes.confirm();
            }
            drop(changes);
            std::thread::sleep(POLL);
        }
    }
}

fn read_epoch(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(change_epoch::table.select(change_epoch::epoch).get_result(conn)?)
}

/// Starts watching for changes made elsewhere: connects (and LISTENs) before returning, so nothing the
/// caller loads afterwards can miss a change; then a thread watches until `changes` is dropped,
/// reconnecting with a growing pause when its connection fails.
pub(super) fn watch(url: &DatabaseUrl, changes: &Arc<Changes>) -> Result<(), DbError> {
    let mut watch = Watch::open(url, changes)?;
    changes.watched.store(true, Ordering::Relaxed);
    let (url, weak) = (url.clone(), Arc::downgrade(changes));
    std::thread::Builder::new()
        .name("keyward-changes".into())
        .spawn(move || {
            let mut backoff = Duration::from_secs(1);
            loop {
                match watch.run(&weak) {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e, "change watcher lost its connection; caches are distrusted until it is back"),
                }
                loop {
                    std::thread::sleep(backoff);
                    let Some(changes) = weak.upgrade() else { return };
                    match Watch::open(&url, &changes) {
                        Ok(fresh) => {
                            changes.reconnects.fetch_add(1, Ordering::Relaxed);
                            tracing::info!("change watcher reconnected; the verification cache was dropped");
                            watch = fresh;
                            backoff = Duration::from_secs(1);
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "change watcher cannot reconnect yet");
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
            }
        })
        .map_err(|e| DbError::Connect(format!("cannot start the change watcher: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_epochs_made_elsewhere_drop_the_cache() {
        let changes = Changes::default();
        assert!(!changes.moved_elsewhere(4, 4), "nothing moved");
        changes.committed(5);
        changes.committed(6);
        assert!(!changes.moved_elsewhere(4, 6), "both were ours");
        changes.committed(8);
        assert!(changes.moved_elsewhere(6, 8), "7 was another instance's");
        assert!(!changes.moved_elsewhere(8, 8));
        // One of ours recorded after the watcher passed it is forgotten, not held against a later change.
        changes.committed(8);
        assert!(changes.moved_elsewhere(8, 9));
        assert!(changes.moved_elsewhere(9, 3), "an epoch that went back (a restored database)");
    }

    #[test]
    fn trust_lapses_without_a_read() {
        let changes = Changes::default();
        assert!(changes.trusted(), "a process with no watcher writes and does not serve from a cache");
        changes.watched.store(true, Ordering::Relaxed);
        assert!(!changes.trusted(), "a watcher that never read");
        changes.confirm();
        assert!(changes.trusted());
    }
}
