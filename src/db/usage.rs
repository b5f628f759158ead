//! Key usage, written in batches by the usage flusher (never one write per verification).

use diesel::prelude::*;

use diesel::sql_types::{Nullable, Text};

use super::DbConn;
use super::schema::{key_recent_uses, key_secrets, key_usage, key_usage_daily};

type QResult<T> = Result<T, diesel::result::Error>;

/// Uses of one key since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub key_id: i64,
    pub secret_id: i64,
    /// Whether that secret is the previous one of a rotation overlap: only then is its own last use
    /// worth a write (the key page says whether the old secret is still in use).
    pub secret_retiring: bool,
    pub count: i64,
    pub last_used_at: i64,
    pub ip: Option<String>,
    pub path: Option<String>,
    /// Uses per unix day in this batch.
    pub per_day: Vec<(i64, i64)>,
}

/// How many recent uses each key keeps for its page: a ring of this many slots.
pub const RECENT_USES_KEPT: i64 = 20;

/// A key's recent uses are samples at least this far apart: the last use of the first flush after the
/// previous sample's minute. A busy key then costs one ring write a minute, not one per flush, and its
/// twenty rows span twenty minutes of use rather than a hundred seconds.
pub const SAMPLE_EVERY_SECS: i64 = 60;

/// Keys checked for existence per query.
const CHUNK: usize = 500;

