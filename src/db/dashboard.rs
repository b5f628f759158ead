//! The numbers on the dashboard, each scoped to one workspace.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{accounts, api_keys, memberships};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub accounts_active: i64,
    pub accounts_disabled: i64,
    pub keys_active: i64,
    pub keys_inactive: i64,
    pub keys_expired: i64,
}

pub fn counts(conn: &mut DbConn, workspace_id: i64, now: i64) -> Result<Counts, diesel::result::Error> {
    let members = || accounts::table.inner_join(memberships::table).filter(memberships::workspace_id.eq(workspace_id));
    let keys = || api_keys::table.filter(api_keys::workspace_id.eq(workspace_id));
    let expired = api_keys::expires_at.le(now);
    let live = api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now));
    Ok(Counts {
        accounts_active: members().filter(accounts::disabled_at.is_null()).count().get_result(conn)?,
        accounts_disabled: members().filter(accounts::disabled_at.is_not_null()).count().get_result(conn)?,
        keys_active: keys().filter(api_keys::status.eq("active")).filter(live).count().get_result(conn)?,
        keys_inactive: keys().filter(api_keys::status.eq("inactive")).count().get_result(conn)?,
        keys_expired: keys().filter(api_keys::status.eq("active")).filter(expired).count().get_result(conn)?,
    })
}
