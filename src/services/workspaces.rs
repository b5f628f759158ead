//! Workspaces and who belongs to them, managed by super-administrators: create, rename, archive and
//! restore; add an existing account by email, change its console role there, remove it. Each change is
//! one transaction, audited in the workspace it affects. A workspace always keeps an active
//! Administrator, and an account always keeps a workspace (to leave the last one, it is deleted).

use crate::db::{DbConn, accounts, audit, keys, workspaces};
use crate::domain::Invalid;
use crate::domain::email::Email;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::accounts::{Departure, Handing, Origin, hand_over};
use crate::services::email::Post;
use crate::services::{Caller, shared_secret};
use crate::state::AppState;

pub use crate::db::workspaces::Summary;

/// A super-administrator acting on workspaces: who, and from where.
#[derive(Debug, Clone)]
pub struct Super {
    pub account_id: i64,
    pub origin: Origin,
}

impl Super {
    /// The same person as a caller in one workspace, for the audit log and key hand-over.
    fn in_workspace(&self, c: &mut DbConn, workspace_id: i64) -> Result<Caller> {
        let role = workspaces::role_in(c, workspace_id, self.account_id)?.unwrap_or(ConsoleRole::Member);
        Ok(Caller { workspace_id, account_id: Some(self.account_id), role, origin: self.origin.clone() })
    }
}