/// Applies a flush's batches, skipping keys deleted meanwhile. A few statements per `CHUNK` keys,
/// whatever their number: one upsert of the usage rows (which also decides whose sample is due), one of
/// the day counts, one that writes those keys' next slot of the recent-uses ring from the usage row it
/// just updated (plus one update per retiring secret, rare). Integers are written into the statement;
/// the strings are bound.
pub fn apply_all(conn: &mut DbConn, batches: &[Batch]) -> QResult<()> {
    for chunk in batches.chunks(CHUNK) {
        let existing = existing_keys(conn, chunk)?;
        let live: Vec<&Batch> = chunk.iter().filter(|b| existing.contains(&b.key_id)).collect();
        if live.is_empty() {
            continue;
        }
        upsert_usage(conn, &live)?;
        upsert_days(conn, &live)?;
        write_ring(conn, &live)?;
        for b in live.iter().filter(|b| b.secret_retiring) {
            diesel::update(key_secrets::table.find(b.secret_id))
                .set(key_secrets::last_used_at.eq(b.last_used_at))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Which of the batches' keys still exist. A key with a usage row exists (deleting a key deletes its
/// usage), so only keys never used before are looked for among the keys themselves: a flush reads the
/// small usage table, which it is about to write anyway, rather than the wide table of keys.
fn existing_keys(conn: &mut DbConn, chunk: &[Batch]) -> QResult<std::collections::HashSet<i64>> {
    use super::schema::api_keys;
    let ids: Vec<i64> = chunk.iter().map(|b| b.key_id).collect();
    let mut existing: std::collections::HashSet<i64> = key_usage::table
        .filter(key_usage::key_id.eq_any(&ids))
        .select(key_usage::key_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let first_uses: Vec<i64> = ids.into_iter().filter(|id| !existing.contains(id)).collect();
    if !first_uses.is_empty() {
        existing
            .extend(api_keys::table.filter(api_keys::id.eq_any(&first_uses)).select(api_keys::id).load::<i64>(conn)?);
    }
    Ok(existing)
}

/// The `n`th bound parameter (from 1) in the connection's own syntax.
fn placeholder(conn: &DbConn, n: usize) -> String {
    match conn {
        DbConn::Postgres(_) => format!("${n}"),
        DbConn::Sqlite(_) => format!("?{n}"),
    }
}

fn upsert_usage(conn: &mut DbConn, live: &[&Batch]) -> QResult<()> {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO key_usage (key_id, last_used_at, last_used_ip, last_used_path, use_count, samples, sample_due) \
         VALUES ",
    );
    for (i, b) in live.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let (ip, path) = (placeholder(conn, 2 * i + 1), placeholder(conn, 2 * i + 2));
        let (at, due) = (b.last_used_at, b.last_used_at + SAMPLE_EVERY_SECS);
        let _ = write!(sql, "{sep}({}, {at}, {ip}, {path}, {}, 1, {due})", b.key_id, b.count);
    }
    // Every right-hand side reads the row as it was, so both CASEs see the old sample_due.
    sql.push_str(
        " ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at, \
         last_used_ip = excluded.last_used_ip, last_used_path = excluded.last_used_path, \
         use_count = key_usage.use_count + excluded.use_count, \
         samples = key_usage.samples + CASE WHEN excluded.last_used_at >= key_usage.sample_due THEN 1 ELSE 0 END, \
         sample_due = CASE WHEN excluded.last_used_at >= key_usage.sample_due \
             THEN excluded.sample_due ELSE key_usage.sample_due END",
    );
    let mut query = diesel::sql_query(sql).into_boxed();
    for b in live {
        query = query.bind::<Nullable<Text>, _>(b.ip.as_deref()).bind::<Nullable<Text>, _>(b.path.as_deref());
    }
    query.execute(conn).map(drop)
}

fn upsert_days(conn: &mut DbConn, live: &[&Batch]) -> QResult<()> {
    use std::fmt::Write as _;
    let mut sql = String::from("INSERT INTO key_usage_daily (key_id, day, uses) VALUES ");
    let mut first = true;
    for b in live {
        for (day, uses) in &b.per_day {
            let _ = write!(sql, "{}({}, {day}, {uses})", if first { "" } else { ", " }, b.key_id);
            first = false;
        }
    }
    if first {
        return Ok(());
    }
    sql.push_str(" ON CONFLICT (key_id, day) DO UPDATE SET uses = key_usage_daily.uses + excluded.uses");
    diesel::sql_query(sql).execute(conn).map(drop)
}

/// The sample of each key `upsert_usage` just took one of — its due time is this use plus the interval,
/// which is what it set — into slot `(samples - 1) % RECENT_USES_KEPT`. (A key used again in the same
/// second after its sample has its slot written again with the same use.)
fn write_ring(conn: &mut DbConn, live: &[&Batch]) -> QResult<()> {
    let ids = live.iter().map(|b| b.key_id.to_string()).collect::<Vec<_>>().join(", ");
    // `WHERE` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    let sql = format!(
        "INSERT INTO key_recent_uses (key_id, slot, used_at, ip, path) \
         SELECT key_id, (samples - 1) % {RECENT_USES_KEPT}, last_used_at, last_used_ip, last_used_path \
         FROM key_usage WHERE key_id IN ({ids}) AND sample_due = last_used_at + {SAMPLE_EVERY_SECS} \
         ON CONFLICT (key_id, slot) DO UPDATE SET used_at = excluded.used_at, ip = excluded.ip, path = excluded.path"
    );
    diesel::sql_query(sql).execute(conn).map(drop)
}

#[derive(Debug, Clone, Queryable)]
pub struct LastUse {
    pub at: i64,
    pub ip: Option<String>,
    pub path: Option<String>,
    pub count: i64,
}

pub fn last_used(conn: &mut DbConn, key_id: i64) -> QResult<Option<LastUse>> {
    key_usage::table
        .find(key_id)
        .select((key_usage::last_used_at, key_usage::last_used_ip, key_usage::last_used_path, key_usage::use_count))
        .get_result(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable)]
pub struct RecentUse {
    pub used_at: i64,
    pub ip: Option<String>,
    pub path: Option<String>,
}

pub fn recent_uses(conn: &mut DbConn, key_id: i64) -> QResult<Vec<RecentUse>> {
    key_recent_uses::table
        .filter(key_recent_uses::key_id.eq(key_id))
        .order((key_recent_uses::used_at.desc(), key_recent_uses::id.desc()))
        .limit(RECENT_USES_KEPT)
        .select((key_recent_uses::used_at, key_recent_uses::ip, key_recent_uses::path))
        .load(conn)
}

/// Uses per day from `first_day` on.
pub fn daily(conn: &mut DbConn, key_id: i64, first_day: i64) -> QResult<Vec<(i64, i64)>> {
    key_usage_daily::table
        .filter(key_usage_daily::key_id.eq(key_id))
        .filter(key_usage_daily::day.ge(first_day))
        .order(key_usage_daily::day.asc())
        .select((key_usage_daily::day, key_usage_daily::uses))
        .load(conn)
}
