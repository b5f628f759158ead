//! The key page's read model: the key, who owns it, what it may use and what holds it back, its
//! secrets, its recent use and its audit trail, with what the viewer may do to it.

use crate::db::accounts::Account;
use crate::db::audit::Recent;
use crate::db::key_types::KeyType;
use crate::db::keys::{KeyRecord, SecretInfo};
use crate::db::usage::{LastUse, RecentUse};
use crate::db::{accounts, audit, key_types, keys, permissions, usage};
use crate::domain::access::{Access, Permission};
use crate::domain::chart::{self, Bar};
use crate::domain::key_input::DAY;
use crate::domain::policy;
use crate::error::Result;
use crate::services::Caller;
use crate::state::AppState;

/// Days the usage chart covers.
const CHART_DAYS: u32 = 30;

#[derive(Debug)]
pub struct KeyView {
    pub key: KeyRecord,
    pub key_type: Option<KeyType>,
    pub owner: Option<Account>,
    pub roles: Vec<String>,
    pub secrets: Vec<SecretInfo>,
    pub last_use: Option<LastUse>,
    pub recent_uses: Vec<RecentUse>,
    pub bars: Vec<Bar>,
    pub trail: Vec<Recent>,
    /// Every permission the key may use now.
    pub effective: Vec<Permission>,
    /// Granted to the key but not to its owner.
    pub held_back: Vec<Permission>,
    pub can_reveal: bool,
    pub can_manage: bool,
    pub can_reassign: bool,
    pub now: i64,
}

/// The key page for a key the caller may see.
pub fn view(state: &AppState, caller: &Caller, key_id: i64) -> Result<KeyView> {
    let key = super::keys::get(state, caller, key_id)?;
    let now = state.now();
    let today = now.div_euclid(DAY);
    let mine = caller.is(key.owner_id);
    state.db.read(|c| {
        let catalogue = permissions::catalogue(c, key.workspace_id)?;
        let key_grants = permissions::key_grants(c, key.id)?;
        let owner_grants = permissions::account_grants(c, key.workspace_id, key.owner_id)?;
        let access =
            Access { catalogue: &catalogue, key: &key_grants, owner: &owner_grants, act_as_owner: key.act_as_owner };
        let effective = access.effective().into_iter().cloned().collect();
        let held_back = access.held_back().into_iter().cloned().collect();
        let daily = usage::daily(c, key.id, today - i64::from(CHART_DAYS - 1))?;
        Ok::<_, diesel::result::Error>(KeyView {
            key_type: key_types::find(c, key.workspace_id, key.key_type_id)?,
            owner: accounts::find(c, key.owner_id)?,
            roles: keys::role_names(c, &[key.id])?.into_iter().map(|(_, n)| n).collect(),
            secrets: keys::secrets(c, key.id)?,
            last_use: usage::last_used(c, key.id)?,
            recent_uses: usage::recent_uses(c, key.id)?,
            bars: chart::daily_bars(&daily, today, CHART_DAYS),
            trail: audit::for_target(c, key.workspace_id, "api_key", key.id, 50)?,
            effective,
            held_back,
            can_reveal: policy::may_reveal_key(caller.role, mine),
            can_manage: policy::may_manage_key(caller.role, mine),
            can_reassign: policy::may_create_for_others(caller.role),
            now,
            key,
        })
    })
}
