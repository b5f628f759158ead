//! Key types: added, renamed, relabelled and removed by Administrators. A prefix never changes once
//! keys of the type exist, and a type with keys cannot be removed.

pub use crate::db::key_types::KeyType;
use crate::db::{audit, key_types};
use crate::domain::audit::Event;
use crate::domain::key::parse_prefix;
use crate::domain::{Invalid, policy};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub id_field_label: String,
    #[serde(default)]
    pub editable: Option<String>,
}

struct Parsed {
    name: String,
    prefix: String,
    label: Option<String>,
    editable: bool,
}

fn parse(form: &TypeForm) -> Result<Parsed, Invalid> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(Invalid::new("name", "A type name has 1–50 printable characters."));
    }
    crate::domain::name::refuse_invisible("name", "A type name", name)?;
    let label = form.id_field_label.trim();
    if label.chars().count() > 50 || label.chars().any(char::is_control) {
        return Err(Invalid::new("id_field_label", "A field label has at most 50 printable characters."));
    }
    Ok(Parsed {
        name: name.to_owned(),
        prefix: parse_prefix(&form.prefix)?,
        label: (!label.is_empty()).then(|| label.to_owned()),
        editable: form.editable.is_some(),
    })
}

fn admin_only(caller: &Caller) -> Result<()> {
    if policy::may_create_for_others(caller.role) { Ok(()) } else { Err(Error::Forbidden) }
}

use crate::domain::name::comparable;

fn clashes(types: &[key_types::KeyType], except: Option<i64>, p: &Parsed) -> Result<()> {
    for t in types.iter().filter(|t| Some(t.id) != except) {
        if comparable(&t.name) == comparable(&p.name) {
            return Err(Invalid::new("name", format!("A type named \u{201c}{}\u{201d} already exists.", t.name)).into());
        }
        if t.prefix == p.prefix {
            return Err(
                Invalid::new("prefix", format!("The prefix {} is already used by {}.", t.prefix, t.name)).into()
            );
        }
    }
    Ok(())
}

fn event(caller: &Caller, action: &'static str, id: i64, name: &str) -> Event {
    let mut e =
        Event::new(action, caller.origin.actor.clone()).in_workspace(caller.workspace_id).on("key_type", id, name);
    e.source_ip = caller.origin.ip.clone();
    e
}

fn fields(p: &Parsed) -> key_types::TypeFields<'_> {
    key_types::TypeFields { name: &p.name, prefix: &p.prefix, id_field_label: p.label.as_deref(), editable: p.editable }
}

fn json(p: &Parsed) -> serde_json::Value {
    serde_json::json!({ "name": p.name, "prefix": p.prefix, "id_field_label": p.label, "editable": p.editable })
}

pub fn create(state: &AppState, caller: &Caller, form: &TypeForm) -> Result<i64> {
    admin_only(caller)?;
    let parsed = parse(form)?;
    let now = state.now();
    state.db.write(|c| {
        clashes(&key_types::list(c, caller.workspace_id)?, None, &parsed)?;
        let id = key_types::insert(c, caller.workspace_id, &fields(&parsed), now)?;
        audit::record(c, now, &event(caller, "key_type.created", id, &parsed.name).change(None, Some(json(&parsed))))?;
        Ok(id)
    })
}

pub fn update(state: &AppState, caller: &Caller, id: i64, form: &TypeForm) -> Result<()> {
    admin_only(caller)?;
    let parsed = parse(form)?;
    let now = state.now();
    state.db.write(|c| {
        let types = key_types::list(c, caller.workspace_id)?;
        let current = types.iter().find(|t| t.id == id).ok_or(Error::NotFound)?;
        let in_use = key_types::key_counts(c, caller.workspace_id)?.iter().any(|(t, n)| *t == id && *n > 0);
        if in_use && current.prefix != parsed.prefix {
            return Err(Invalid::new("prefix", "Keys of this type exist, so its prefix cannot change.").into());
        }
        clashes(&types, Some(id), &parsed)?;
        let before = serde_json::json!({
            "name": current.name, "prefix": current.prefix, "id_field_label": current.id_field_label, "editable": current.editable,
        });
        key_types::update(c, id, &fields(&parsed))?;
        audit::record(c, now, &event(caller, "key_type.updated", id, &parsed.name).change(Some(before), Some(json(&parsed))))?;
        Ok(())
    })
}

