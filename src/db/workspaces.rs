//! Workspaces and memberships.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{key_types, memberships, roles, workspaces};
use crate::domain::key_type::{BuiltinRole, SEEDED};
use crate::domain::role::ConsoleRole;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
}

/// Creates a workspace with its seeded key types and built-in roles.
pub fn create(conn: &mut DbConn, name: &str, now: i64) -> QResult<i64> {
    let id = diesel::insert_into(workspaces::table)
        .values((workspaces::name.eq(name), workspaces::created_at.eq(now)))
        .returning(workspaces::id)
        .get_result(conn)?;
    for t in SEEDED {
        diesel::insert_into(key_types::table)
            .values((
                key_types::workspace_id.eq(id),
                key_types::name.eq(t.name),
                key_types::prefix.eq(t.prefix),
                key_types::id_field_label.eq(t.id_field_label),
                key_types::editable.eq(t.editable),
                key_types::one_per_account.eq(t.one_per_account),
                key_types::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    for role in BuiltinRole::ALL {
        diesel::insert_into(roles::table)
            .values((
                roles::workspace_id.eq(id),
                roles::name.eq(role.name()),
                roles::description.eq(role.description()),
                roles::builtin.eq(role.code()),
                roles::created_at.eq(now),
                roles::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(id)
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

pub fn add_member(conn: &mut DbConn, workspace_id: i64, account_id: i64, role: ConsoleRole, now: i64) -> QResult<()> {
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
        .get_result(conn)
        .optional()
}

/// The workspace's longest-serving active administrator other than `except`.
pub fn senior_admin(conn: &mut DbConn, workspace_id: i64, except: i64) -> QResult<Option<i64>> {
    use super::schema::accounts;
    memberships::table
        .inner_join(accounts::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(memberships::role.eq(ConsoleRole::Administrator.code()))
        .filter(memberships::account_id.ne(except))
        .filter(accounts::disabled_at.is_null())
        .order((memberships::created_at.asc(), memberships::account_id.asc()))
        .select(memberships::account_id)
        .first(conn)
        .optional()
}

pub fn role_in(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<Option<ConsoleRole>> {
    let role: Option<String> =
        memberships::table.find((account_id, workspace_id)).select(memberships::role).get_result(conn).optional()?;
    Ok(role.and_then(|r| ConsoleRole::parse(&r)))
}

pub fn set_role(conn: &mut DbConn, workspace_id: i64, account_id: i64, role: ConsoleRole) -> QResult<usize> {
    diesel::update(memberships::table.find((account_id, workspace_id)))
        .set(memberships::role.eq(role.code()))
        .execute(conn)
}
