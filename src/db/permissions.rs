//! The permission catalogue of a workspace and what keys and accounts are granted.

use std::collections::BTreeSet;

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{
    account_permissions, account_roles, api_key_permissions, api_key_roles, permission_rules, permissions,
    role_permissions, roles,
};
use crate::domain::access::{Grants, Permission};
use crate::domain::key_type::BuiltinRole;
use crate::domain::uri::UriRule;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = permissions)]
pub struct PermissionRow {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub description: String,
    pub risk: String,
    pub writes: bool,
}

/// The whole catalogue with parsed URI rules, ordered by name.
pub fn catalogue(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Permission>> {
    let rows: Vec<PermissionRow> = permissions::table
        .filter(permissions::workspace_id.eq(workspace_id))
        .order(permissions::name.asc())
        .select(PermissionRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let rules: Vec<(i64, String, String)> = permission_rules::table
        .filter(permission_rules::permission_id.eq_any(&ids))
        .order(permission_rules::id.asc())
        .select((permission_rules::permission_id, permission_rules::method, permission_rules::pattern))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Permission {
            rules: rules
                .iter()
                .filter(|(p, ..)| *p == r.id)
                .filter_map(|(_, m, pat)| {
                    UriRule::parse(m, pat)
                        .inspect_err(|e| tracing::warn!(permission = %r.name, error = %e, "stored URI rule does not parse; ignored"))
                        .ok()
                })
                .collect(),
            id: r.id,
            high_risk: r.risk == "high",
            writes: r.writes,
            name: r.name,
            label: r.label,
        })
        .collect())
}

