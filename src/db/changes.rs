//! How a change reaches every instance's caches, and which cached entries it makes stale.
//!
//! **What changed.** A write transaction names what it changed as it goes: the `db` functions that
//! modify something verification reads call `touched` with a `Scope` (a key, an owner, a role, a
//! workspace's catalogue, a key type, a workspace…). `Database::write` collects them on its thread, and
//! after the commit `Changes::touch` stamps each scope with a new *generation*: a counter of changes
//! seen. A cache entry remembers the generation read before its fill's queries and the scopes it was
//! derived from (as slots of a fixed table: a collision only makes an entry stale needlessly); it is
//! fresh while none of them was stamped later. So a key created in one workspace leaves every other
//! key cached, and a fill that raced a change to its own scopes is never used. A transaction that names
//! nothing (usage counters, notifications, sessions) invalidates nothing and announces nothing.
//!
//! **Elsewhere.** Changes made by another instance on the same PostgreSQL database, or by the command line
//! beside a server on SQLite, arrive in two ways:
//!
//! * **Notices** (PostgreSQL): each announcing transaction sends `NOTIFY keyward_changes` with the writer's
//!   instance id, the epoch it set and its scopes (split over several notices when long, `*` — everything
//!   — when very long); PostgreSQL delivers them at commit. A *watcher* thread per instance holds one
//!   connection outside the pool that LISTENs (before anything is cached: `Database::watch_changes` runs
//!   before the server loads anything) and stamps the scopes of another instance's notices, within `POLL`
//!   of the commit.
//! * **The log** (both backends): the same transactions also bump the one-row `change_epoch` table and
//!   write their scopes to `change_log` under the new epoch. The watcher reads both every `EPOCH_EVERY` and
//!   stamps the scopes of every epoch value that neither this process made nor a notice brought: a lost
//!   notice, and on SQLite every change made by another process, still makes stale only what it names.
//!   An epoch value with no log entry (a change made by hand, or one pruned from the log) stamps
//!   everything.
//!
//! Each successful epoch read renews the caches' *trust* for `TRUSTED_FOR`. While the watcher cannot read
//! the epoch (the database unreachable, its connection stuck or broken), trust lapses and every verification
//! reads the database, so a change committed anywhere takes effect here within `HARD_BOUND` whatever happens
//! to notices. After a reconnect everything is stamped: notices sent meanwhile are lost.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::{change_epoch, change_log};
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

/// The longest notice payload PostgreSQL takes is 8,000 bytes; scopes beyond this go in another notice.
const PAYLOAD: usize = 7_900;
/// More notices than this for one transaction announce everything instead.
const MAX_NOTICES: usize = 8;
/// Slots of the stamp table: scopes share a slot by hash.
const SLOTS: usize = 1 << 14;
/// How many recent epochs `change_log` keeps: far more than one `EPOCH_EVERY` brings.
const LOGGED: i64 = 10_000;

/// What a change may make stale. A cached key depends on its own scope, its owner's, its roles', its
/// workspace's and catalogue's and its type's; a digest known to be unknown, on `Secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Everything: a change whose reach is not known, or a notice that was lost.
    All,
    /// One key: its status, secrets, grants, restrictions, owner.
    Key(i64),
    /// An account, in every workspace: disabled, removed, its grants.
    Owner(i64),
    /// A role: its name and permissions (the keys and people holding it).
    Role(i64),
    /// A workspace's permissions and their rules.
    Catalogue(i64),
    /// A key type's name.
    KeyType(i64),
    /// A workspace: archived, restored, removed.
    Workspace(i64),
    /// A secret was added, or a workspace restored: a digest known to be unknown may now be a key's.
    Secrets,
    /// Shared (signing) secrets.
    Signing,
}

