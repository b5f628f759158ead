//! Console sessions kept on the server. The cookie carries a random token; the session row it names
//! must exist and not have ended, checked on every request by every instance — so signing out ends a
//! session everywhere (a copied cookie stops working), people see where they are signed in and end
//! sessions one by one or all but this one, and an Administrator can end all of a person's sessions.
//! Sessions never change who may use a key: their writes leave the verification caches alone.

use crate::db::console_sessions;
pub use crate::db::console_sessions::ConsoleSessionRow;
pub use crate::db::workspaces::Workspace;
use crate::db::{DbConn, audit};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// Records a new session for the account; returns the token its cookie carries. The account's ended and
/// long-idle sessions are forgotten on the way.
pub fn start(state: &AppState, account_id: i64, ip: &str, user_agent: &str) -> Result<String> {
    let token = crate::crypto::random_token();
    let now = state.now();
    let user_agent: String = user_agent.chars().filter(|c| !c.is_control()).take(300).collect();
    let forget_before = now - state.config.session_lifetime_secs.max(state.config.session_idle_secs);
    state.db.write_counters(|c| {
        console_sessions::purge(c, account_id, forget_before)?;
        console_sessions::insert(c, &crate::crypto::token_digest(&token), account_id, now, (ip, &user_agent))?;
        Ok::<_, Error>(())
    })?;
    Ok(token)
}

/// The live session a cookie's token names, for the account it claims; `None` when it ended or is not theirs.
pub fn current(c: &mut DbConn, token: &str, account_id: i64) -> Result<Option<ConsoleSessionRow>> {
    Ok(console_sessions::find(c, &crate::crypto::token_digest(token))?
        .filter(|s| s.account_id == account_id && s.ended_at.is_none()))
}

/// Notes that a session was used now, from this address.
pub fn touch(state: &AppState, id: i64, ip: &str) -> Result<()> {
    let now = state.now();
    state.db.write_counters(|c| Ok::<_, Error>(console_sessions::touch(c, id, now, ip)?))
}

/// Ends the session a cookie's token names (signing out).
pub fn end_by_token(state: &AppState, token: &str) -> Result<()> {
    let now = state.now();
    state.db.write_counters(|c| {
        if let Some(session) = console_sessions::find(c, &crate::crypto::token_digest(token))? {
            console_sessions::end(c, session.account_id, Some(session.id), None, now)?;
        }
        Ok::<_, Error>(())
    })
}

/// The account's live sessions, most recent first.
pub fn list(state: &AppState, account_id: i64) -> Result<Vec<ConsoleSessionRow>> {
    let since = state.now() - state.config.session_idle_secs;
    state.db.read(|c| Ok::<_, Error>(console_sessions::live(c, account_id, since)?))
}

/// The account ends one of its own sessions (`Some`), or every one but `current` (`None`); returns how many.
pub fn end_own(state: &AppState, caller: &Caller, one: Option<i64>, current: i64) -> Result<usize> {
    let me = caller.account_id.ok_or(Error::Forbidden)?;
    let now = state.now();
    state.db.write_counters(|c| {
        let ended = match one {
            Some(id) => console_sessions::end(c, me, Some(id), None, now)?,
            None => console_sessions::end(c, me, None, Some(current), now)?,
        };
        if one.is_some() && ended == 0 {
            return Err(Error::NotFound);
        }
        let event = caller.event("account.sessions_ended").change(None, Some(serde_json::json!({ "ended": ended })));
        audit::record(c, now, &event)?;
        Ok(ended)
    })
}

/// An Administrator ends every session of a person whose account they may change (`accounts::changeable`).
pub fn end_all_of(state: &AppState, caller: &Caller, account_id: i64) -> Result<usize> {
    let now = state.now();
    state.db.write_counters(|c| {
        let member = crate::services::accounts::changeable(c, caller, account_id)?;
        let ended = console_sessions::end(c, account_id, None, None, now)?;
        let event = caller
            .event("account.sessions_ended")
            .on("account", account_id, &member.account.email)
            .change(None, Some(serde_json::json!({ "ended": ended })));
        audit::record(c, now, &event)?;
        Ok(ended)
    })
}

/// A console session that still stands: its row, the membership it acts in, the workspace's session
/// limits, the account's active workspaces (for the switcher), and whether the workspace makes it set
/// up two-factor first.
#[derive(Debug)]
pub struct Resumed {
    pub session_id: i64,
    pub member: crate::db::accounts::Member,
    pub workspace: Workspace,
    /// (idle, lifetime) in seconds.
    pub limits: (i64, i64),
    pub workspaces: Vec<Workspace>,
    pub must_enrol: bool,
}

/// Reads what a request's cookie names; `None` when the session was ended (signed out, from another
/// browser, by an Administrator) or the account is no longer an active member of its workspace.
pub fn resume(
    state: &AppState,
    token: &str,
    account_id: i64,
    workspace_id: i64,
    defaults: (i64, i64),
) -> Result<Option<Resumed>> {
    state.db.read(|c| {
        let Some(record) = current(c, token, account_id)? else { return Ok::<_, Error>(None) };
        let Some(member) = crate::db::accounts::member(c, workspace_id, account_id)? else { return Ok(None) };
        let limits = crate::services::policies::session_limits(c, workspace_id, defaults)?;
        let workspaces = crate::db::workspaces::of_account(c, account_id)?;
        let Some(workspace) = workspaces.iter().find(|w| w.id == workspace_id).cloned() else { return Ok(None) };
        let must_enrol = !member.account.has_two_factor() && crate::services::two_factor::required(c, workspace_id)?;
        Ok(Some(Resumed { session_id: record.id, member, workspace, limits, workspaces, must_enrol }))
    })
}