/// Refuses anyone who is not an active super-administrator, read afresh inside the transaction.
fn must_be_super(c: &mut DbConn, who: &Super) -> Result<()> {
    match accounts::find(c, who.account_id)? {
        Some(a) if a.is_super_admin && a.is_active() => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

/// A workspace name, by the same rules as at setup.
pub fn parse_name(input: &str) -> Result<String, Invalid> {
    crate::domain::account::workspace_name(input).map_err(|e| Invalid::new("name", e.message))
}

fn unique(c: &mut DbConn, name: &str, except: Option<i64>) -> Result<()> {
    if workspaces::name_taken(c, name, except)? {
        return Err(Invalid::new("name", format!("A workspace named {name} already exists.")).into());
    }
    Ok(())
}

/// Every workspace, archived ones too.
pub fn list(state: &AppState, who: &Super) -> Result<Vec<Summary>> {
    state.db.read(|c| {
        must_be_super(c, who)?;
        Ok::<_, Error>(workspaces::summaries(c)?)
    })
}

/// One workspace and its members (archived workspaces included).
pub fn show(state: &AppState, who: &Super, id: i64) -> Result<(Summary, Vec<accounts::Member>)> {
    state.db.read(|c| {
        must_be_super(c, who)?;
        let summary = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
        Ok::<_, Error>((summary, accounts::members(c, id)?))
    })
}

/// Creates a workspace with its seeded key types and built-in roles and a shared secret; its creator
/// becomes its first Administrator.
pub fn create(state: &AppState, who: &Super, name: &str) -> Result<i64> {
    let name = parse_name(name)?;
    let now = state.now();
    let id = state.db.write(|c| {
        must_be_super(c, who)?;
        unique(c, &name, None)?;
        let id = workspaces::create(c, &name, now)?;
        workspaces::add_member(c, id, who.account_id, ConsoleRole::Administrator, now)?;
        let caller = who.in_workspace(c, id)?;
        let event = caller.event("workspace.created").on("workspace", id, &name);
        audit::record(c, now, &event.change(None, Some(serde_json::json!({ "name": name }))))?;
        Ok::<_, Error>(id)
    })?;
    shared_secret::ensure_all(state)?;
    Ok(id)
}

pub fn rename(state: &AppState, who: &Super, id: i64, name: &str) -> Result<()> {
    let name = parse_name(name)?;
    let now = state.now();
    state.db.write(|c| {
        must_be_super(c, who)?;
        let before = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
        if before.name == name {
            return Ok(());
        }
        unique(c, &name, Some(id))?;
        workspaces::rename(c, id, &name)?;
        let event = who
            .in_workspace(c, id)?
            .event("workspace.renamed")
            .on("workspace", id, &name)
            .change(Some(serde_json::json!({ "name": before.name })), Some(serde_json::json!({ "name": name })));
        audit::record(c, now, &event)?;
        Ok(())
    })
}

/// Archives a workspace (its keys stop verifying, its sessions end, nobody can switch to it) or
/// restores it. The last active workspace cannot be archived.
pub fn set_archived(state: &AppState, who: &Super, id: i64, archive: bool) -> Result<()> {
    let now = state.now();
    state.db.write(|c| {
        must_be_super(c, who)?;
        let ws = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
        if ws.archived_at.is_some() == archive {
            return Ok(());
        }
        if archive && workspaces::summaries(c)?.iter().filter(|w| w.archived_at.is_none()).count() <= 1 {
            return Err(Error::Conflict(format!("{} is the only active workspace; it cannot be archived.", ws.name)));
        }
        workspaces::set_archived(c, id, archive.then_some(now))?;
        let action = if archive { "workspace.archived" } else { "workspace.restored" };
        let event = who.in_workspace(c, id)?.event(action).on("workspace", id, &ws.name);
        audit::record(c, now, &event)?;
        Ok(())
    })
}

fn parse_role(input: &str) -> Result<ConsoleRole, Invalid> {
    ConsoleRole::parse(input).ok_or_else(|| Invalid::new("role", "Choose Administrator, Auditor or Member."))
}

/// Adds an existing account to a workspace with a console role.
pub fn add_member(state: &AppState, who: &Super, id: i64, email: &str, role: &str) -> Result<i64> {
    let email = Email::parse(email)?;
    let role = parse_role(role)?;
    let now = state.now();
    state.db.write(|c| {
        must_be_super(c, who)?;
        let ws = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
        let account = accounts::find_by_email(c, &email)?.ok_or_else(|| {
            Invalid::new("email", format!("No account has the email {email}. Add it from Users in a workspace first."))
        })?;
        if workspaces::role_in(c, id, account.id)?.is_some() {
            return Err(Invalid::new("email", format!("{email} is already a member of {}.", ws.name)).into());
        }
        workspaces::add_member(c, id, account.id, role, now)?;
        let event = who.in_workspace(c, id)?.event("membership.added").on("account", account.id, &account.email);
        audit::record(c, now, &event.change(None, Some(serde_json::json!({ "role": role.code() }))))?;
        Ok(account.id)
    })
}

/// The member and, when the change would leave the workspace without an active Administrator, why not.
fn member_and_guard(c: &mut DbConn, ws: &Summary, account_id: i64, leaving_admins: bool) -> Result<accounts::Member> {
    let member = accounts::member(c, ws.id, account_id)?.ok_or(Error::NotFound)?;
    let counts = member.role == ConsoleRole::Administrator && member.account.is_active();
    if leaving_admins && counts && workspaces::admin_count(c, ws.id)? <= 1 {
        return Err(Error::Conflict(format!(
            "{} is the only active Administrator of {}; make someone else Administrator first.",
            member.account.email, ws.name
        )));
    }
    Ok(member)
}

pub fn change_role(state: &AppState, who: &Super, id: i64, account_id: i64, role: &str) -> Result<()> {
    let role = parse_role(role)?;
    let now = state.now();
    state.db.write(|c| {
        must_be_super(c, who)?;
        let ws = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
        let member = member_and_guard(c, &ws, account_id, role != ConsoleRole::Administrator)?;
        if member.role == role {
            return Ok(());
        }
        workspaces::set_role(c, id, account_id, role)?;
        let event =
            who.in_workspace(c, id)?.event("account.role_changed").on("account", account_id, &member.account.email);
        audit::record(
            c,
            now,
            &event.change(
                Some(serde_json::json!({ "role": member.role.code() })),
                Some(serde_json::json!({ "role": role.code() })),
            ),
        )?;
        Ok(())
    })
}

/// Removes an account from a workspace: its keys there go to an Administrator of it (who is notified),
/// its grants and notifications there end, and its sessions in that workspace with them.
pub fn remove_member(state: &AppState, who: &Super, id: i64, account_id: i64) -> Result<Vec<String>> {
    let now = state.now();
    state.db.write(|c| {
        must_be_super(c, who)?;
        let caller = who.in_workspace(c, id)?;
        remove_membership(c, &Post::of(state), &caller, account_id, now)
    })
}

/// A workspace's Administrator removes someone from their workspace: a change of membership, not of the
/// account, so it is theirs to make even for a person who also belongs to other workspaces.
pub fn leave(state: &AppState, caller: &Caller, account_id: i64) -> Result<Vec<String>> {
    caller.must_administer()?;
    if caller.is(account_id) {
        return Err(Error::Conflict("You cannot remove yourself from the workspace.".into()));
    }
    let now = state.now();
    state.db.write(|c| remove_membership(c, &Post::of(state), caller, account_id, now))
}

fn remove_membership(
    c: &mut DbConn,
    post: &Post<'_>,
    caller: &Caller,
    account_id: i64,
    now: i64,
) -> Result<Vec<String>> {
    let id = caller.workspace_id;
    let ws = workspaces::summary(c, id)?.ok_or(Error::NotFound)?;
    let member = member_and_guard(c, &ws, account_id, true)?;
    if workspaces::membership_count(c, account_id)? <= 1 {
        return Err(Error::Conflict(format!(
            "{} belongs to no other workspace; delete the account from Users instead.",
            member.account.email
        )));
    }
    let owned: Vec<keys::Owned> = keys::owned_by(c, account_id)?.into_iter().filter(|k| k.workspace_id == id).collect();
    let moved = if owned.is_empty() {
        Vec::new()
    } else {
        // The workspace's policy for a departed person's keys holds for a removal too.
        let deactivate =
            crate::services::policies::departed_keys(c, id)? == crate::services::policies::DepartedKeys::Deactivate;
        let handing = Handing { why: Departure::Removed, to: None, deactivate };
        hand_over(c, (caller, post), id, (account_id, &member.account.email), &owned, handing, now)?.1
    };
    workspaces::remove_member(c, id, account_id)?;
    let event = caller.event("membership.removed").on("account", account_id, &member.account.email).change(
        Some(serde_json::json!({ "role": member.role.code() })),
        Some(serde_json::json!({ "keys_reassigned": moved })),
    );
    audit::record(c, now, &event)?;
    Ok(moved)
}

/// Whether the account may work in this workspace (the switcher's check): a member, and it is active.
pub fn may_enter(state: &AppState, account_id: i64, id: i64) -> Result<bool> {
    state.db.read(|c| {
        Ok::<_, Error>(workspaces::find(c, id)?.is_some() && workspaces::role_in(c, id, account_id)?.is_some())
    })
}

/// The account's console role in the workspace, if it is a member.
pub fn role_of(state: &AppState, workspace_id: i64, account_id: i64) -> Result<Option<ConsoleRole>> {
    state.db.read(|c| workspaces::role_in(c, workspace_id, account_id))
}
