//! The workspace's key policies: when owners are reminded of expiry, when a secret is due for
//! rotation, how recent a use makes deleting a key ask twice, and what happens to a deleted person's keys.

use serde::{Deserialize, Serialize};

use super::Caller;
use crate::db::{DbConn, audit, settings};
use crate::domain::Invalid;
use crate::error::Result;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policies {
    /// Days before expiry, largest first, e.g. `[30, 7, 3, 1]`.
    pub reminder_days: Vec<i64>,
    pub rotation_days: i64,
    pub recent_use_days: i64,
    pub stale_days: i64,
    /// Keys must expire within this many days of being created or given a new expiry.
    pub max_lifetime_days: Option<i64>,
    /// Console sessions: idle minutes and total hours; `None` is the instance's setting.
    pub session_idle_minutes: Option<i64>,
    pub session_lifetime_hours: Option<i64>,
    /// What deleting a person does to their keys here, unless the deleting Administrator chooses otherwise.
    pub departed_keys: DepartedKeys,
}

/// A deleted person's keys go to an Administrator either way (a key always has an owner); they keep working
/// (the ManageEngine hand-over) or stop at once (Delete means revoke, as IncidentIQ users expect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartedKeys {
    #[default]
    HandOver,
    Deactivate,
}

impl DepartedKeys {
    pub const ALL: [DepartedKeys; 2] = [DepartedKeys::HandOver, DepartedKeys::Deactivate];

