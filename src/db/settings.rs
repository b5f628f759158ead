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
        .get_result(conn)
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Days within which a use makes deleting a key ask twice.
pub const RECENT_USE_DAYS: (&str, i64) = ("recent_use_days", 3);

/// A text setting of the workspace, when set.
pub fn get_text(conn: &mut DbConn, workspace_id: i64, name: &str) -> Result<Option<String>, diesel::result::Error> {
    workspace_settings::table
        .filter(workspace_settings::workspace_id.eq(workspace_id))
        .filter(workspace_settings::name.eq(name))
        .select(workspace_settings::value)
        .get_result(conn)
        .optional()
}

/// Sets (or replaces) a setting of the workspace.
pub fn set(conn: &mut DbConn, workspace_id: i64, name: &str, value: &str) -> Result<(), diesel::result::Error> {
    diesel::delete(
        workspace_settings::table
            .filter(workspace_settings::workspace_id.eq(workspace_id))
            .filter(workspace_settings::name.eq(name)),
    )
    .execute(conn)?;
    diesel::insert_into(workspace_settings::table)
        .values((
            workspace_settings::workspace_id.eq(workspace_id),
            workspace_settings::name.eq(name),
            workspace_settings::value.eq(value),
        ))
        .execute(conn)
        .map(drop)
}

/// (workspace id, value) of every workspace that has the setting.
pub fn everywhere(conn: &mut DbConn, name: &str) -> Result<Vec<(i64, String)>, diesel::result::Error> {
    workspace_settings::table
        .filter(workspace_settings::name.eq(name))
        .order(workspace_settings::workspace_id.asc())
        .select((workspace_settings::workspace_id, workspace_settings::value))
        .load(conn)
}

/// Days before expiry at which owners are reminded, comma-separated.
pub const REMINDER_DAYS: (&str, &str) = ("reminder_days", "3");
/// Age in days after which a key's secret is due for rotation.
pub const ROTATION_DAYS: (&str, i64) = ("rotation_days", 90);
/// Console sessions of the workspace end after this many idle minutes / hours in all; unset: the
/// instance's `--session-idle-minutes` / `--session-lifetime-hours`.
pub const SESSION_IDLE_MINUTES: &str = "session_idle_minutes";
pub const SESSION_LIFETIME_HOURS: &str = "session_lifetime_hours";

/// The longest a new key (or a changed expiry) may last, in days; unset: no maximum.
pub const MAX_LIFETIME_DAYS: &str = "max_lifetime_days";
/// Days without a use after which a key counts as stale (unused) on the dashboard.
/// What deleting a person does to their keys: `hand_over` (the default) or `deactivate`.
pub const DEPARTED_KEYS: &str = "departed_keys";
pub const STALE_DAYS: (&str, i64) = ("stale_days", 30);

/// Allowed email domains, one per line.
pub const ALLOWED_DOMAINS: &str = "allowed_domains";
/// "1" when people of the allowed domains may sign up themselves.
pub const SELF_SIGNUP: &str = "self_signup";
/// "1" when everyone in the workspace must sign in with two-factor.
pub const REQUIRE_TWO_FACTOR: &str = "require_two_factor";
