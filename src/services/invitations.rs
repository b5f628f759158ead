//! Invitations: how a workspace adds a person who already has an account elsewhere. Accounts are shared
//! by every workspace, so enrolling such a person directly would let one workspace's Administrator reach
//! an account another workspace relies on. The person joins when they accept after signing in; until
//! then the inviting workspace sees only the email it typed and "invitation pending".

pub use crate::db::invitations::Pending;
use crate::db::invitations::{self, Received};
use crate::db::{DbConn, accounts, audit, workspaces};
use crate::domain::audit::{Actor, Event};
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// Invites an existing account to the caller's workspace, inside the caller's transaction; the audit
/// event is returned for the caller to record with its others. `None` when already invited.
pub(crate) fn invite(
    c: &mut DbConn,
    caller: &Caller,
    (account_id, email): (i64, &str),
    role: ConsoleRole,
    source: &str,
    now: i64,
) -> Result<Option<Event>> {
    if !invitations::create(c, caller.workspace_id, account_id, role, caller.account_id, now)? {
        return Ok(None);
    }
    let after = serde_json::json!({ "role": role.code(), "source": source });
    Ok(Some(caller.event("account.invited").on("account", account_id, email).change(None, Some(after))))
}

/// The caller's workspace's pending invitations (Administrators and Auditors).
pub fn pending(state: &AppState, caller: &Caller) -> Result<Vec<Pending>> {
    if !caller.role.can_read_all() {
        return Err(Error::Forbidden);
    }
    state.db.read(|c| Ok::<_, Error>(invitations::pending_in(c, caller.workspace_id)?))
}

/// Withdraws a pending invitation of the caller's workspace.
pub fn cancel(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    caller.must_administer()?;
    let now = state.now();
    state.db.write(|c| {
        let invitation =
            invitations::find(c, id)?.filter(|i| i.workspace_id == caller.workspace_id).ok_or(Error::NotFound)?;
        let email = accounts::find(c, invitation.account_id)?.map(|a| a.email).unwrap_or_default();
        invitations::delete(c, id)?;
        audit::record(
            c,
            now,
            &caller.event("account.invitation_cancelled").on("account", invitation.account_id, email),
        )?;
        Ok(())
    })
}

/// The invitations waiting for an account's answer.
pub fn received(state: &AppState, account_id: i64) -> Result<Vec<Received>> {
    state.db.read(|c| Ok::<_, Error>(invitations::received(c, account_id)?))
}

/// The account accepts (joins with the invited role) or declines one of its invitations; returns the
/// workspace's id. The answer is audited in the inviting workspace.
pub fn answer(state: &AppState, account_id: i64, ip: Option<String>, id: i64, accept: bool) -> Result<i64> {
    let now = state.now();
    state.db.write(|c| {
        let invitation = invitations::find(c, id)?.filter(|i| i.account_id == account_id).ok_or(Error::NotFound)?;
        let ws = workspaces::find(c, invitation.workspace_id)?.ok_or(Error::NotFound)?;
        let account = accounts::find(c, account_id)?.ok_or(Error::NotFound)?;
        invitations::delete(c, id)?;
        let action = if accept { "account.invitation_accepted" } else { "account.invitation_declined" };
        let mut event = Event::new(action, Actor::Account { id: account.id, email: account.email.clone() })
            .in_workspace(ws.id)
            .on("account", account.id, &account.email);
        if accept && workspaces::role_in(c, ws.id, account_id)?.is_none() {
            let role = invitation.role();
            workspaces::add_member(c, ws.id, account_id, role, now)?;
            event = event.change(None, Some(serde_json::json!({ "role": role.code() })));
        }
        event.source_ip = ip;
        audit::record(c, now, &event)?;
        Ok(ws.id)
    })
}
