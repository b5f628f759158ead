//! One-time password links: only the token's digest is stored.

use diesel::prelude::*;

use super::DbConn;
use super::schema::password_links;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_links)]
pub struct PasswordLink {
    pub id: i64,
    pub account_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// `password` (choose a password) or `verify` (prove a signed-up account's email).
    pub purpose: String,
}

/// Stores a new link for the account and purpose, retiring the one it had.
pub fn replace(
    conn: &mut DbConn,
    (account_id, purpose): (i64, &str),
    digest: &[u8],
    created_by: Option<i64>,
    now: i64,
    expires_at: i64,
) -> QResult<()> {
    diesel::delete(
        password_links::table
            .filter(password_links::account_id.eq(account_id))
            .filter(password_links::purpose.eq(purpose)),
    )
    .execute(conn)?;
    diesel::insert_into(password_links::table)
        .values((
            password_links::account_id.eq(account_id),
            password_links::purpose.eq(purpose),
            password_links::digest.eq(digest),
            password_links::created_by.eq(created_by),
            password_links::created_at.eq(now),
            password_links::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, digest: &[u8]) -> QResult<Option<PasswordLink>> {
    password_links::table
        .filter(password_links::digest.eq(digest))
        .select(PasswordLink::as_select())
        .get_result(conn)
        .optional()
}

/// Marks a link used; false when it already was (a concurrent use won).
pub fn use_once(conn: &mut DbConn, id: i64, now: i64) -> QResult<bool> {
    let changed = diesel::update(password_links::table.find(id).filter(password_links::used_at.is_null()))
        .set(password_links::used_at.eq(now))
        .execute(conn)?;
    Ok(changed == 1)
}
