//! What the key forms offer and start from: the choices on the add form, the edit form's current
//! grants, and the keys a bulk confirmation names.

use crate::db::accounts::Member;
use crate::db::key_types::KeyType;
use crate::db::keys::KeyRecord;
use crate::db::roles::Role;
use crate::db::usage::LastUse;
use crate::db::{accounts, key_types, keys, permissions, roles, settings, usage};
use crate::domain::access::{Access, Grants, Permission};
use crate::domain::key_input::DAY;
use crate::domain::policy;
use crate::error::Result;
use crate::services::Caller;
use crate::state::AppState;

/// The add form's choices. Owners are offered only to who may create keys for others, and only
/// active ones.
#[derive(Debug)]
pub struct NewKeyChoices {
    pub types: Vec<KeyType>,
    pub roles: Vec<Role>,
    pub catalogue: Vec<Permission>,
    pub owners: Vec<Member>,
    /// Types that restrict their keys' roles: the type's name and the roles it allows.
    pub restricted: Vec<(String, Vec<String>)>,
}

impl NewKeyChoices {
    /// The type a new key starts with: the first that needs no identifier, so the first submit does not fail
    /// for a field nobody asked for.
    pub fn default_type(&self) -> Option<i64> {
        self.types.iter().find(|t| t.id_field_label.is_none()).or(self.types.first()).map(|t| t.id)
    }
}

pub fn new_key(state: &AppState, caller: &Caller) -> Result<NewKeyChoices> {
    let (ws, choose_owner) = (caller.workspace_id, policy::may_create_for_others(caller.role));
    state.db.read(|c| {
        let owners = if choose_owner { accounts::members(c, ws)? } else { Vec::new() };
        let (types, roles) = (key_types::list(c, ws)?, roles::list(c, ws)?);
        let allowed = key_types::allowed_roles(c, ws)?;
        let restricted = types
            .iter()
            .filter(|t| allowed.iter().any(|(id, _)| *id == t.id))
            .map(|t| {
                let held = allowed.iter().filter(|(id, _)| *id == t.id).map(|(_, r)| *r).collect::<Vec<_>>();
                (t.name.clone(), roles.iter().filter(|r| held.contains(&r.id)).map(|r| r.name.clone()).collect())
            })
            .collect();
        Ok::<_, diesel::result::Error>(NewKeyChoices {
            types,
            roles,
            catalogue: permissions::catalogue(c, ws)?,
            owners: owners.into_iter().filter(|m| m.account.is_active()).collect(),
            restricted,
        })
    })
}

/// A key the caller may change, what it holds now, and what it may be given.
#[derive(Debug)]
pub struct EditChoices {
    pub key: KeyRecord,
    pub roles: Vec<Role>,
    pub catalogue: Vec<Permission>,
    pub role_ids: Vec<i64>,
    pub permission_ids: Vec<i64>,
}

pub fn edit(state: &AppState, caller: &Caller, key_id: i64) -> Result<EditChoices> {
    let key = super::keys::get_managed(state, caller, key_id)?;
    state.db.read(|c| {
        Ok::<_, diesel::result::Error>(EditChoices {
            roles: roles::list(c, key.workspace_id)?,
            catalogue: permissions::catalogue(c, key.workspace_id)?,
            role_ids: keys::role_ids(c, key.id)?,
            permission_ids: keys::permission_ids(c, key.id)?,
            key,
        })
    })
}

/// What a key being drawn up would be able to use: its chosen roles and permissions within its owner's
/// grants (all of the owner's when it acts as them), shown live on the add form.
#[derive(Debug, Clone)]
pub struct Reach {
    pub owner: Member,
    pub owner_grants: Grants,
    pub effective: Vec<Permission>,
    /// Chosen, but the owner does not hold them: the key could not use them.
    pub held_back: Vec<Permission>,
    /// What the chosen built-in roles give on the management API.
    pub management: Option<&'static str>,
}