impl Scope {
    /// The slot of the stamp table this scope is stamped in; `All` has its own stamp.
    pub fn slot(self) -> Option<u32> {
        let (tag, id): (u64, i64) = match self {
            Scope::All => return None,
            Scope::Key(id) => (1, id),
            Scope::Owner(id) => (2, id),
            Scope::Role(id) => (3, id),
            Scope::Catalogue(id) => (4, id),
            Scope::KeyType(id) => (5, id),
            Scope::Workspace(id) => (6, id),
            Scope::Secrets => (7, 0),
            Scope::Signing => (8, 0),
        };
        let mixed = (id.cast_unsigned() ^ (tag << 56)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The top bits of a multiplicative hash are the well-mixed ones.
        u32::try_from(mixed >> (64 - SLOTS.trailing_zeros())).ok()
    }

    pub(super) fn write(self, out: &mut String) {
        let _ = match self {
            Scope::All => write!(out, "*"),
            Scope::Key(id) => write!(out, "k{id}"),
            Scope::Owner(id) => write!(out, "o{id}"),
            Scope::Role(id) => write!(out, "r{id}"),
            Scope::Catalogue(id) => write!(out, "c{id}"),
            Scope::KeyType(id) => write!(out, "t{id}"),
            Scope::Workspace(id) => write!(out, "w{id}"),
            Scope::Secrets => write!(out, "s"),
            Scope::Signing => write!(out, "g"),
        };
    }

    /// A scope as a notice carries it; anything unreadable is everything.
    fn parse(text: &str) -> Scope {
        let id = || text.get(1..).and_then(|n| n.parse().ok());
        let scope = match text.as_bytes().first() {
            Some(b'k') => id().map(Scope::Key),
            Some(b'o') => id().map(Scope::Owner),
            Some(b'r') => id().map(Scope::Role),
            Some(b'c') => id().map(Scope::Catalogue),
            Some(b't') => id().map(Scope::KeyType),
            Some(b'w') => id().map(Scope::Workspace),
            Some(b's') if text.len() == 1 => Some(Scope::Secrets),
            Some(b'g') if text.len() == 1 => Some(Scope::Signing),
            _ => None,
        };
        scope.unwrap_or(Scope::All)
    }
}

thread_local! {
    /// The scopes the write transaction running on this thread has named so far (`Database::write`).
    static TOUCHED: RefCell<Option<BTreeSet<Scope>>> = const { RefCell::new(None) };
}

/// Names what the write transaction on this thread changed: every `db` function that modifies something
/// verification reads calls this. Outside `Database::write` (a counter update) it records nothing.
pub fn touched(scope: Scope) {
    TOUCHED.with(|t| {
        if let Some(scopes) = t.borrow_mut().as_mut() {
            scopes.insert(scope);
        }
    });
}

/// Starts collecting what a write transaction on this thread names (see `touched`).
pub(super) fn collect() {
    TOUCHED.with(|t| *t.borrow_mut() = Some(BTreeSet::new()));
}

/// What the transaction named so far.
pub(super) fn named() -> Vec<Scope> {
    TOUCHED.with(|t| t.borrow().as_ref().map(|s| s.iter().copied().collect()).unwrap_or_default())
}

/// Stops collecting; what was named.
pub(super) fn finish() -> Vec<Scope> {
    TOUCHED.with(|t| t.borrow_mut().take().map(|s| s.into_iter().collect()).unwrap_or_default())
}

/// The stamps, this instance's id, and the watcher's state.
#[derive(Debug)]
pub struct Changes {
    /// How many changes this instance has seen: the generation a fill reads before its queries.
    generation: AtomicU64,
    /// The generation at which everything was last made stale.
    all: AtomicU64,
    /// The generation at which each slot's scopes last changed.
    stamps: Box<[AtomicU64]>,
    /// Random, per process: notices carry it so that an instance skips its own.
    instance: String,
    started: Instant,
    /// Milliseconds after `started` until which cached entries may be used.
    trusted_until: AtomicU64,
    /// Whether a watcher runs; until one does (command-line processes never start one) nothing is
    /// distrusted: such a process writes, it does not serve from a cache for long.
    watched: AtomicBool,
    /// Epoch values accounted for, not yet passed by the watcher: those this process's own commits set
    /// (their scopes are stamped already) and those whose notices were heard.
    accounted: Mutex<BTreeSet<i64>>,
    pub notices: AtomicU64,
    pub reconnects: AtomicU64,
    /// Times everything was made stale (a lost notice, a reconnect, a change of unknown reach).
    pub drops: AtomicU64,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            generation: AtomicU64::new(0),
            all: AtomicU64::new(0),
            stamps: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            instance: hex::encode(crate::crypto::random_bytes::<8>()),
            started: Instant::now(),
            trusted_until: AtomicU64::new(0),
            watched: AtomicBool::new(false),
            accounted: Mutex::default(),
            notices: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            drops: AtomicU64::new(0),
        }
    }
}

