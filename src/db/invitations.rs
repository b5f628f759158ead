//! Invitations to join a workspace, for people who already have an account elsewhere.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{accounts, invitations, workspaces};
use crate::domain::role::ConsoleRole;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i64,
    pub workspace_id: i64,
    pub account_id: i64,
    pub role: String,
    pub created_at: i64,
}

impl Invitation {
    pub fn role(&self) -> ConsoleRole {
        ConsoleRole::parse(&self.role).unwrap_or(ConsoleRole::Member)
    }
}

/// Invites the account with the role, unless it is invited already; returns whether a new one was made.
pub fn create(
    conn: &mut DbConn,
    workspace_id: i64,
    account_id: i64,
    role: ConsoleRole,
    invited_by: Option<i64>,
    now: i64,
) -> QResult<bool> {
    if find_for(conn, workspace_id, account_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(invitations::table)
        .values((
            invitations::workspace_id.eq(workspace_id),
            invitations::account_id.eq(account_id),
            invitations::role.eq(role.code()),
            invitations::invited_by.eq(invited_by),
            invitations::created_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn find(conn: &mut DbConn, id: i64) -> QResult<Option<Invitation>> {
    invitations::table.find(id).select(Invitation::as_select()).get_result(conn).optional()
}

pub fn find_for(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::workspace_id.eq(workspace_id))
        .filter(invitations::account_id.eq(account_id))
        .select(Invitation::as_select())
        .get_result(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, id: i64) -> QResult<usize> {
    diesel::delete(invitations::table.find(id)).execute(conn)
}

/// What the inviting workspace sees of a pending invitation: the email it typed, never the name.
#[derive(Debug, Clone, Queryable)]
pub struct Pending {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

/// The workspace's pending invitations, newest first.
pub fn pending_in(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Pending>> {
    invitations::table
        .inner_join(accounts::table)
        .filter(invitations::workspace_id.eq(workspace_id))
        .order(invitations::id.desc())
        .select((invitations::id, accounts::email, invitations::role, invitations::created_at))
        .load(conn)
}

/// What the invited person sees: which workspace, with which role.
#[derive(Debug, Clone, Queryable)]
pub struct Received {
    pub id: i64,
    pub workspace: String,
    pub role: String,
    pub created_at: i64,
}

/// An account's invitations to workspaces that are not archived, oldest first.
pub fn received(conn: &mut DbConn, account_id: i64) -> QResult<Vec<Received>> {
    invitations::table
        .inner_join(workspaces::table)
        .filter(invitations::account_id.eq(account_id))
        .filter(workspaces::archived_at.is_null())
        .order(invitations::id.asc())
        .select((invitations::id, workspaces::name, invitations::role, invitations::created_at))
        .load(conn)
}

/// How many invitations wait for the account's answer.
pub fn received_count(conn: &mut DbConn, account_id: i64) -> QResult<i64> {
    invitations::table
        .inner_join(workspaces::table)
        .filter(invitations::account_id.eq(account_id))
        .filter(workspaces::archived_at.is_null())
        .count()
        .get_result(conn)
}