pub fn delete(state: &AppState, caller: &Caller, id: i64) -> Result<()> {
    admin_only(caller)?;
    let now = state.now();
    state.db.write(|c| {
        let current = key_types::find(c, caller.workspace_id, id)?.ok_or(Error::NotFound)?;
        if key_types::key_counts(c, caller.workspace_id)?.iter().any(|(t, n)| *t == id && *n > 0) {
            return Err(Error::Conflict(format!("Keys of type {} exist; delete them first.", current.name)));
        }
        key_types::delete(c, id)?;
        audit::record(c, now, &event(caller, "key_type.deleted", id, &current.name))?;
        Ok(())
    })
}

/// The roles a type's keys may hold, by type id (a type absent from the map allows any role).
pub fn allowed_roles(state: &AppState, caller: &Caller) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
    let ws = caller.workspace_id;
    let pairs = state.db.read(|c| key_types::allowed_roles(c, ws))?;
    let mut map: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for (t, r) in pairs {
        map.entry(t).or_default().push(r);
    }
    Ok(map)
}

/// Restricts the roles the type's keys may hold (none chosen: any role). Refused while a key of the type
/// holds a role outside the new list, so no existing key is left breaking its type's rule.
pub fn set_allowed_roles(state: &AppState, caller: &Caller, type_id: i64, role_ids: &[i64]) -> Result<()> {
    admin_only(caller)?;
    let now = state.now();
    state.db.write(|c| restrict_in(c, caller, type_id, role_ids, now))
}

/// As `set_allowed_roles`, inside the caller's transaction (a starter catalogue applies its own).
pub(crate) fn restrict_in(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    type_id: i64,
    role_ids: &[i64],
    now: i64,
) -> Result<()> {
    let ws = caller.workspace_id;
    let current = key_types::find(c, ws, type_id)?.ok_or(Error::NotFound)?;
    let roles = crate::db::roles::list(c, ws)?;
    let names =
        |ids: &[i64]| -> Vec<String> { roles.iter().filter(|r| ids.contains(&r.id)).map(|r| r.name.clone()).collect() };
    if role_ids.iter().any(|id| !roles.iter().any(|r| r.id == *id)) {
        return Err(Invalid::new("roles", "One of the chosen roles does not exist.").into());
    }
    if !role_ids.is_empty() {
        let outside = crate::db::keys::holding_roles_outside(c, type_id, role_ids)?;
        if !outside.is_empty() {
            return Err(Error::Conflict(format!(
                "{} {} keys hold other roles ({}); change them first.",
                outside.len(),
                current.name,
                outside.join(", ")
            )));
        }
    }
    let before: Vec<i64> =
        key_types::allowed_roles(c, ws)?.into_iter().filter(|(t, _)| *t == type_id).map(|(_, r)| r).collect();
    key_types::set_allowed_roles(c, type_id, role_ids)?;
    let show = |ids: &[i64]| if ids.is_empty() { serde_json::json!("any") } else { serde_json::json!(names(ids)) };
    let change = event(caller, "key_type.roles_changed", type_id, &current.name).change(
        Some(serde_json::json!({ "allowed_roles": show(&before) })),
        Some(serde_json::json!({ "allowed_roles": show(role_ids) })),
    );
    audit::record(c, now, &change)?;
    Ok(())
}

/// Refuses roles the key type does not allow: "Customer keys may hold only Billing Access."
pub(crate) fn check_roles_allowed(
    c: &mut crate::db::DbConn,
    workspace_id: i64,
    type_id: i64,
    role_ids: &[i64],
) -> Result<()> {
    let allowed: Vec<i64> =
        key_types::allowed_roles(c, workspace_id)?.into_iter().filter(|(t, _)| *t == type_id).map(|(_, r)| r).collect();
    if allowed.is_empty() || role_ids.iter().all(|r| allowed.contains(r)) {
        return Ok(());
    }
    let key_type = key_types::find(c, workspace_id, type_id)?.ok_or(Error::NotFound)?;
    let names: Vec<String> = crate::db::roles::list(c, workspace_id)?
        .into_iter()
        .filter(|r| allowed.contains(&r.id))
        .map(|r| r.name)
        .collect();
    Err(Invalid::new("roles", format!("{} keys may hold only {}.", key_type.name, names.join(", "))).into())
}

/// The caller's workspace's key types, each with how many keys it has.
pub fn list(state: &AppState, caller: &Caller) -> Result<Vec<(KeyType, i64)>> {
    let ws = caller.workspace_id;
    let (types, counts) =
        state.db.read(|c| Ok::<_, diesel::result::Error>((key_types::list(c, ws)?, key_types::key_counts(c, ws)?)))?;
    Ok(types
        .into_iter()
        .map(|t| {
            let n = counts.iter().find(|(id, _)| *id == t.id).map_or(0, |(_, n)| *n);
            (t, n)
        })
        .collect())
}
