//! A person's notifications and the invitations waiting for their answer: the bell, the list, and
//! marking read. Reading a notice changes nobody's access, so these writes leave the verification
//! caches alone.

pub use crate::db::invitations::Received;
pub use crate::db::notifications::NotificationRow;
use crate::db::{invitations, notifications};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// Tells a person something, inside the caller's transaction: the bell, the workspace's webhooks, and
/// email (`services::email`). With a `dedupe` key it is told once per key; returns whether it was told.
pub(crate) fn notify(
    c: &mut crate::db::DbConn,
    post: &crate::services::email::Post<'_>,
    n: &notifications::NewNotification<'_>,
    dedupe: Option<&str>,
    now: i64,
) -> Result<bool> {
    let id = match dedupe {
        Some(key) => notifications::insert_once(c, n, key, now)?,
        None => Some(notifications::insert(c, n, now)?),
    };
    let Some(id) = id else { return Ok(false) };
    crate::services::email::notification(c, post, n, id, now)?;
    Ok(true)
}

/// What the bell counts: unread notifications here, and invitations from any workspace.
pub fn unread(state: &AppState, caller: &Caller) -> Result<i64> {
    let (ws, me) = (caller.workspace_id, caller.account_id.ok_or(Error::Forbidden)?);
    let (unread, invited) = state.db.read(|c| {
        Ok::<_, diesel::result::Error>((notifications::unread_count(c, ws, me)?, invitations::received_count(c, me)?))
    })?;
    Ok(unread + invited)
}

/// The newest `limit` notifications here, the invitations waiting for an answer, and what the bell
/// counts (`unread`).
#[derive(Debug)]
pub struct Inbox {
    pub invitations: Vec<Received>,
    pub rows: Vec<NotificationRow>,
    pub unread: i64,
}

pub fn inbox(state: &AppState, caller: &Caller, limit: i64) -> Result<Inbox> {
    let (ws, me) = (caller.workspace_id, caller.account_id.ok_or(Error::Forbidden)?);
    state.db.read(|c| {
        let invitations = invitations::received(c, me)?;
        let unread = notifications::unread_count(c, ws, me)? + i64::try_from(invitations.len()).unwrap_or(i64::MAX);
        let rows = notifications::for_account(c, ws, me, limit)?;
        Ok::<_, diesel::result::Error>(Inbox { invitations, rows, unread })
    })
}

/// The caller's newest `limit` notifications here, and nothing else (the management API's list).
pub fn recent(state: &AppState, caller: &Caller, limit: i64) -> Result<Vec<NotificationRow>> {
    let (ws, me) = (caller.workspace_id, caller.account_id.ok_or(Error::Forbidden)?);
    state.db.read(|c| notifications::for_account(c, ws, me, limit))
}

/// Marks the caller's notifications read: one, or all. Returns how many changed; a notification that
/// is not the caller's is not found.
pub fn mark_read(state: &AppState, caller: &Caller, id: Option<i64>) -> Result<usize> {
    let (me, now) = (caller.account_id.ok_or(Error::Forbidden)?, state.now());
    let (found, changed) =
        state.db.write_counters(|c| notifications::mark_read(c, me, id, now).map_err(Error::from))?;
    if id.is_some() && found == 0 {
        return Err(Error::NotFound);
    }
    Ok(changed)
}
