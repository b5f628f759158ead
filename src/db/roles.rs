//! Roles of a workspace (the built-in ADMIN and READONLY, and custom roles).

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{account_roles, accounts, api_key_roles, api_keys, role_permissions, roles};

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: Option<String>,
}

pub fn list(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Role>> {
    roles::table
        .filter(roles::workspace_id.eq(workspace_id))
        .order((roles::builtin.is_null(), roles::name.asc()))
        .select(Role::as_select())
        .load(conn)
}

pub fn find_by_name(conn: &mut DbConn, workspace_id: i64, name: &str) -> QResult<Option<Role>> {
    let wanted = crate::domain::name::comparable(name);
    Ok(list(conn, workspace_id)?.into_iter().find(|r| crate::domain::name::comparable(&r.name) == wanted))
}

pub fn find(conn: &mut DbConn, workspace_id: i64, id: i64) -> QResult<Option<Role>> {
    roles::table
        .filter(roles::workspace_id.eq(workspace_id))
        .filter(roles::id.eq(id))
        .select(Role::as_select())
        .get_result(conn)
        .optional()
}

/// Every (role, permission) pair of the workspace's custom roles.
pub fn permission_pairs(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, i64)>> {
    role_permissions::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .select((role_permissions::role_id, role_permissions::permission_id))
        .load(conn)
}

pub fn insert(conn: &mut DbConn, workspace_id: i64, name: &str, description: &str, now: i64) -> QResult<i64> {
    diesel::insert_into(roles::table)
        .values((
            roles::workspace_id.eq(workspace_id),
            roles::name.eq(name),
            roles::description.eq(description),
            roles::created_at.eq(now),
            roles::updated_at.eq(now),
        ))
        .returning(roles::id)
        .get_result(conn)
}

pub fn update(conn: &mut DbConn, id: i64, name: &str, description: &str, now: i64) -> QResult<()> {
    touched(Scope::Role(id));
    diesel::update(roles::table.find(id))
        .set((roles::name.eq(name), roles::description.eq(description), roles::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

pub fn set_permissions(conn: &mut DbConn, id: i64, permission_ids: &[i64]) -> QResult<()> {
    touched(Scope::Role(id));
    diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(id))).execute(conn)?;
    for p in permission_ids {
        diesel::insert_into(role_permissions::table)
            .values((role_permissions::role_id.eq(id), role_permissions::permission_id.eq(p)))
            .execute(conn)?;
    }
    Ok(())
}

/// A key that holds a role: (key id, key name, owner id, owner email).
pub fn keys_holding(conn: &mut DbConn, id: i64) -> QResult<Vec<(i64, String, i64, String)>> {
    api_key_roles::table
        .inner_join(api_keys::table.inner_join(accounts::table.on(accounts::id.eq(api_keys::owner_id))))
        .filter(api_key_roles::role_id.eq(id))
        .order(api_keys::name.asc())
        .select((api_keys::id, api_keys::name, api_keys::owner_id, accounts::email))
        .load(conn)
}

/// Accounts that hold a role: (account id, email).
pub fn accounts_holding(conn: &mut DbConn, id: i64) -> QResult<Vec<(i64, String)>> {
    account_roles::table
        .inner_join(accounts::table)
        .filter(account_roles::role_id.eq(id))
        .order(accounts::email.asc())
        .select((accounts::id, accounts::email))
        .load(conn)
}

/// How many keys and accounts hold each role of the workspace: (role id, keys, accounts).
pub fn usage_counts(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, i64, i64)>> {
    let keys: Vec<(i64, i64)> = api_key_roles::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .group_by(api_key_roles::role_id)
        .select((api_key_roles::role_id, diesel::dsl::count_star()))
        .load(conn)?;
    let people: Vec<(i64, i64)> = account_roles::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .group_by(account_roles::role_id)
        .select((account_roles::role_id, diesel::dsl::count_star()))
        .load(conn)?;
    let count = |list: &[(i64, i64)], id: i64| list.iter().find(|(r, _)| *r == id).map_or(0, |(_, n)| *n);
    Ok(list(conn, workspace_id)?.into_iter().map(|r| (r.id, count(&keys, r.id), count(&people, r.id))).collect())
}

/// Removes a custom role; its grants to keys and accounts and its permissions go with it.
pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    touched(Scope::Role(id));
    diesel::delete(api_key_roles::table.filter(api_key_roles::role_id.eq(id))).execute(conn)?;
    diesel::delete(account_roles::table.filter(account_roles::role_id.eq(id))).execute(conn)?;
    diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(id))).execute(conn)?;
    diesel::delete(roles::table.find(id)).execute(conn).map(drop)
}
