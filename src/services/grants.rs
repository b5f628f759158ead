//! What a person is granted: permissions and roles, checked in User Management. Changing them changes
//! at once what every key the person owns may do (effective access is computed on each check).

use std::collections::BTreeSet;

use crate::db::{accounts, audit, permissions, roles};
use crate::domain::audit::Event;
use crate::domain::{Invalid, policy};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GrantsForm {
    #[serde(default)]
    pub permissions: Vec<i64>,
    #[serde(default)]
    pub roles: Vec<i64>,
}

/// Sets an account's grants in the caller's workspace. Administrators only; high-risk permissions are
/// therefore only ever granted by Administrators.
pub fn set(state: &AppState, caller: &Caller, account_id: i64, form: &GrantsForm) -> Result<()> {
    if !policy::may_create_for_others(caller.role) {
        return Err(Error::Forbidden);
    }
    let ws = caller.workspace_id;
    let now = state.now();
    let wanted_permissions: BTreeSet<i64> = form.permissions.iter().copied().collect();
    let wanted_roles: BTreeSet<i64> = form.roles.iter().copied().collect();
    state.db.write(|c| {
        let member = accounts::member(c, ws, account_id)?.ok_or(Error::NotFound)?;
        let catalogue = permissions::rows(c, ws)?;
        let workspace_roles = roles::list(c, ws)?;
        let name_of_permission = |id: &i64| catalogue.iter().find(|p| p.id == *id).map(|p| p.name.clone());
        let name_of_role = |id: &i64| workspace_roles.iter().find(|r| r.id == *id).map(|r| r.name.clone());
        let permission_names: Vec<String> = wanted_permissions
            .iter()
            .map(|id| {
                name_of_permission(id)
                    .ok_or_else(|| Invalid::new("permissions", "One of the chosen permissions does not exist."))
            })
            .collect::<Result<_, _>>()?;
        let role_names: Vec<String> = wanted_roles
            .iter()
            .map(|id| name_of_role(id).ok_or_else(|| Invalid::new("roles", "One of the chosen roles does not exist.")))
            .collect::<Result<_, _>>()?;
        let (old_permissions, old_roles) = permissions::account_grant_ids(c, ws, account_id)?;
        let before = serde_json::json!({
            "permissions": old_permissions.iter().filter_map(name_of_permission).collect::<Vec<_>>(),
            "roles": old_roles.iter().filter_map(name_of_role).collect::<Vec<_>>(),
        });
        let wanted_permissions: Vec<i64> = wanted_permissions.into_iter().collect();
        let wanted_roles: Vec<i64> = wanted_roles.into_iter().collect();
        permissions::set_account_grants(c, ws, account_id, &wanted_permissions, &wanted_roles)?;
        let mut event = Event::new("account.grants_changed", caller.origin.actor.clone())
            .in_workspace(ws)
            .on("account", account_id, member.account.email)
            .change(Some(before), Some(serde_json::json!({ "permissions": permission_names, "roles": role_names })));
        event.source_ip = caller.origin.ip.clone();
        audit::record(c, now, &event)?;
        Ok(())
    })
}

/// A member of the caller's workspace with what they hold, and the catalogue and roles to choose from.
#[derive(Debug)]
pub struct Held {
    pub member: accounts::Member,
    pub catalogue: Vec<crate::domain::access::Permission>,
    pub roles: Vec<roles::Role>,
    pub permission_ids: Vec<i64>,
    pub role_ids: Vec<i64>,
}

pub fn held(state: &AppState, caller: &Caller, account_id: i64) -> Result<Held> {
    let ws = caller.workspace_id;
    state.db.read(|c| {
        let member = accounts::member(c, ws, account_id)?.ok_or(Error::NotFound)?;
        let (permission_ids, role_ids) = permissions::account_grant_ids(c, ws, account_id)?;
        Ok::<_, Error>(Held {
            member,
            catalogue: permissions::catalogue(c, ws)?,
            roles: roles::list(c, ws)?,
            permission_ids,
            role_ids,
        })
    })
}
