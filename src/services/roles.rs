//! Custom roles: named sets of permissions that keys and people hold. The built-in ADMIN and READONLY
//! are seeded with each workspace and can be neither edited nor deleted.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::db::roles::Role;
use crate::db::{DbConn, audit, notifications, permissions, roles};
use crate::domain::Invalid;
use crate::domain::access::Permission;
use crate::domain::key_type::BuiltinRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<i64>,
}

/// A role name: 1–60 characters of letters, digits, spaces and `_ - . :`, unlike the built-in names.
pub fn parse_name(input: &str) -> Result<String, Invalid> {
    let name = input.trim();
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | ':');
    if name.is_empty() || name.chars().count() > 60 || !name.chars().all(allowed) {
        return Err(Invalid::new("name", "A role name has 1–60 letters, digits, spaces or _ - . : characters."));
    }
    if BuiltinRole::ALL.iter().any(|b| b.name().eq_ignore_ascii_case(name)) {
        return Err(Invalid::new("name", format!("{name} is a built-in role; choose another name.")));
    }
    Ok(name.to_owned())
}

fn parse_description(input: &str) -> Result<String, Invalid> {
    let description = input.trim();
    if description.chars().count() > 300 {
        return Err(Invalid::new("description", "A description has at most 300 characters."));
    }
    Ok(description.to_owned())
}

/// A submitted role: its name, description and chosen permission ids.
fn parse(form: &RoleForm) -> Result<(String, String, BTreeSet<i64>), Invalid> {
    Ok((parse_name(&form.name)?, parse_description(&form.description)?, form.permissions.iter().copied().collect()))
}

/// The permission names of `ids`, refusing any that is not in the workspace's catalogue.
fn permission_names(c: &mut DbConn, workspace_id: i64, ids: &BTreeSet<i64>) -> Result<Vec<String>> {
    let catalogue = permissions::rows(c, workspace_id)?;
    ids.iter()
        .map(|id| {
            catalogue
                .iter()
                .find(|p| p.id == *id)
                .map(|p| p.name.clone())
                .ok_or_else(|| Invalid::new("permissions", "One of the chosen permissions does not exist.").into())
        })
        .collect()
}

fn name_taken(c: &mut DbConn, workspace_id: i64, name: &str, except: Option<i64>) -> Result<()> {
    match roles::find_by_name(c, workspace_id, name)? {
        Some(existing) if Some(existing.id) != except => {
            Err(Invalid::new("name", format!("A role named {} already exists.", existing.name)).into())
        }
        _ => Ok(()),
    }
}

/// A custom role of the caller's workspace; built-in roles are refused.
fn custom(c: &mut DbConn, caller: &Caller, id: i64) -> Result<roles::Role> {
    let role = roles::find(c, caller.workspace_id, id)?.ok_or(Error::NotFound)?;
    if role.builtin.is_some() {
        return Err(Error::Conflict(format!("{} is a built-in role; it cannot be changed or deleted.", role.name)));
    }
    Ok(role)
}

pub fn create(state: &AppState, caller: &Caller, form: &RoleForm) -> Result<i64> {
    caller.must_administer()?;
    let (name, description, wanted) = parse(form)?;
    let now = state.now();
    state.db.write(|c| {
        name_taken(c, caller.workspace_id, &name, None)?;
        let names = permission_names(c, caller.workspace_id, &wanted)?;
        let id = roles::insert(c, caller.workspace_id, &name, &description, now)?;
        roles::set_permissions(c, id, &wanted.iter().copied().collect::<Vec<_>>())?;
        let after = serde_json::json!({ "name": name, "description": description, "permissions": names });
        audit::record(c, now, &caller.event("role.created").on("role", id, &name).change(None, Some(after)))?;
        Ok(id)
    })
}

/// Adds a role named `name` with these permissions unless the workspace has one of that name (a starter
/// catalogue, inside its transaction); true when added.
pub(crate) fn ensure_in(
    c: &mut DbConn,
    caller: &Caller,
    name: &str,
    description: &str,
    ids: &[i64],
    now: i64,
) -> Result<bool> {
    let name = parse_name(name)?;
    if roles::find_by_name(c, caller.workspace_id, &name)?.is_some() {
        return Ok(false);
    }
    let wanted: BTreeSet<i64> = ids.iter().copied().collect();
    let names = permission_names(c, caller.workspace_id, &wanted)?;
    let id = roles::insert(c, caller.workspace_id, &name, description, now)?;
    roles::set_permissions(c, id, &wanted.iter().copied().collect::<Vec<_>>())?;
    let after = serde_json::json!({ "name": name, "description": description, "permissions": names });
    audit::record(c, now, &caller.event("role.created").on("role", id, &name).change(None, Some(after)))?;
    Ok(true)
}

pub fn update(state: &AppState, caller: &Caller, id: i64, form: &RoleForm) -> Result<()> {
    caller.must_administer()?;
    let (name, description, wanted) = parse(form)?;
    let now = state.now();
    state.db.write(|c| {
        let role = custom(c, caller, id)?;
        name_taken(c, caller.workspace_id, &name, Some(id))?;
        let names = permission_names(c, caller.workspace_id, &wanted)?;
        let held: BTreeSet<i64> = roles::permission_pairs(c, caller.workspace_id)?
            .into_iter()
            .filter(|(r, _)| *r == id)
            .map(|(_, p)| p)
            .collect();
        let before_names = permission_names(c, caller.workspace_id, &held)?;
        roles::update(c, id, &name, &description, now)?;
        roles::set_permissions(c, id, &wanted.iter().copied().collect::<Vec<_>>())?;
        let before =
            serde_json::json!({ "name": role.name, "description": role.description, "permissions": before_names });
        let after = serde_json::json!({ "name": name, "description": description, "permissions": names });
        audit::record(c, now, &caller.event("role.updated").on("role", id, &name).change(Some(before), Some(after)))?;
        Ok(())
    })
}

