//! Workspaces and memberships.

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
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
    // Nothing cached depends on it yet; naming it (and the signing secrets) lets the instances give it a
    // shared secret at once.
    touched(Scope::Workspace(id));
    touched(Scope::Signing);
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
    Ok(of_account(conn, account_id)?.into_iter().next())
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

/// A workspace as the super-administrator's list shows it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub members: i64,
    pub keys: i64,
}

/// Every workspace, archived ones too, oldest first, with how many members and keys each holds.
pub fn summaries(conn: &mut DbConn) -> QResult<Vec<Summary>> {
    summaries_of(conn, None)
}

/// One workspace, archived or not.
pub fn summary(conn: &mut DbConn, id: i64) -> QResult<Option<Summary>> {
    Ok(summaries_of(conn, Some(id))?.into_iter().next())
}

fn summaries_of(conn: &mut DbConn, only: Option<i64>) -> QResult<Vec<Summary>> {
    use super::schema::api_keys;
    let mut rows = workspaces::table
        .order(workspaces::id.asc())
        .select((workspaces::id, workspaces::name, workspaces::created_at, workspaces::archived_at))
        .into_boxed();
    let mut members = memberships::table
        .group_by(memberships::workspace_id)
        .select((memberships::workspace_id, diesel::dsl::count_star()))
        .into_boxed();
    let mut keys = api_keys::table
        .group_by(api_keys::workspace_id)
        .select((api_keys::workspace_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(id) = only {
        rows = rows.filter(workspaces::id.eq(id));
        members = members.filter(memberships::workspace_id.eq(id));
        keys = keys.filter(api_keys::workspace_id.eq(id));
    }
    let rows: Vec<(i64, String, i64, Option<i64>)> = rows.load(conn)?;
    let members: Vec<(i64, i64)> = members.load(conn)?;
    let keys: Vec<(i64, i64)> = keys.load(conn)?;
    let count = |list: &[(i64, i64)], id| list.iter().find(|(ws, _)| *ws == id).map_or(0, |(_, n)| *n);
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, archived_at)| Summary {
            members: count(&members, id),
            keys: count(&keys, id),
            id,
            name,
            created_at,
            archived_at,
        })
        .collect())
}

/// Whether another workspace already has this name (compared case-insensitively).
pub fn name_taken(conn: &mut DbConn, name: &str, except: Option<i64>) -> QResult<bool> {
    let names: Vec<(i64, String)> = workspaces::table.select((workspaces::id, workspaces::name)).load(conn)?;
    let wanted = crate::domain::name::comparable(name);
    Ok(names.iter().any(|(id, n)| Some(*id) != except && crate::domain::name::comparable(n) == wanted))
}

pub fn rename(conn: &mut DbConn, id: i64, name: &str) -> QResult<usize> {
    diesel::update(workspaces::table.find(id)).set(workspaces::name.eq(name)).execute(conn)
}

/// Archives (`Some(when)`) or restores (`None`) a workspace.
pub fn set_archived(conn: &mut DbConn, id: i64, at: Option<i64>) -> QResult<usize> {
    touched(Scope::Workspace(id));
    touched(Scope::Signing);
    if at.is_none() {
        // Its keys' digests, known to be unknown while it was archived, are found again.
        touched(Scope::Secrets);
    }
    diesel::update(workspaces::table.find(id)).set(workspaces::archived_at.eq(at)).execute(conn)
}

/// The workspaces an account may switch to: its memberships that are not archived, oldest first.
pub fn of_account(conn: &mut DbConn, account_id: i64) -> QResult<Vec<Workspace>> {
    workspaces::table
        .inner_join(memberships::table)
        .filter(memberships::account_id.eq(account_id))
        .filter(workspaces::archived_at.is_null())
        .order(workspaces::id.asc())
        .select(Workspace::as_select())
        .load(conn)
}

/// How many workspaces an account belongs to, archived ones included.
pub fn membership_count(conn: &mut DbConn, account_id: i64) -> QResult<i64> {
    memberships::table.filter(memberships::account_id.eq(account_id)).count().get_result(conn)
}

/// How many active Administrators the workspace has.
pub fn admin_count(conn: &mut DbConn, workspace_id: i64) -> QResult<i64> {
    use super::schema::accounts;
    memberships::table
        .inner_join(accounts::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(memberships::role.eq(ConsoleRole::Administrator.code()))
        .filter(accounts::disabled_at.is_null())
        .count()
        .get_result(conn)
}

/// Ends an account's membership: its grants and custom roles in the workspace and its notifications
/// there go too. Its keys there must have been reassigned first.
pub fn remove_member(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<usize> {
    use super::schema::{account_permissions, account_roles, notifications, permissions};
    touched(Scope::Owner(account_id));
    let ws_permissions = permissions::table.filter(permissions::workspace_id.eq(workspace_id)).select(permissions::id);
    diesel::delete(
        account_permissions::table
            .filter(account_permissions::account_id.eq(account_id))
            .filter(account_permissions::permission_id.eq_any(ws_permissions)),
    )
    .execute(conn)?;
    let ws_roles = roles::table.filter(roles::workspace_id.eq(workspace_id)).select(roles::id);
    diesel::delete(
        account_roles::table
            .filter(account_roles::account_id.eq(account_id))
            .filter(account_roles::role_id.eq_any(ws_roles)),
    )
    .execute(conn)?;
    diesel::delete(
        notifications::table
            .filter(notifications::account_id.eq(account_id))
            .filter(notifications::workspace_id.eq(workspace_id)),
    )
    .execute(conn)?;
    diesel::delete(memberships::table.find((account_id, workspace_id))).execute(conn)
}
