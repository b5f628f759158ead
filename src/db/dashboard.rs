//! The numbers on the dashboard, each scoped to one workspace.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{
    account_permissions, account_roles, accounts, api_keys, key_secrets, key_usage, memberships, permissions, roles,
};
use crate::domain::key::KeyStatus;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub accounts_active: i64,
    pub accounts_disabled: i64,
    pub keys_active: i64,
    pub keys_inactive: i64,
    pub keys_expired: i64,
    pub keys_expiring: i64,
    pub keys_rotation_due: i64,
    pub keys_unused: i64,
}

/// The windows the key counts use, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub expiring: i64,
    pub rotation: i64,
    pub unused: i64,
}

/// Counts for the workspace; the key counts only of `owner`'s keys when given (a Member's view).
pub fn counts(
    conn: &mut DbConn,
    workspace_id: i64,
    owner: Option<i64>,
    now: i64,
    w: Windows,
) -> Result<Counts, diesel::result::Error> {
    let members = || accounts::table.inner_join(memberships::table).filter(memberships::workspace_id.eq(workspace_id));
    let keys = || {
        let query = api_keys::table.filter(api_keys::workspace_id.eq(workspace_id)).into_boxed();
        match owner {
            Some(owner) => query.filter(api_keys::owner_id.eq(owner)),
            None => query,
        }
    };
    let expired = api_keys::expires_at.le(now);
    let live = api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now));
    Ok(Counts {
        accounts_active: members().filter(accounts::disabled_at.is_null()).count().get_result(conn)?,
        accounts_disabled: members().filter(accounts::disabled_at.is_not_null()).count().get_result(conn)?,
        keys_active: keys()
            .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
            .filter(live)
            .count()
            .get_result(conn)?,
        keys_inactive: keys().filter(api_keys::status.eq(KeyStatus::Inactive.as_str())).count().get_result(conn)?,
        keys_expired: keys()
            .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
            .filter(expired)
            .count()
            .get_result(conn)?,
        keys_expiring: keys()
            .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
            .filter(api_keys::expires_at.gt(now))
            .filter(api_keys::expires_at.le(now.saturating_add(w.expiring)))
            .count()
            .get_result(conn)?,
        keys_rotation_due: keys()
            .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
            .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
            .filter(
                api_keys::id.eq_any(
                    key_secrets::table
                        .filter(key_secrets::retires_at.is_null())
                        .filter(key_secrets::created_at.le(now.saturating_sub(w.rotation)))
                        .select(key_secrets::key_id),
                ),
            )
            .count()
            .get_result(conn)?,
        keys_unused: {
            let cutoff = now.saturating_sub(w.unused);
            let used = key_usage::table.filter(key_usage::last_used_at.gt(cutoff)).select(key_usage::key_id);
            keys().filter(api_keys::created_at.le(cutoff)).filter(api_keys::id.ne_all(used)).count().get_result(conn)?
        },
    })
}

/// How far a workspace is through its first steps: a catalogue, grants to people, a key, a key used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FirstSteps {
    pub permissions: bool,
    pub grants: bool,
    pub keys: bool,
    pub used: bool,
}

pub fn first_steps(conn: &mut DbConn, workspace_id: i64) -> Result<FirstSteps, diesel::result::Error> {
    let exists = |n: i64| n > 0;
    let in_workspace_keys = api_keys::table.filter(api_keys::workspace_id.eq(workspace_id));
    Ok(FirstSteps {
        permissions: exists(
            permissions::table.filter(permissions::workspace_id.eq(workspace_id)).count().get_result(conn)?,
        ),
        grants: exists(
            account_permissions::table
                .inner_join(permissions::table)
                .filter(permissions::workspace_id.eq(workspace_id))
                .count()
                .get_result(conn)?,
        ) || exists(
            account_roles::table
                .inner_join(roles::table)
                .filter(roles::workspace_id.eq(workspace_id))
                .count()
                .get_result(conn)?,
        ),
        keys: exists(in_workspace_keys.count().get_result(conn)?),
        used: exists(
            key_usage::table
                .inner_join(api_keys::table)
                .filter(api_keys::workspace_id.eq(workspace_id))
                .count()
                .get_result(conn)?,
        ),
    })
}