/// Who holds a role: what deleting it would take away.
#[derive(Debug, Clone)]
pub struct Holders {
    pub role: roles::Role,
    /// (key id, key name, owner id, owner email)
    pub keys: Vec<(i64, String, i64, String)>,
    /// (account id, email)
    pub accounts: Vec<(i64, String)>,
}

pub fn holders(state: &AppState, caller: &Caller, id: i64) -> Result<Holders> {
    state.db.read(|c| holders_in(c, caller, id))
}

fn holders_in(c: &mut DbConn, caller: &Caller, id: i64) -> Result<Holders> {
    let role = custom(c, caller, id)?;
    let keys = roles::keys_holding(c, id)?;
    Ok(Holders { role, keys, accounts: roles::accounts_holding(c, id)? })
}

/// Deletes a custom role: it is taken from every key and account that holds it, in one transaction,
/// and each owner of an affected key is told which of their keys lost it. Returns how many owners.
pub fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<usize> {
    caller.must_administer()?;
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    state.db.write(|c| {
        let holders = holders_in(c, caller, id)?;
        let mut by_owner: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (_, name, owner, _) in &holders.keys {
            by_owner.entry(*owner).or_default().push(name.clone());
        }
        roles::delete(c, id)?;
        let before = serde_json::json!({
            "name": holders.role.name,
            "keys": holders.keys.iter().map(|(_, name, ..)| name).collect::<Vec<_>>(),
            "accounts": holders.accounts.iter().map(|(_, email)| email).collect::<Vec<_>>(),
        });
        audit::record(
            c,
            now,
            &caller.event("role.deleted").on("role", id, &holders.role.name).change(Some(before), None),
        )?;
        let title = format!("The role \u{201c}{}\u{201d} was deleted", holders.role.name);
        for (owner, names) in &by_owner {
            let body = format!(
                "Your keys no longer hold it, so they lost the access it gave: {}. Review their permissions.",
                names.join(", ")
            );
            let notice = notifications::NewNotification {
                workspace_id: caller.workspace_id,
                account_id: *owner,
                kind: "role_deleted",
                title: &title,
                body: &body,
                link: Some("/keys"),
            };
            crate::services::notifications::notify(c, &post, &notice, None, now)?;
        }
        Ok(by_owner.len())
    })
}

/// A role as the Roles list shows it: its permissions, and how many keys and people hold it.
#[derive(Debug)]
pub struct Listed {
    pub role: Role,
    pub permission_ids: Vec<i64>,
    pub keys: i64,
    pub people: i64,
}

/// Every role of the caller's workspace, and the catalogue their permission ids refer to.
pub fn list(state: &AppState, caller: &Caller) -> Result<(Vec<Listed>, Vec<Permission>)> {
    let ws = caller.workspace_id;
    let (list, pairs, counts, catalogue) = state.db.read(|c| {
        Ok::<_, diesel::result::Error>((
            roles::list(c, ws)?,
            roles::permission_pairs(c, ws)?,
            roles::usage_counts(c, ws)?,
            permissions::catalogue(c, ws)?,
        ))
    })?;
    let listed = list
        .into_iter()
        .map(|role| {
            let (_, keys, people) = counts.iter().copied().find(|(id, ..)| *id == role.id).unwrap_or_default();
            let permission_ids = pairs.iter().filter(|(r, _)| *r == role.id).map(|(_, p)| *p).collect();
            Listed { role, permission_ids, keys, people }
        })
        .collect();
    Ok((listed, catalogue))
}

/// The caller's workspace's roles, in name order.
pub fn names(state: &AppState, caller: &Caller) -> Result<Vec<Role>> {
    let ws = caller.workspace_id;
    state.db.read(|c| roles::list(c, ws))
}

/// One role of the caller's workspace and the ids of its permissions.
pub fn get(state: &AppState, caller: &Caller, id: i64) -> Result<(Role, Vec<i64>)> {
    let ws = caller.workspace_id;
    state.db.read(|c| {
        let role = roles::find(c, ws, id)?.ok_or(Error::NotFound)?;
        let ids = roles::permission_pairs(c, ws)?.into_iter().filter(|(r, _)| *r == id).map(|(_, p)| p).collect();
        Ok::<_, Error>((role, ids))
    })
}

/// A role's edit page: the role, its permission ids, and the catalogue to choose from.
pub fn edit_view(state: &AppState, caller: &Caller, id: i64) -> Result<(Role, Vec<i64>, Vec<Permission>)> {
    let (role, ids) = get(state, caller, id)?;
    Ok((role, ids, crate::services::permissions::catalogue(state, caller)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked() {
        assert_eq!(parse_name("  Device operators ").ok().as_deref(), Some("Device operators"));
        for bad in ["", "admin", "READONLY", "a/b", &"x".repeat(61)] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }
}
