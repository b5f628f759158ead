//! The people of a workspace as User Management lists them: search, filters, and "Add All
//! Permissions" for exactly the people a filter lists.

use crate::db::accounts::{self, MemberSummary};
use crate::db::{DbConn, audit, permissions};
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// The list's search and filters, as the URL carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct UserFilter {
    /// Matches name or email, case-insensitively.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
    /// A console role code, or empty for all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// `active`, `disabled`, `locked`, or empty for all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// `high`: only people holding a high-risk permission.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub risk: String,
    /// A permission's name: only people holding it, directly or through a role.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub holds: String,
}

pub const STATUSES: [(&str, &str); 3] = [("active", "Active"), ("disabled", "Disabled"), ("locked", "Locked")];

impl UserFilter {
    pub fn is_empty(&self) -> bool {
        *self == UserFilter::default()
    }

    /// The query string (without `?`), empty when unfiltered.
    pub fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub fn matches(&self, s: &MemberSummary) -> bool {
        let account = &s.member.account;
        let q = self.q.trim().to_lowercase();
        let text = q.is_empty() || account.email.contains(&q) || account.display_name.to_lowercase().contains(&q);
        let role = ConsoleRole::parse(&self.role).is_none_or(|r| r == s.member.role);
        let status = match self.status.as_str() {
            "active" => account.disabled_at.is_none() && account.locked_at.is_none(),
            "disabled" => account.disabled_at.is_some(),
            "locked" => account.locked_at.is_some(),
            _ => true,
        };
        let risk = self.risk != "high" || s.high_risk > 0;
        text && role && status && risk
    }
}

/// The members the filter lists, ordered by email.
pub fn list(state: &AppState, caller: &Caller, filter: &UserFilter) -> Result<Vec<MemberSummary>> {
    state.db.read(|c| listed(c, caller, filter))
}

fn listed(c: &mut DbConn, caller: &Caller, filter: &UserFilter) -> Result<Vec<MemberSummary>> {
    let ws = caller.workspace_id;
    let holders = match filter.holds.trim() {
        "" => None,
        name => {
            // An unknown name matches nobody, as a search would.
            let catalogue = permissions::catalogue(c, ws)?;
            match catalogue.iter().find(|p| p.name == name) {
                Some(p) => Some(permissions::holders(c, ws, p)?),
                None => Some(Default::default()),
            }
        }
    };
    Ok(accounts::summaries(c, ws, None)?
        .into_iter()
        .filter(|s| filter.matches(s))
        .filter(|s| holders.as_ref().is_none_or(|h| h.contains(&s.member.account.id)))
        .collect())
}

/// What "Add All Permissions" would do for a filter: the numbers its confirmation states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantAllPlan {
    pub users: Vec<(i64, String)>,
    pub permissions: usize,
    pub high_risk: usize,
    /// Grants that would be new (users × permissions minus those already held).
    pub new_grants: usize,
}

fn plan_in(c: &mut DbConn, caller: &Caller, filter: &UserFilter) -> Result<(GrantAllPlan, Vec<i64>)> {
    let catalogue = permissions::rows(c, caller.workspace_id)?;
    let people = listed(c, caller, filter)?;
    let total = people.len() * catalogue.len();
    let held: usize = people.iter().map(|p| usize::try_from(p.permissions).unwrap_or(0)).sum();
    let plan = GrantAllPlan {
        users: people.iter().map(|p| (p.member.account.id, p.member.account.email.clone())).collect(),
        permissions: catalogue.len(),
        high_risk: catalogue.iter().filter(|p| p.risk == "high").count(),
        new_grants: total.saturating_sub(held),
    };
    Ok((plan, catalogue.iter().map(|p| p.id).collect()))
}

pub fn plan(state: &AppState, caller: &Caller, filter: &UserFilter) -> Result<GrantAllPlan> {
    caller.must_administer()?;
    state.db.read(|c| plan_in(c, caller, filter).map(|(plan, _)| plan))
}

/// Grants every permission to every listed member in one transaction, provided the numbers are still
/// the ones the administrator confirmed (`users`, `permissions`); otherwise nothing changes.
pub fn grant_all(
    state: &AppState,
    caller: &Caller,
    filter: &UserFilter,
    confirmed: (usize, usize),
) -> Result<GrantAllPlan> {
    caller.must_administer()?;
    let now = state.now();
    state.db.write(|c| {
        let (plan, ids) = plan_in(c, caller, filter)?;
        if (plan.users.len(), plan.permissions) != confirmed {
            return Err(Error::Conflict(
                "The list of users or permissions changed since you confirmed. Nothing was granted; review the numbers again."
                    .into(),
            ));
        }
        for (account_id, email) in &plan.users {
            let added = permissions::add_account_permissions(c, caller.workspace_id, *account_id, &ids)?;
            if added > 0 {
                let after = serde_json::json!({ "added_permissions": added, "all_permissions": true });
                audit::record(c, now, &caller.event("account.grants_changed").on("account", *account_id, email).change(None, Some(after)))?;
            }
        }
        let summary = serde_json::json!({
            "users": plan.users.len(), "permissions": plan.permissions, "high_risk": plan.high_risk,
            "new_grants": plan.new_grants, "filter": filter,
        });
        audit::record(c, now, &caller.event("account.grant_all").change(None, Some(summary)))?;
        Ok(plan)
    })
}

/// The Users page's read model: the listed members, the catalogue their grants refer to, invitations
/// waiting for an answer, and (for Administrators) the accounts whose account-level changes are out of
/// the caller's reach.
#[derive(Debug)]
pub struct UsersPage {
    pub rows: Vec<MemberSummary>,
    pub catalogue: Vec<crate::domain::access::Permission>,
    pub invitations: Vec<crate::services::invitations::Pending>,
    pub beyond_reach: std::collections::HashSet<i64>,
}

pub fn page(state: &AppState, caller: &Caller, filter: &UserFilter) -> Result<UsersPage> {
    let beyond_reach = if caller.role.can_administer() {
        crate::services::accounts::beyond_reach(state, caller)?
    } else {
        std::collections::HashSet::new()
    };
    Ok(UsersPage {
        rows: list(state, caller, filter)?,
        catalogue: crate::services::permissions::catalogue(state, caller)?,
        invitations: crate::services::invitations::pending(state, caller)?,
        beyond_reach,
    })
}