impl Changes {
    /// How many changes this instance has seen; read it before a cache fill's queries.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Makes what depends on these scopes stale: entries filled before now.
    pub fn touch(&self, scopes: &[Scope]) {
        if scopes.is_empty() {
            return;
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        for scope in scopes {
            match scope.slot() {
                None => {
                    self.drops.fetch_add(1, Ordering::Relaxed);
                    self.all.fetch_max(generation, Ordering::SeqCst);
                }
                Some(slot) => {
                    if let Some(stamp) = self.stamps.get(slot as usize) {
                        stamp.fetch_max(generation, Ordering::SeqCst);
                    }
                }
            }
        }
    }

    /// Makes every cached entry stale.
    pub fn bump(&self) {
        self.touch(&[Scope::All]);
    }

    /// Whether nothing in these slots (see `Scope::slot`), nor everything, changed after `generation`.
    pub fn unchanged_since<'a>(&self, generation: u64, slots: impl IntoIterator<Item = &'a u32>) -> bool {
        self.all.load(Ordering::SeqCst) <= generation
            && slots
                .into_iter()
                .all(|slot| self.stamps.get(*slot as usize).is_none_or(|s| s.load(Ordering::SeqCst) <= generation))
    }

    /// After a commit that set the epoch to `epoch` here, or a notice that accounted for it.
    pub(super) fn account(&self, epoch: i64) {
        self.accounted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(epoch);
    }

    /// The epoch values in `from+1..=to` that no commit here and no notice accounted for.
    fn unaccounted(&self, from: i64, to: i64) -> Vec<i64> {
        let accounted = self.accounted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (from.saturating_add(1)..=to).filter(|v| !accounted.contains(v)).collect()
    }