pub fn rows(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<PermissionRow>> {
    permissions::table
        .filter(permissions::workspace_id.eq(workspace_id))
        .order(permissions::name.asc())
        .select(PermissionRow::as_select())
        .load(conn)
}

/// Grants through roles: ADMIN and READONLY set their flags, custom roles add their permissions.
fn role_grants(conn: &mut DbConn, role_ids: &[i64], grants: &mut Grants) -> QResult<()> {
    grants.roles.extend(role_ids);
    let builtin: Vec<Option<String>> =
        roles::table.filter(roles::id.eq_any(role_ids)).select(roles::builtin).load(conn)?;
    for code in builtin.into_iter().flatten() {
        match BuiltinRole::parse(&code) {
            Some(BuiltinRole::Admin) => grants.everything = true,
            Some(BuiltinRole::ReadOnly) => grants.read_only = true,
            None => {}
        }
    }
    let via_roles: Vec<i64> = role_permissions::table
        .filter(role_permissions::role_id.eq_any(role_ids))
        .select(role_permissions::permission_id)
        .load(conn)?;
    grants.permissions.extend(via_roles);
    Ok(())
}

/// The grants a draft key would have: these roles of the workspace (others are ignored) and these
/// permissions directly.
pub fn draft_grants(conn: &mut DbConn, workspace_id: i64, role_ids: &[i64], direct: &[i64]) -> QResult<Grants> {
    let role_ids: Vec<i64> = roles::table
        .filter(roles::workspace_id.eq(workspace_id))
        .filter(roles::id.eq_any(role_ids))
        .select(roles::id)
        .load(conn)?;
    let mut grants = Grants { permissions: direct.iter().copied().collect(), ..Grants::default() };
    role_grants(conn, &role_ids, &mut grants)?;
    Ok(grants)
}

/// The accounts of a workspace that hold a permission: directly, through a custom role that has it, or
/// through a built-in role (ADMIN: everything; READONLY: what does not write).
pub fn holders(conn: &mut DbConn, workspace_id: i64, p: &Permission) -> QResult<BTreeSet<i64>> {
    let mut held: BTreeSet<i64> = account_permissions::table
        .filter(account_permissions::permission_id.eq(p.id))
        .select(account_permissions::account_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut builtin = vec![BuiltinRole::Admin.code()];
    if !p.writes {
        builtin.push(BuiltinRole::ReadOnly.code());
    }
    let with_it =
        role_permissions::table.filter(role_permissions::permission_id.eq(p.id)).select(role_permissions::role_id);
    let through_roles: Vec<i64> = account_roles::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .filter(roles::id.eq_any(with_it).or(roles::builtin.eq_any(builtin)))
        .select(account_roles::account_id)
        .load(conn)?;
    held.extend(through_roles);
    Ok(held)
}

/// A role a key holds: id, name, and which built-in role it is, if one.
pub type HeldRole = (i64, String, Option<String>);

/// A key's grants from the roles it holds, the permissions it holds directly and those its custom roles
/// have; and its roles' names, by name.
pub fn held_grants(mut held: Vec<HeldRole>, direct: Vec<i64>, via_roles: Vec<i64>) -> (Grants, Vec<String>) {
    let mut grants = Grants { permissions: direct.into_iter().chain(via_roles).collect(), ..Grants::default() };
    for (id, _, builtin) in &held {
        grants.roles.insert(*id);
        match builtin.as_deref().and_then(BuiltinRole::parse) {
            Some(BuiltinRole::Admin) => grants.everything = true,
            Some(BuiltinRole::ReadOnly) => grants.read_only = true,
            None => {}
        }
    }
    held.sort_by(|a, b| a.1.cmp(&b.1));
    (grants, held.into_iter().map(|(_, name, _)| name).collect())
}

pub fn key_grants(conn: &mut DbConn, key_id: i64) -> QResult<Grants> {
    let role_ids: Vec<i64> =
        api_key_roles::table.filter(api_key_roles::key_id.eq(key_id)).select(api_key_roles::role_id).load(conn)?;
    let direct: Vec<i64> = api_key_permissions::table
        .filter(api_key_permissions::key_id.eq(key_id))
        .select(api_key_permissions::permission_id)
        .load(conn)?;
    let mut grants = Grants { permissions: direct.into_iter().collect::<BTreeSet<_>>(), ..Grants::default() };
    role_grants(conn, &role_ids, &mut grants)?;
    Ok(grants)
}

/// An account's grants within one workspace.
pub fn account_grants(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<Grants> {
    let role_ids: Vec<i64> = account_roles::table
        .inner_join(roles::table)
        .filter(account_roles::account_id.eq(account_id))
        .filter(roles::workspace_id.eq(workspace_id))
        .select(account_roles::role_id)
        .load(conn)?;
    let direct: Vec<i64> = account_permissions::table
        .inner_join(permissions::table)
        .filter(account_permissions::account_id.eq(account_id))
        .filter(permissions::workspace_id.eq(workspace_id))
        .select(account_permissions::permission_id)
        .load(conn)?;
    let mut grants = Grants { permissions: direct.into_iter().collect::<BTreeSet<_>>(), ..Grants::default() };
    role_grants(conn, &role_ids, &mut grants)?;
    Ok(grants)
}

#[derive(Debug)]
pub struct PermissionFields<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub description: &'a str,
    pub high_risk: bool,
    pub writes: bool,
    pub rules: &'a [UriRule],
}

fn risk(high: bool) -> &'static str {
    if high { "high" } else { "normal" }
}

fn set_rules(conn: &mut DbConn, id: i64, rules: &[UriRule]) -> QResult<()> {
    diesel::delete(permission_rules::table.filter(permission_rules::permission_id.eq(id))).execute(conn)?;
    for rule in rules {
        diesel::insert_into(permission_rules::table)
            .values((
                permission_rules::permission_id.eq(id),
                permission_rules::method.eq(rule.method()),
                permission_rules::pattern.eq(rule.pattern()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The catalogue a permission belongs to, named as changed.
fn touch_catalogue_of(conn: &mut DbConn, id: i64) -> QResult<()> {
    let workspace_id = permissions::table.find(id).select(permissions::workspace_id).get_result(conn).optional()?;
    touched(workspace_id.map_or(Scope::All, Scope::Catalogue));
    Ok(())
}

/// Adds a permission (READONLY keys may use it at once: the catalogue changed).
pub fn insert(conn: &mut DbConn, workspace_id: i64, f: &PermissionFields<'_>, now: i64) -> QResult<i64> {
    touched(Scope::Catalogue(workspace_id));
    let id = diesel::insert_into(permissions::table)
        .values((
            permissions::workspace_id.eq(workspace_id),
            permissions::name.eq(f.name),
            permissions::label.eq(f.label),
            permissions::description.eq(f.description),
            permissions::risk.eq(risk(f.high_risk)),
            permissions::writes.eq(f.writes),
            permissions::created_at.eq(now),
            permissions::updated_at.eq(now),
        ))
        .returning(permissions::id)
        .get_result(conn)?;
    set_rules(conn, id, f.rules)?;
    Ok(id)
}

pub fn update(conn: &mut DbConn, id: i64, f: &PermissionFields<'_>, now: i64) -> QResult<()> {
    touch_catalogue_of(conn, id)?;
    diesel::update(permissions::table.find(id))
        .set((
            permissions::name.eq(f.name),
            permissions::label.eq(f.label),
            permissions::description.eq(f.description),
            permissions::risk.eq(risk(f.high_risk)),
            permissions::writes.eq(f.writes),
            permissions::updated_at.eq(now),
        ))
        .execute(conn)?;
    set_rules(conn, id, f.rules)
}

/// Removes a permission; grants of it to roles, keys and accounts go with it (foreign keys cascade).
pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    touch_catalogue_of(conn, id)?;
    diesel::delete(permissions::table.find(id)).execute(conn).map(drop)
}

/// Direct permission ids and role ids of an account within one workspace.
pub fn account_grant_ids(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<(Vec<i64>, Vec<i64>)> {
    let permission_ids = account_permissions::table
        .inner_join(permissions::table)
        .filter(account_permissions::account_id.eq(account_id))
        .filter(permissions::workspace_id.eq(workspace_id))
        .select(account_permissions::permission_id)
        .load(conn)?;
    let role_ids = account_roles::table
        .inner_join(roles::table)
        .filter(account_roles::account_id.eq(account_id))
        .filter(roles::workspace_id.eq(workspace_id))
        .select(account_roles::role_id)
        .load(conn)?;
    Ok((permission_ids, role_ids))
}

/// Replaces an account's direct permissions and roles within one workspace (other workspaces' grants stay).
pub fn set_account_grants(
    conn: &mut DbConn,
    workspace_id: i64,
    account_id: i64,
    permission_ids: &[i64],
    role_ids: &[i64],
) -> QResult<()> {
    touched(Scope::Owner(account_id));
    let (old_permissions, old_roles) = account_grant_ids(conn, workspace_id, account_id)?;
    diesel::delete(
        account_permissions::table
            .filter(account_permissions::account_id.eq(account_id))
            .filter(account_permissions::permission_id.eq_any(&old_permissions)),
    )
    .execute(conn)?;
    diesel::delete(
        account_roles::table
            .filter(account_roles::account_id.eq(account_id))
            .filter(account_roles::role_id.eq_any(&old_roles)),
    )
    .execute(conn)?;
    for id in permission_ids {
        diesel::insert_into(account_permissions::table)
            .values((account_permissions::account_id.eq(account_id), account_permissions::permission_id.eq(id)))
            .execute(conn)?;
    }
    for id in role_ids {
        diesel::insert_into(account_roles::table)
            .values((account_roles::account_id.eq(account_id), account_roles::role_id.eq(id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Grants an account those of `permission_ids` it does not hold yet; returns how many were added.
pub fn add_account_permissions(
    conn: &mut DbConn,
    workspace_id: i64,
    account_id: i64,
    permission_ids: &[i64],
) -> QResult<usize> {
    touched(Scope::Owner(account_id));
    let (held, _) = account_grant_ids(conn, workspace_id, account_id)?;
    let mut added = 0;
    let wanted: BTreeSet<i64> = permission_ids.iter().copied().filter(|id| !held.contains(id)).collect();
    for id in wanted {
        diesel::insert_into(account_permissions::table)
            .values((account_permissions::account_id.eq(account_id), account_permissions::permission_id.eq(id)))
            .execute(conn)?;
        added += 1;
    }
    Ok(added)
}

/// Every (account, permission) direct grant within one workspace.
pub fn account_permission_pairs(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, i64)>> {
    account_permissions::table
        .inner_join(permissions::table)
        .filter(permissions::workspace_id.eq(workspace_id))
        .select((account_permissions::account_id, account_permissions::permission_id))
        .load(conn)
}

/// Grants permissions to an account that holds none yet (just created), without reading first.
pub fn grant_new_account(conn: &mut DbConn, account_id: i64, permission_ids: &[i64]) -> QResult<()> {
    touched(Scope::Owner(account_id));
    for id in permission_ids.iter().copied().collect::<BTreeSet<i64>>() {
        diesel::insert_into(account_permissions::table)
            .values((account_permissions::account_id.eq(account_id), account_permissions::permission_id.eq(id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Every stored URI rule of the workspace as (permission name, method, pattern), for the catalogue check.
pub fn stored_rules(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(String, String, String)>> {
    permission_rules::table
        .inner_join(permissions::table)
        .filter(permissions::workspace_id.eq(workspace_id))
        .order((permissions::name.asc(), permission_rules::id.asc()))
        .select((permissions::name, permission_rules::method, permission_rules::pattern))
        .load(conn)
}

/// (role name, permission id) of every role of the workspace that refers to a permission of another
/// workspace — which the console never makes, and the catalogue check reports.
pub fn foreign_role_permissions(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(String, i64)>> {
    role_permissions::table
        .inner_join(roles::table)
        .inner_join(permissions::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .filter(permissions::workspace_id.ne(workspace_id))
        .select((roles::name, role_permissions::permission_id))
        .load(conn)
}