    pub fn code(self) -> &'static str {
        match self {
            DepartedKeys::HandOver => "hand_over",
            DepartedKeys::Deactivate => "deactivate",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DepartedKeys::HandOver => "Hand them to an administrator; they keep working",
            DepartedKeys::Deactivate => "Deactivate them and hand them to an administrator to review",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl Policies {
    pub fn reminder_text(&self) -> String {
        self.reminder_days.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// The policies form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PoliciesForm {
    #[serde(default)]
    pub reminder_days: String,
    #[serde(default)]
    pub rotation_days: String,
    #[serde(default)]
    pub recent_use_days: String,
    #[serde(default)]
    pub stale_days: String,
    #[serde(default)]
    pub max_lifetime_days: String,
    #[serde(default)]
    pub session_idle_minutes: String,
    #[serde(default)]
    pub session_lifetime_hours: String,
    #[serde(default)]
    pub departed_keys: String,
}

/// Reminder days as typed: up to six whole numbers from 1 to 365, any separators.
pub fn parse_reminder_days(text: &str) -> std::result::Result<Vec<i64>, Invalid> {
    let mut days = Vec::new();
    for part in text.split([',', ' ', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<i64>() {
            Ok(d @ 1..=365) => days.push(d),
            _ => return Err(Invalid::new("reminder_days", format!("“{part}” is not a number of days from 1 to 365."))),
        }
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    if days.len() > 6 {
        return Err(Invalid::new("reminder_days", "Give at most six reminder days."));
    }
    Ok(days)
}

fn number(
    field: &'static str,
    text: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> std::result::Result<i64, Invalid> {
    match text.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(Invalid::new(
            field,
            format!("{what} must be a whole number from {} to {}.", range.start(), range.end()),
        )),
    }
}

/// Empty for "not set", else a number in `range`.
fn optional(
    field: &'static str,
    text: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> std::result::Result<Option<i64>, Invalid> {
    if text.trim().is_empty() { Ok(None) } else { number(field, text, range, what).map(Some) }
}

impl PoliciesForm {
    pub fn parse(&self) -> std::result::Result<Policies, Invalid> {
        Ok(Policies {
            reminder_days: parse_reminder_days(&self.reminder_days)?,
            rotation_days: number("rotation_days", &self.rotation_days, 1..=3650, "Rotation age")?,
            recent_use_days: number("recent_use_days", &self.recent_use_days, 0..=90, "The recent-use window")?,
            stale_days: number("stale_days", &self.stale_days, 1..=3650, "The stale-key threshold")?,
            max_lifetime_days: optional(
                "max_lifetime_days",
                &self.max_lifetime_days,
                1..=3650,
                "The maximum key lifetime",
            )?,
            session_idle_minutes: optional(
                "session_idle_minutes",
                &self.session_idle_minutes,
                5..=720,
                "The idle timeout",
            )?,
            session_lifetime_hours: optional(
                "session_lifetime_hours",
                &self.session_lifetime_hours,
                1..=168,
                "The session lifetime",
            )?,
            // Not sent (an older form): the default.
            departed_keys: match self.departed_keys.trim() {
                "" => DepartedKeys::default(),
                code => DepartedKeys::parse(code)
                    .ok_or_else(|| Invalid::new("departed_keys", "Choose what happens to a deleted person's keys."))?,
            },
        })
    }
}

pub fn load(c: &mut DbConn, workspace_id: i64) -> Result<Policies> {
    let (name, default) = settings::REMINDER_DAYS;
    let reminders = settings::get_text(c, workspace_id, name)?.unwrap_or_else(|| default.to_owned());
    let (rotation, rotation_default) = settings::ROTATION_DAYS;
    let (recent, recent_default) = settings::RECENT_USE_DAYS;
    let (stale, stale_default) = settings::STALE_DAYS;
    Ok(Policies {
        reminder_days: parse_reminder_days(&reminders).unwrap_or_else(|_| vec![3]),
        rotation_days: settings::get_i64(c, workspace_id, rotation, rotation_default)?,
        recent_use_days: settings::get_i64(c, workspace_id, recent, recent_default)?,
        stale_days: settings::get_i64(c, workspace_id, stale, stale_default)?,
        max_lifetime_days: optional_setting(c, workspace_id, settings::MAX_LIFETIME_DAYS)?,
        session_idle_minutes: optional_setting(c, workspace_id, settings::SESSION_IDLE_MINUTES)?,
        session_lifetime_hours: optional_setting(c, workspace_id, settings::SESSION_LIFETIME_HOURS)?,
        departed_keys: departed_keys(c, workspace_id)?,
    })
}

/// The workspace's default for a deleted person's keys.
pub fn departed_keys(c: &mut DbConn, workspace_id: i64) -> Result<DepartedKeys> {
    let stored = settings::get_text(c, workspace_id, settings::DEPARTED_KEYS)?;
    Ok(stored.as_deref().and_then(DepartedKeys::parse).unwrap_or_default())
}

fn optional_setting(c: &mut DbConn, workspace_id: i64, name: &str) -> Result<Option<i64>> {
    Ok(settings::get_text(c, workspace_id, name)?.and_then(|v| v.parse().ok()))
}

/// The workspace's console session limits in seconds (idle, lifetime), over the instance's defaults.
pub fn session_limits(c: &mut DbConn, workspace_id: i64, defaults: (i64, i64)) -> Result<(i64, i64)> {
    let idle = optional_setting(c, workspace_id, settings::SESSION_IDLE_MINUTES)?.map_or(defaults.0, |m| m * 60);
    let lifetime =
        optional_setting(c, workspace_id, settings::SESSION_LIFETIME_HOURS)?.map_or(defaults.1, |h| h * 3600);
    Ok((idle, lifetime))
}

pub fn get(state: &AppState, workspace_id: i64) -> Result<Policies> {
    state.db.read(|c| load(c, workspace_id))
}

/// Saves the policies (Administrators); the change is audited with before and after.
pub fn save(state: &AppState, caller: &Caller, form: &PoliciesForm) -> Result<Policies> {
    caller.must_administer()?;
    let wanted = form.parse()?;
    let (ws, now) = (caller.workspace_id, state.now());
    // Policies decide reminders and confirmations, never access: the verification cache stays.
    state.db.write_counters(|c| {
        let before = load(c, ws)?;
        if before == wanted {
            return Ok(wanted.clone());
        }
        settings::set(c, ws, settings::REMINDER_DAYS.0, &wanted.reminder_text())?;
        settings::set(c, ws, settings::ROTATION_DAYS.0, &wanted.rotation_days.to_string())?;
        settings::set(c, ws, settings::RECENT_USE_DAYS.0, &wanted.recent_use_days.to_string())?;
        settings::set(c, ws, settings::STALE_DAYS.0, &wanted.stale_days.to_string())?;
        let text = |n: Option<i64>| n.map(|d| d.to_string()).unwrap_or_default();
        settings::set(c, ws, settings::MAX_LIFETIME_DAYS, &text(wanted.max_lifetime_days))?;
        settings::set(c, ws, settings::SESSION_IDLE_MINUTES, &text(wanted.session_idle_minutes))?;
        settings::set(c, ws, settings::SESSION_LIFETIME_HOURS, &text(wanted.session_lifetime_hours))?;
        settings::set(c, ws, settings::DEPARTED_KEYS, wanted.departed_keys.code())?;
        let to_json = |p: &Policies| serde_json::to_value(p).unwrap_or_default();
        let event = caller.event("settings.policies_changed").change(Some(to_json(&before)), Some(to_json(&wanted)));
        audit::record(c, now, &event)?;
        Ok(wanted.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_are_sorted_deduplicated_and_bounded() {
        assert_eq!(parse_reminder_days("3, 30 7 1;7").ok(), Some(vec![30, 7, 3, 1]));
        assert_eq!(parse_reminder_days("").ok(), Some(vec![]));
        assert!(parse_reminder_days("0").is_err());
        assert!(parse_reminder_days("soon").is_err());
        assert!(parse_reminder_days("1,2,3,4,5,6,7").is_err());
    }
}
