//! Workspaces and memberships.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{memberships, workspaces};
use crate::domain::role::ConsoleRole;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
}

pub fn create(conn: &mut DbConn, name: &str, now: i64) -> QResult<i64> {
    diesel::insert_into(workspaces::table)
        .values((workspaces::name.eq(name), workspaces::created_at.eq(now)))
        .returning(workspaces::id)
        .get_result(conn)
}

/// The oldest workspace that is not archived: where a fresh install's data lives.
pub fn first(conn: &mut DbConn) -> QResult<Option<Workspace>> {
    workspaces::table
        .filter(workspaces::archived_at.is_null())
        .order(workspaces::id.asc())
        .select(Workspace::as_select())
        .first(conn)
        .optional()
}

pub fn add_member(
    conn: &mut DbConn,
    workspace_id: i64,
    account_id: i64,
    role: ConsoleRole,
    now: i64,
) -> QResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::workspace_id.eq(workspace_id),
            memberships::account_id.eq(account_id),
            memberships::role.eq(role.code()),
            memberships::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// The workspace an account lands in after sign-in: the oldest it belongs to.
pub fn home_of(conn: &mut DbConn, account_id: i64) -> QResult<Option<Workspace>> {
    workspaces::table
        .inner_join(memberships::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(workspaces::archived_at.is_null())
        .order(workspaces::id.asc())
        .select(Workspace::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QResult<Option<Workspace>> {
    workspaces::table
        .find(id)
        .filter(workspaces::archived_at.is_null())
        .select(Workspace::as_select())
        .first(conn)
        .optional()
}