impl Reach {
    /// The key could call nothing: no catalogue permission and no management role.
    pub fn uses_nothing(&self) -> bool {
        self.effective.is_empty() && self.management.is_none()
    }

    /// Why the owner cannot pass this permission on, if they cannot.
    pub fn unavailable(&self, p: &Permission) -> Option<String> {
        (!self.owner_grants.includes(p)).then(|| format!("{} does not hold it", self.owner.account.display_name))
    }
}

/// A draft key's owner (`None`: the caller) and chosen access.
#[derive(Debug, Clone, Default)]
pub struct Draft<'a> {
    pub owner: Option<i64>,
    pub roles: &'a [i64],
    pub permissions: &'a [i64],
    pub act_as_owner: bool,
}

/// What a draft key would reach. Only who may create a key for its owner may ask.
pub fn reach(state: &AppState, caller: &Caller, draft: &Draft<'_>) -> Result<Reach> {
    let me = caller.account_id.ok_or(crate::error::Error::Forbidden)?;
    let owner_id = draft.owner.unwrap_or(me);
    if owner_id != me && !policy::may_create_for_others(caller.role) {
        return Err(crate::error::Error::Forbidden);
    }
    let ws = caller.workspace_id;
    state.db.read(|c| {
        let owner = accounts::member(c, ws, owner_id)?.ok_or(crate::error::Error::NotFound)?;
        let catalogue = permissions::catalogue(c, ws)?;
        let owner_grants = permissions::account_grants(c, ws, owner_id)?;
        let key = permissions::draft_grants(c, ws, draft.roles, draft.permissions)?;
        let access =
            Access { catalogue: &catalogue, key: &key, owner: &owner_grants, act_as_owner: draft.act_as_owner };
        let effective = access.effective().into_iter().cloned().collect();
        let held_back = access.held_back().into_iter().cloned().collect();
        let management = if key.everything {
            Some("the whole management API, within the owner's console role")
        } else if key.read_only {
            Some("the management API, read-only")
        } else {
            None
        };
        Ok::<_, crate::error::Error>(Reach { owner, owner_grants, effective, held_back, management })
    })
}

/// Whom a key may be handed to: active people who may take care of it.
fn may_take_over(member: &Member) -> bool {
    member.account.is_active() && policy::may_take_over_keys(member.role)
}

/// A key named on a bulk confirmation, with its last use and its uses within the recent-use window.
#[derive(Debug, Clone)]
pub struct Target {
    pub key: KeyRecord,
    pub last_used: Option<LastUse>,
    pub recent_uses: i64,
}

/// The keys a delete or reassign confirmation names (each one the caller may change), the people they
/// could be handed to, and the workspace's recent-use window in days.
#[derive(Debug)]
pub struct Targets {
    pub keys: Vec<Target>,
    pub owners: Vec<Member>,
    pub recent_days: i64,
}

/// The keys a bulk action would change, with `with_owners` the people they could be handed to.
pub fn targets(state: &AppState, caller: &Caller, ids: &[i64], with_owners: bool) -> Result<Targets> {
    let ws = caller.workspace_id;
    let (setting, default) = settings::RECENT_USE_DAYS;
    let recent_days = state.db.read(|c| settings::get_i64(c, ws, setting, default))?;
    // Daily counts are whole UTC days: "the last 3 days" counts today and the two before it.
    let first_day = state.now().div_euclid(DAY) - (recent_days - 1).max(0);
    let mut keys = Vec::with_capacity(ids.len());
    for &id in ids {
        let key = super::keys::get_managed(state, caller, id)?;
        let (last_used, daily) = state.db.read(|c| {
            Ok::<_, diesel::result::Error>((usage::last_used(c, key.id)?, usage::daily(c, key.id, first_day)?))
        })?;
        keys.push(Target { key, last_used, recent_uses: daily.iter().map(|(_, n)| n).sum() });
    }
    let owners = if with_owners { state.db.read(|c| accounts::members(c, ws))? } else { Vec::new() };
    Ok(Targets { keys, owners: owners.into_iter().filter(may_take_over).collect(), recent_days })
}
