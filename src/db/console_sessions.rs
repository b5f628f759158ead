//! Console sessions kept on the server: only the SHA-256 of each cookie's token is stored.

use diesel::prelude::*;

use super::DbConn;
use super::schema::console_sessions;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = console_sessions)]
pub struct ConsoleSessionRow {
    pub id: i64,
    pub account_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub ended_at: Option<i64>,
}

pub fn insert(
    conn: &mut DbConn,
    digest: &[u8],
    account_id: i64,
    now: i64,
    (ip, user_agent): (&str, &str),
) -> QResult<()> {
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::digest.eq(digest),
            console_sessions::account_id.eq(account_id),
            console_sessions::created_at.eq(now),
            console_sessions::last_seen_at.eq(now),
            console_sessions::ip.eq(ip),
            console_sessions::user_agent.eq(user_agent),
        ))
        .execute(conn)
        .map(drop)
}

/// The session a cookie's token names, ended or not.
pub fn find(conn: &mut DbConn, digest: &[u8]) -> QResult<Option<ConsoleSessionRow>> {
    console_sessions::table
        .filter(console_sessions::digest.eq(digest))
        .select(ConsoleSessionRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn touch(conn: &mut DbConn, id: i64, now: i64, ip: &str) -> QResult<()> {
    diesel::update(console_sessions::table.find(id))
        .set((console_sessions::last_seen_at.eq(now), console_sessions::ip.eq(ip)))
        .execute(conn)
        .map(drop)
}

/// The account's sessions that have not ended and were seen since `since`, most recent first.
pub fn live(conn: &mut DbConn, account_id: i64, since: i64) -> QResult<Vec<ConsoleSessionRow>> {
    console_sessions::table
        .filter(console_sessions::account_id.eq(account_id))
        .filter(console_sessions::ended_at.is_null())
        .filter(console_sessions::last_seen_at.ge(since))
        .order(console_sessions::last_seen_at.desc())
        .select(ConsoleSessionRow::as_select())
        .load(conn)
}

/// Ends the account's sessions: one (`only`), all but one (`except`), or all; returns how many.
pub fn end(conn: &mut DbConn, account_id: i64, only: Option<i64>, except: Option<i64>, now: i64) -> QResult<usize> {
    let mut query = diesel::update(console_sessions::table)
        .filter(console_sessions::account_id.eq(account_id))
        .filter(console_sessions::ended_at.is_null())
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(console_sessions::id.eq(id));
    }
    if let Some(id) = except {
        query = query.filter(console_sessions::id.ne(id));
    }
    query.set(console_sessions::ended_at.eq(now)).execute(conn)
}

/// Forgets the account's sessions that ended or were last seen before `before`.
pub fn purge(conn: &mut DbConn, account_id: i64, before: i64) -> QResult<usize> {
    diesel::delete(
        console_sessions::table
            .filter(console_sessions::account_id.eq(account_id))
            .filter(console_sessions::ended_at.is_not_null().or(console_sessions::last_seen_at.lt(before))),
    )
    .execute(conn)
}