    /// Forgets accounted values up to `to`: the watcher has passed them.
    fn settle(&self, to: i64) {
        self.accounted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|v| *v > to);
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

/// The notices announcing `scopes` at `epoch`: `instance epoch scope…`, as many as the payload limit
/// needs, or one announcing everything when that would be too many.
fn notices(instance: &str, epoch: i64, scopes: &[Scope]) -> Vec<String> {
    let head = format!("{instance} {epoch}");
    let mut out: Vec<String> = Vec::new();
    let mut current = head.clone();
    for scope in scopes {
        let mut token = String::from(" ");
        scope.write(&mut token);
        if current.len() + token.len() > PAYLOAD {
            out.push(std::mem::replace(&mut current, head.clone()));
        }
        current.push_str(&token);
    }
    out.push(current);
    if out.len() > MAX_NOTICES {
        return vec![format!("{head} *")];
    }
    out
}

/// A notice's payload: the instance that sent it, the epoch, and the scopes (everything for a payload of
/// an older form, or one that does not read).
fn read_notice(payload: &str) -> (&str, Option<i64>, Vec<Scope>) {
    let mut parts = payload.split(' ');
    let instance = parts.next().unwrap_or_default();
    let epoch = parts.next().and_then(|e| e.parse().ok());
    let scopes: Vec<Scope> = parts.map(Scope::parse).collect();
    if epoch.is_none() || scopes.is_empty() {
        return (instance, None, vec![Scope::All]);
    }
    (instance, epoch, scopes)
}

/// Scopes as `change_log` keeps them: space-separated, as notices carry them.
fn logged(scopes: &[Scope]) -> String {
    let mut text = String::new();
    for scope in scopes {
        if !text.is_empty() {
            text.push(' ');
        }
        scope.write(&mut text);
    }
    text
}

/// Ends a transaction that changed what verification reads: bumps the epoch, logs the scopes under it and,
/// on PostgreSQL, queues the notices (all take effect at commit, and vanish with a rollback); returns the
/// epoch it set. Payloads are hex, digits and scope letters, safe to inline.
pub(super) fn announce(conn: &mut DbConn, instance: &str, scopes: &[Scope]) -> Result<i64, diesel::result::Error> {
    let epoch = diesel::update(change_epoch::table)
        .set(change_epoch::epoch.eq(change_epoch::epoch + 1))
        .returning(change_epoch::epoch)
        .get_result(conn)?;
    diesel::insert_into(change_log::table)
        .values((change_log::epoch.eq(epoch), change_log::scopes.eq(logged(scopes))))
        .execute(conn)?;
    if epoch % 1_000 == 0 {
        diesel::delete(change_log::table.filter(change_log::epoch.le(epoch - LOGGED))).execute(conn)?;
    }
    if let DbConn::Postgres(pg) = conn {
        let sql: String =
            notices(instance, epoch, scopes).iter().map(|n| format!("NOTIFY {CHANNEL}, '{n}';")).collect();
        pg.batch_execute(&sql)?;
    }
    Ok(epoch)
}

/// The connection a watcher holds, and what it last read.
struct Watch {
    conn: DbConn,
    progress: Progress,
}

/// How far the watcher has followed the epoch.
#[derive(Debug, Clone, Copy)]
struct Progress {
    /// Every epoch value up to this one is accounted for, stamped from the log, or made up for by
    /// stamping everything.
    settled: i64,
}

impl Progress {
    /// After reading the epoch, and the log from `settled` to it: stamps the scopes of every value neither
    /// made here nor brought by a notice; a value the log does not have (a change made by hand, or one
    /// pruned before this watcher read it) stamps everything. Whether everything was stamped. (The epoch
    /// row serialises its writers, so when a value is visible every smaller one is committed, its log
    /// entry with it.)
    fn advance(&mut self, changes: &Changes, epoch: i64, log: &[(i64, String)]) -> bool {
        let lost = if epoch < self.settled || epoch - self.settled > LOGGED {
            true
        } else {
            let mut lost = false;
            for value in changes.unaccounted(self.settled, epoch) {
                match log.binary_search_by_key(&value, |(v, _)| *v) {
                    Ok(at) => changes.touch(&log[at].1.split(' ').map(Scope::parse).collect::<Vec<_>>()),
                    Err(_) => lost = true,
                }
            }
            lost
        };
        if lost {
            changes.bump();
        }
        changes.settle(epoch);
        self.settled = epoch;
        lost
    }
}

impl Watch {
    /// Connects, LISTENs (PostgreSQL), reads the epoch and makes everything stale; from then on nothing
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
        Ok(Watch { conn, progress: Progress { settled: epoch } })
    }

    /// Watches until the connection fails (the error) or the instance is gone (`Ok`).
    fn run(&mut self, changes: &Weak<Changes>) -> Result<(), DbError> {
        let mut last_read = Instant::now();
        loop {
            let Some(changes) = changes.upgrade() else { return Ok(()) };
            if let DbConn::Postgres(pg) = &mut self.conn {
                for notice in pg.notifications_iter() {
                    let notice = notice?;
                    let (instance, epoch, scopes) = read_notice(&notice.payload);
                    if instance == changes.instance {
                        continue;
                    }
                    changes.notices.fetch_add(1, Ordering::Relaxed);
                    changes.touch(&scopes);
                    if let Some(epoch) = epoch {
                        changes.account(epoch);
                    }
                }
            }
            if last_read.elapsed() >= EPOCH_EVERY {
                last_read = Instant::now();
                let epoch = read_epoch(&mut self.conn)?;
                let log = read_log(&mut self.conn, self.progress.settled, epoch)?;
                self.progress.advance(&changes, epoch, &log);
                changes.confirm();
            }
            drop(changes);
            std::thread::sleep(POLL);
        }
    }
}

