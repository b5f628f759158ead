//! Per-workspace settings, stored as text and read with a default.

use diesel::prelude::*;

use super::DbConn;
use super::schema::workspace_settings;

/// An integer setting of the workspace, or `default` when unset or unreadable.
pub fn get_i64(conn: &mut DbConn, workspace_id: i64, name: &str, default: i64) -> Result<i64, diesel::result::Error> {
    let value: Option<String> = workspace_settings::table
        .filter(workspace_settings::workspace_id.eq(workspace_id))
        .filter(workspace_settings::name.eq(name))
        .select(workspace_settings::value)
        .first(conn)
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Days within which a use makes deleting a key ask twice.
pub const RECENT_USE_DAYS: (&str, i64) = ("recent_use_days", 3);
