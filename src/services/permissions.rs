//! The permission catalogue: Administrators add, edit and remove permissions and their URI rules.

pub use crate::db::permissions::PermissionRow;
use crate::db::{audit, permissions};
use crate::domain::Invalid;
use crate::domain::access::Permission;
use crate::domain::audit::Event;
use crate::domain::uri::{UriRule, parse_line};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

pub const MAX_RULES: usize = 50;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PermissionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// `normal` or `high`.
    #[serde(default)]
    pub risk: String,
    /// Present when using the permission changes something.
    #[serde(default)]
    pub writes: Option<String>,
    /// One `METHOD /path` rule per line.
    #[serde(default)]
    pub rules: String,
}

#[derive(Debug)]
struct Parsed {
    name: String,
    label: String,
    description: String,
    high_risk: bool,
    writes: bool,
    rules: Vec<UriRule>,
}

/// `area.action`: lower-case letters, digits and underscores, in two or more dot-separated parts.
pub fn parse_name(input: &str) -> Result<String, Invalid> {
    let name = input.trim();
    let part_ok =
        |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if name.len() <= 100
        && name.contains('.')
        && name.split('.').all(part_ok)
        && name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        Ok(name.to_owned())
    } else {
        Err(Invalid::new(
            "name",
            "A permission name looks like area.action: lower-case letters, digits and _, parts joined by dots.",
        ))
    }
}

fn parse(form: &PermissionForm) -> Result<Parsed, Invalid> {
    let name = parse_name(&form.name)?;
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Invalid::new("label", "Give the permission a label of 1–100 characters, e.g. Lock Device."));
    }
    let description = form.description.trim();
    if description.chars().count() > 500 {
        return Err(Invalid::new("description", "A description has at most 500 characters."));
    }
    let high_risk = match form.risk.as_str() {
        "" | "normal" => false,
        "high" => true,
        _ => return Err(Invalid::new("risk", "Choose normal or high risk.")),
    };
    let rules = form
        .rules
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_line(l).map_err(|e| Invalid::new("rules", e.message)))
        .collect::<Result<Vec<_>, _>>()?;
    if rules.len() > MAX_RULES {
        return Err(Invalid::new("rules", format!("A permission has at most {MAX_RULES} URI rules.")));
    }
    Ok(Parsed {
        name,
        label: label.to_owned(),
        description: description.to_owned(),
        high_risk,
        writes: form.writes.is_some(),
        rules,
    })
}

fn fields(p: &Parsed) -> permissions::PermissionFields<'_> {
    permissions::PermissionFields {
        name: &p.name,
        label: &p.label,
        description: &p.description,
        high_risk: p.high_risk,
        writes: p.writes,
        rules: &p.rules,
    }
}

