//! Key usage, written in batches by the usage flusher (never one write per verification).

use diesel::prelude::*;

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

/// Keys checked for existence per query.
const CHUNK: usize = 500;

/// Applies a flush's batches. Keys deleted meanwhile are skipped. Per key this is, in the steady
/// state, three single-row updates (usage, the day's count, one slot of the recent-uses ring).
pub fn apply_all(conn: &mut DbConn, batches: &[Batch]) -> QResult<()> {
    for chunk in batches.chunks(CHUNK) {
        let ids: Vec<i64> = chunk.iter().map(|b| b.key_id).collect();
        let existing: std::collections::HashSet<i64> = super::schema::api_keys::table
            .filter(super::schema::api_keys::id.eq_any(&ids))
            .select(super::schema::api_keys::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        for batch in chunk.iter().filter(|b| existing.contains(&b.key_id)) {
            apply(conn, batch)?;
        }
    }
    Ok(())
}

fn apply(conn: &mut DbConn, b: &Batch) -> QResult<()> {
    let flushes: Option<i64> = diesel::update(key_usage::table.find(b.key_id))
        .set((
            key_usage::last_used_at.eq(b.last_used_at),
            key_usage::last_used_ip.eq(&b.ip),
            key_usage::last_used_path.eq(&b.path),
            key_usage::use_count.eq(key_usage::use_count + b.count),
            key_usage::flushes.eq(key_usage::flushes + 1),
        ))
        .returning(key_usage::flushes)
        .get_result(conn)
        .optional()?;
    let flushes = match flushes {
        Some(n) => n,
        None => {
            diesel::insert_into(key_usage::table)
                .values((
                    key_usage::key_id.eq(b.key_id),
                    key_usage::last_used_at.eq(b.last_used_at),
                    key_usage::last_used_ip.eq(&b.ip),
                    key_usage::last_used_path.eq(&b.path),
                    key_usage::use_count.eq(b.count),
                    key_usage::flushes.eq(1),
                ))
                .execute(conn)?;
            1
        }
    };
    for (day, uses) in &b.per_day {
        let updated = diesel::update(key_usage_daily::table.find((b.key_id, day)))
            .set(key_usage_daily::uses.eq(key_usage_daily::uses + uses))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(key_usage_daily::table)
                .values((
                    key_usage_daily::key_id.eq(b.key_id),
                    key_usage_daily::day.eq(day),
                    key_usage_daily::uses.eq(uses),
                ))
                .execute(conn)?;
        }
    }
    if b.secret_retiring {
        diesel::update(key_secrets::table.find(b.secret_id))
            .set(key_secrets::last_used_at.eq(b.last_used_at))
            .execute(conn)?;
    }
    let slot = (flushes - 1).rem_euclid(RECENT_USES_KEPT);
    let updated = diesel::update(
        key_recent_uses::table.filter(key_recent_uses::key_id.eq(b.key_id)).filter(key_recent_uses::slot.eq(slot)),
    )
    .set((
        key_recent_uses::used_at.eq(b.last_used_at),
        key_recent_uses::ip.eq(&b.ip),
        key_recent_uses::path.eq(&b.path),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(key_recent_uses::table)
            .values((
                key_recent_uses::key_id.eq(b.key_id),
                key_recent_uses::slot.eq(slot),
                key_recent_uses::used_at.eq(b.last_used_at),
                key_recent_uses::ip.eq(&b.ip),
                key_recent_uses::path.eq(&b.path),
            ))
            .execute(conn)?;
    }
    Ok(())
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