/// The log's entries after `from` up to `to`, by epoch (none when that is more than the log keeps).
fn read_log(conn: &mut DbConn, from: i64, to: i64) -> Result<Vec<(i64, String)>, DbError> {
    if to <= from || to - from > LOGGED {
        return Ok(Vec::new());
    }
    Ok(change_log::table
        .filter(change_log::epoch.gt(from))
        .filter(change_log::epoch.le(to))
        .order(change_log::epoch.asc())
        .select((change_log::epoch, change_log::scopes))
        .load(conn)?)
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
    fn the_log_brings_what_no_notice_did_and_a_value_it_lacks_stamps_everything() {
        let changes = Changes::default();
        let mut progress = Progress { settled: 4 };
        let key = |id: i64| Scope::Key(id).slot().into_iter().collect::<Vec<_>>();
        assert!(!progress.advance(&changes, 4, &[]), "nothing moved");
        changes.account(5);
        let before = changes.generation();
        assert!(!progress.advance(&changes, 6, &[(5, "k1".into()), (6, "k2 o3".into())]), "5 ours, 6 logged");
        assert!(changes.unchanged_since(before, &key(1)), "ours was stamped when it was made");
        assert!(!changes.unchanged_since(before, &key(2)), "the logged one is stamped now");
        let before = changes.generation();
        assert!(progress.advance(&changes, 8, &[(8, "k4".into())]), "7 has no entry: made by hand");
        assert!(!changes.unchanged_since(before, &key(9)), "everything");
        assert!(progress.advance(&changes, 3, &[]), "an epoch that went back (a restored database)");
        assert!(progress.advance(&changes, 3 + LOGGED + 1, &[]), "further behind than the log keeps");
    }

    #[test]
    fn a_change_makes_stale_only_what_depends_on_its_scopes() {
        let changes = Changes::default();
        let key = |id: i64| Scope::Key(id).slot().into_iter().collect::<Vec<_>>();
        let filled = changes.generation();
        changes.touch(&[Scope::Key(1)]);
        assert!(!changes.unchanged_since(filled, &key(1)));
        assert!(changes.unchanged_since(filled, &key(2)) || Scope::Key(1).slot() == Scope::Key(2).slot());
        let refilled = changes.generation();
        assert!(changes.unchanged_since(refilled, &key(1)), "a fill after the change is fresh");
        changes.bump();
        assert!(!changes.unchanged_since(refilled, &key(2)), "everything");
    }

    #[test]
    fn notices_carry_scopes_within_the_payload_limit_or_announce_everything() {
        let scopes = [Scope::Key(12), Scope::Owner(5), Scope::Role(3), Scope::Catalogue(1), Scope::Secrets];
        let sent = notices("ab12", 7, &scopes);
        assert_eq!(sent, ["ab12 7 k12 o5 r3 c1 s"]);
        assert_eq!(read_notice(&sent[0]), ("ab12", Some(7), scopes.to_vec()));
        assert_eq!(read_notice("ab12"), ("ab12", None, vec![Scope::All]), "an older form");
        let many: Vec<Scope> = (0..3_000).map(Scope::Key).collect();
        let sent = notices("ab12", 8, &many);
        assert!(sent.len() > 1 && sent.iter().all(|n| n.len() <= PAYLOAD && n.starts_with("ab12 8 ")));
        let heard: Vec<Scope> = sent.iter().flat_map(|n| read_notice(n).2).collect();
        assert_eq!(heard, many);
        let too_many: Vec<Scope> = (0..100_000).map(Scope::Key).collect();
        assert_eq!(notices("ab12", 9, &too_many), ["ab12 9 *"]);
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