fn json(p: &Parsed) -> serde_json::Value {
    serde_json::json!({
        "name": p.name, "label": p.label, "risk": if p.high_risk { "high" } else { "normal" }, "writes": p.writes,
        "rules": p.rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn event(caller: &Caller, action: &'static str, id: i64, name: &str) -> Event {
    caller.event(action).on("permission", id, name)
}

fn admin_only(caller: &Caller) -> Result<()> {
    caller.must_administer()
}

fn taken(rows: &[permissions::PermissionRow], except: Option<i64>, name: &str) -> Result<()> {
    if rows.iter().any(|r| r.name == name && Some(r.id) != except) {
        return Err(Invalid::new("name", format!("A permission named {name} already exists.")).into());
    }
    Ok(())
}

/// A stored permission as the edit form shows it.
pub fn form_of(state: &AppState, workspace_id: i64, id: i64) -> Result<PermissionForm> {
    let (catalogue, rows) = state.db.read(|c| {
        Ok::<_, diesel::result::Error>((permissions::catalogue(c, workspace_id)?, permissions::rows(c, workspace_id)?))
    })?;
    let p = catalogue.into_iter().find(|p| p.id == id).ok_or(Error::NotFound)?;
    Ok(PermissionForm {
        description: rows.into_iter().find(|r| r.id == id).map(|r| r.description).unwrap_or_default(),
        risk: if p.high_risk { "high".into() } else { "normal".into() },
        writes: p.writes.then(|| "1".to_owned()),
        rules: p.rules.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        name: p.name,
        label: p.label,
    })
}

pub fn create(state: &AppState, caller: &Caller, form: &PermissionForm) -> Result<i64> {
    admin_only(caller)?;
    let parsed = parse(form)?;
    let now = state.now();
    state.db.write(|c| create_in(c, caller, &parsed, now))
}

fn create_in(c: &mut crate::db::DbConn, caller: &Caller, parsed: &Parsed, now: i64) -> Result<i64> {
    taken(&permissions::rows(c, caller.workspace_id)?, None, &parsed.name)?;
    let id = permissions::insert(c, caller.workspace_id, &fields(parsed), now)?;
    audit::record(c, now, &event(caller, "permission.created", id, &parsed.name).change(None, Some(json(parsed))))?;
    Ok(id)
}

pub fn update(state: &AppState, caller: &Caller, id: i64, form: &PermissionForm) -> Result<()> {
    admin_only(caller)?;
    let parsed = parse(form)?;
    let now = state.now();
    state.db.write(|c| {
        let rows = permissions::rows(c, caller.workspace_id)?;
        let before = rows.iter().find(|r| r.id == id).ok_or(Error::NotFound)?;
        let before = serde_json::json!({ "name": before.name, "label": before.label, "risk": before.risk, "writes": before.writes });
        taken(&rows, Some(id), &parsed.name)?;
        permissions::update(c, id, &fields(&parsed), now)?;
        audit::record(c, now, &event(caller, "permission.updated", id, &parsed.name).change(Some(before), Some(json(&parsed))))?;
        Ok(())
    })
}

pub fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    admin_only(caller)?;
    let now = state.now();
    state.db.write(|c| {
        let row = permissions::rows(c, caller.workspace_id)?.into_iter().find(|r| r.id == id).ok_or(Error::NotFound)?;
        permissions::delete(c, id)?;
        audit::record(c, now, &event(caller, "permission.deleted", id, &row.name))?;
        Ok(())
    })
}

/// Whether a form would be accepted (the starter catalogues' own test).
#[cfg(test)]
pub(crate) fn check(form: &PermissionForm) -> std::result::Result<(), Invalid> {
    parse(form).map(drop)
}

/// The id of the workspace's permission named as `form`'s, adding it from the form when there is none
/// (a starter catalogue, inside its transaction); true when added.
pub(crate) fn ensure_in(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    form: &PermissionForm,
    now: i64,
) -> Result<(i64, bool)> {
    let parsed = parse(form)?;
    match permissions::rows(c, caller.workspace_id)?.into_iter().find(|r| r.name == parsed.name) {
        Some(existing) => Ok((existing.id, false)),
        None => Ok((create_in(c, caller, &parsed, now)?, true)),
    }
}

/// The demo catalogue: the device-management set and the LoRaWAN-style set (SPEC §2).
pub const DEMO_CATALOGUE: [(&str, &str, bool, bool, &[&str]); 11] = [
    ("device.view_location", "View Location", false, false, &["GET /integration/device/*/location"]),
    ("device.change_status", "Change Status", false, true, &["POST /integration/device/*/status"]),
    (
        "device.lock",
        "Lock Device",
        false,
        true,
        &["POST /integration/device/*/lock", "POST /integration/device/sendmsg"],
    ),
    ("device.unlock", "Unlock Device", true, true, &["POST /integration/device/*/unlock"]),
    ("device.wipe", "Wipe Device", true, true, &["POST /integration/device/*/wipe"]),
    ("lorawan.device_full", "Device: Full Access", false, true, &["* /api/devices/**"]),
    ("lorawan.downlinks", "Downlinks", false, true, &["POST /api/devices/*/queue", "DELETE /api/devices/*/queue"]),
    ("lorawan.fuota", "FUOTA", false, true, &["* /api/fuota-deployments/**"]),
    ("lorawan.onboarding", "Onboarding", false, true, &["POST /api/devices", "POST /api/devices/*/keys"]),
    ("lorawan.read", "Read Access", false, false, &["GET /api/devices/**", "GET /api/applications/**"]),
    ("billing.access", "Billing Access", false, false, &["GET /api/billing/**"]),
];

/// Adds the demo catalogue's permissions that the workspace does not have yet; returns how many.
pub fn seed_demo(c: &mut crate::db::DbConn, caller: &Caller, now: i64) -> Result<usize> {
    let existing = permissions::rows(c, caller.workspace_id)?;
    let mut added = 0;
    for (name, label, high_risk, writes, rules) in DEMO_CATALOGUE {
        if existing.iter().any(|r| r.name == name) {
            continue;
        }
        let rules = rules.iter().map(|l| parse_line(l)).collect::<Result<Vec<_>, _>>()?;
        let parsed =
            Parsed { name: name.into(), label: label.into(), description: String::new(), high_risk, writes, rules };
        create_in(c, caller, &parsed, now)?;
        added += 1;
    }
    Ok(added)
}

/// The caller's workspace's permissions with their rules, in name order.
pub fn catalogue(state: &AppState, caller: &Caller) -> Result<Vec<Permission>> {
    let ws = caller.workspace_id;
    state.db.read(|c| permissions::catalogue(c, ws))
}

/// The caller's workspace's permissions as stored rows (with ids and risk).
pub fn rows(state: &AppState, caller: &Caller) -> Result<Vec<PermissionRow>> {
    let ws = caller.workspace_id;
    state.db.read(|c| permissions::rows(c, ws))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_area_dot_action() {
        assert!(parse_name("device.lock").is_ok());
        assert!(parse_name("lorawan.device_full").is_ok());
        for bad in ["device", "Device.lock", "device..lock", ".lock", "device.lock!", "1device.lock"] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_demo_catalogue_parses() {
        for (name, _, _, _, rules) in DEMO_CATALOGUE {
            assert!(parse_name(name).is_ok(), "{name}");
            assert!(rules.iter().all(|l| parse_line(l).is_ok()), "{name}");
        }
    }

    #[test]
    fn every_rule_line_is_checked() {
        let form = PermissionForm {
            name: "a.b".into(),
            label: "A".into(),
            rules: "GET /ok\nFETCH /bad".into(),
            ..Default::default()
        };
        assert_eq!(parse(&form).err().map(|e| e.field), Some("rules"));
    }
}
