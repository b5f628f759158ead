//! Shared secrets: sealed under the master key, one current per workspace and any number retiring.

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{shared_secrets, workspaces};

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shared_secrets)]
pub struct StoredSecret {
    pub id: i64,
    pub workspace_id: i64,
    pub sealed: Vec<u8>,
    pub master_key_version: i64,
    pub created_at: i64,
    pub retires_at: Option<i64>,
}

/// Every secret still accepted at `now`, newest first within each workspace.
pub fn live(conn: &mut DbConn, now: i64) -> QResult<Vec<StoredSecret>> {
    shared_secrets::table
        .filter(shared_secrets::retires_at.is_null().or(shared_secrets::retires_at.gt(now)))
        .order((shared_secrets::workspace_id, shared_secrets::created_at.desc(), shared_secrets::id.desc()))
        .select(StoredSecret::as_select())
        .load(conn)
}

/// The workspace's secrets still accepted at `now`, newest (the current one) first.
pub fn live_in(conn: &mut DbConn, workspace_id: i64, now: i64) -> QResult<Vec<StoredSecret>> {
    shared_secrets::table
        .filter(shared_secrets::workspace_id.eq(workspace_id))
        .filter(shared_secrets::retires_at.is_null().or(shared_secrets::retires_at.gt(now)))
        .order((shared_secrets::created_at.desc(), shared_secrets::id.desc()))
        .select(StoredSecret::as_select())
        .load(conn)
}

/// Workspaces that have no secret in force.
pub fn workspaces_without(conn: &mut DbConn, now: i64) -> QResult<Vec<i64>> {
    let with = shared_secrets::table
        .filter(shared_secrets::retires_at.is_null().or(shared_secrets::retires_at.gt(now)))
        .select(shared_secrets::workspace_id);
    workspaces::table.filter(workspaces::id.ne_all(with)).select(workspaces::id).order(workspaces::id).load(conn)
}

pub fn insert(conn: &mut DbConn, workspace_id: i64, sealed: &[u8], master_key_version: i64, now: i64) -> QResult<()> {
    touched(Scope::Signing);
    diesel::insert_into(shared_secrets::table)
        .values((
            shared_secrets::workspace_id.eq(workspace_id),
            shared_secrets::sealed.eq(sealed),
            shared_secrets::master_key_version.eq(master_key_version),
            shared_secrets::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Every secret of the workspace still in force stops being accepted at `at` (or earlier, if it
/// was already due to); secrets already retired are forgotten. Returns how many will retire.
pub fn retire_all(conn: &mut DbConn, workspace_id: i64, at: i64, now: i64) -> QResult<usize> {
    touched(Scope::Signing);
    diesel::delete(
        shared_secrets::table
            .filter(shared_secrets::workspace_id.eq(workspace_id))
            .filter(shared_secrets::retires_at.le(now)),
    )
    .execute(conn)?;
    diesel::update(
        shared_secrets::table
            .filter(shared_secrets::workspace_id.eq(workspace_id))
            .filter(shared_secrets::retires_at.is_null().or(shared_secrets::retires_at.gt(at))),
    )
    .set(shared_secrets::retires_at.eq(at))
    .execute(conn)
}

/// Ends the overlap: every secret of the workspace but the newest stops now. Returns how many did.
pub fn retire_previous(conn: &mut DbConn, workspace_id: i64, current_id: i64, now: i64) -> QResult<usize> {
    touched(Scope::Signing);
    diesel::update(
        shared_secrets::table
            .filter(shared_secrets::workspace_id.eq(workspace_id))
            .filter(shared_secrets::id.ne(current_id))
            .filter(shared_secrets::retires_at.gt(now)),
    )
    .set(shared_secrets::retires_at.eq(now))
    .execute(conn)
}
