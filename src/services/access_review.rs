//! The access review, for Administrators and Auditors: who in the workspace holds each permission (directly,
//! through which roles), and what each key can actually call once its owner's grants are applied.

use std::collections::{BTreeSet, HashMap};

use crate::db::{accounts, keys, permissions, roles};
use crate::domain::access::{Access, Grants, Permission};
use crate::domain::key_type::BuiltinRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::accounts::Member;
use crate::state::AppState;

/// How one person holds one permission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    pub direct: bool,
    /// The roles it comes through (built-in ADMIN and READONLY included).
    pub roles: Vec<String>,
}

impl Holding {
    pub fn holds(&self) -> bool {
        self.direct || !self.roles.is_empty()
    }

    /// "direct", "Lockers", "direct; ADMIN", or "" when not held.
    pub fn via(&self) -> String {
        let mut parts = Vec::new();
        if self.direct {
            parts.push("direct".to_owned());
        }
        parts.extend(self.roles.iter().cloned());
        parts.join("; ")
    }
}

#[derive(Debug)]
pub struct PersonRow {
    pub member: Member,
    /// One per permission of the catalogue, in its order.
    pub cells: Vec<Holding>,
}

#[derive(Debug)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub owner: String,
    /// The names of the permissions the key can use now.
    pub effective: Vec<String>,
}

#[derive(Debug)]
pub struct Review {
    pub catalogue: Vec<Permission>,
    pub people: Vec<PersonRow>,
    pub keys: Vec<KeyRow>,
}

impl Review {
    /// People holding the permission named `name`.
    pub fn holders_of(&self, name: &str) -> Vec<&PersonRow> {
        let Some(at) = self.catalogue.iter().position(|p| p.name == name) else { return Vec::new() };
        self.people.iter().filter(|r| r.cells[at].holds()).collect()
    }
}

fn holding(
    p: &Permission,
    direct: &BTreeSet<i64>,
    held: &[&roles::Role],
    role_perms: &HashMap<i64, BTreeSet<i64>>,
) -> Holding {
    let roles = held
        .iter()
        .filter(|r| match r.builtin.as_deref().and_then(BuiltinRole::parse) {
            Some(BuiltinRole::Admin) => true,
            Some(BuiltinRole::ReadOnly) => !p.writes,
            None => role_perms.get(&r.id).is_some_and(|ids| ids.contains(&p.id)),
        })
        .map(|r| r.name.clone())
        .collect();
    Holding { direct: direct.contains(&p.id), roles }
}

/// A person's grants as verification reads them, from what the review has loaded already.
fn grants_of(direct: &BTreeSet<i64>, held: &[&roles::Role], role_perms: &HashMap<i64, BTreeSet<i64>>) -> Grants {
    let mut grants = Grants { permissions: direct.clone(), ..Grants::default() };
    for role in held {
        match role.builtin.as_deref().and_then(BuiltinRole::parse) {
            Some(BuiltinRole::Admin) => grants.everything = true,
            Some(BuiltinRole::ReadOnly) => grants.read_only = true,
            None => grants.permissions.extend(role_perms.get(&role.id).into_iter().flatten()),
        }
    }
    grants
}

/// The whole review in one read: people × permissions and every key's effective permissions.
pub fn review(state: &AppState, caller: &Caller) -> Result<Review> {
    if !caller.role.can_read_all() {
        return Err(Error::Forbidden);
    }
    let ws = caller.workspace_id;
    state.db.read(|c| {
        let catalogue = permissions::catalogue(c, ws)?;
        let all_roles = roles::list(c, ws)?;
        let mut role_perms: HashMap<i64, BTreeSet<i64>> = HashMap::new();
        for (role, permission) in roles::permission_pairs(c, ws)? {
            role_perms.entry(role).or_default().insert(permission);
        }
        let mut people = Vec::new();
        let mut owner_grants: HashMap<i64, Grants> = HashMap::new();
        for member in accounts::members(c, ws)? {
            let (direct, role_ids) = permissions::account_grant_ids(c, ws, member.account.id)?;
            let direct: BTreeSet<i64> = direct.into_iter().collect();
            let held: Vec<&roles::Role> = all_roles.iter().filter(|r| role_ids.contains(&r.id)).collect();
            let cells: Vec<Holding> = catalogue.iter().map(|p| holding(p, &direct, &held, &role_perms)).collect();
            owner_grants.insert(member.account.id, grants_of(&direct, &held, &role_perms));
            people.push(PersonRow { member, cells });
        }
        let mut key_rows = Vec::new();
        for k in keys::report(c, ws, None)? {
            let key = permissions::key_grants(c, k.id)?;
            let owner = owner_grants.get(&k.owner_id).cloned().unwrap_or_default();
            let access = Access { catalogue: &catalogue, key: &key, owner: &owner, act_as_owner: k.act_as_owner };
            let effective = access.effective().into_iter().map(|p| p.name.clone()).collect();
            key_rows.push(KeyRow { id: k.id, name: k.name, owner: k.owner_email, effective });
        }
        Ok::<_, Error>(Review { catalogue, people, keys: key_rows })
    })
}

/// The review as CSV: one row per person and permission they hold, then one per key and permission it can use.
pub fn csv(state: &AppState, caller: &Caller) -> Result<Vec<u8>> {
    let review = review(state, caller)?;
    let mut out =
        crate::services::sheet::Sheet::new(&["kind", "name", "email_or_owner", "permission", "label", "risk", "via"])?;
    for row in &review.people {
        for (p, cell) in review.catalogue.iter().zip(&row.cells).filter(|(_, c)| c.holds()) {
            let risk = if p.high_risk { "high" } else { "normal" };
            out.row([
                "person",
                &row.member.account.display_name,
                &row.member.account.email,
                &p.name,
                &p.label,
                risk,
                &cell.via(),
            ])?;
        }
    }
    for k in &review.keys {
        for name in &k.effective {
            let p = review.catalogue.iter().find(|p| &p.name == name);
            let (label, risk) = p.map_or(("", ""), |p| (p.label.as_str(), if p.high_risk { "high" } else { "normal" }));
            out.row(["key", &k.name, &k.owner, name, label, risk, "key and owner"])?;
        }
    }
    out.finish()
}
