//! What the reminder job looks for: keys near or past expiry, secrets due for rotation, and overlaps
//! that have ended. Only active keys are considered.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{api_keys, key_secrets, key_types, workspaces};
use crate::domain::key::KeyStatus;

type QResult<T> = Result<T, diesel::result::Error>;

/// A key a notice may be about.
#[derive(Debug, Clone, Queryable)]
pub struct KeyDue {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub editable: bool,
    /// The expiry, or (for rotation and overlaps) the secret's time that matters.
    pub at: i64,
    /// The secret concerned (rotation, overlap); the key id otherwise.
    pub secret_id: i64,
}

pub fn workspace_ids(conn: &mut DbConn) -> QResult<Vec<i64>> {
    workspaces::table.filter(workspaces::archived_at.is_null()).select(workspaces::id).order(workspaces::id).load(conn)
}

/// Active keys of the workspace expiring in `(from, until]`.
pub fn expiring(conn: &mut DbConn, workspace_id: i64, from: i64, until: i64) -> QResult<Vec<KeyDue>> {
    api_keys::table
        .inner_join(key_types::table)
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
        .filter(api_keys::expires_at.gt(from))
        .filter(api_keys::expires_at.le(until))
        .order(api_keys::id)
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::owner_id,
            key_types::editable,
            api_keys::expires_at.assume_not_null(),
            api_keys::id,
        ))
        .load(conn)
}

/// Active, unexpired keys whose current secret was made at or before `made_before`.
pub fn rotation_due(conn: &mut DbConn, workspace_id: i64, made_before: i64, now: i64) -> QResult<Vec<KeyDue>> {
    api_keys::table
        .inner_join(key_types::table)
        .inner_join(key_secrets::table)
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
        .filter(key_secrets::retires_at.is_null())
        .filter(key_secrets::created_at.le(made_before))
        .order(api_keys::id)
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::owner_id,
            key_types::editable,
            key_secrets::created_at,
            key_secrets::id,
        ))
        .load(conn)
}

/// Secrets of active keys whose overlap ended in `(from, until]`.
pub fn overlaps_ended(conn: &mut DbConn, workspace_id: i64, from: i64, until: i64) -> QResult<Vec<KeyDue>> {
    api_keys::table
        .inner_join(key_types::table)
        .inner_join(key_secrets::table)
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
        .filter(key_secrets::retires_at.gt(from))
        .filter(key_secrets::retires_at.le(until))
        .order(api_keys::id)
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::owner_id,
            key_types::editable,
            key_secrets::retires_at.assume_not_null(),
            key_secrets::id,
        ))
        .load(conn)
}
