//! The life of an API key: create (secret shown once), list, view, reveal.

use std::net::IpAddr;

use crate::db::keys::{self, NewKey, NewSecret};
pub use crate::db::keys::{KeyRecord, ListQuery, Owned};
use crate::db::{DbConn, accounts, audit, key_types, notifications, permissions, roles, settings, usage};
use crate::domain::access::Access;
use crate::domain::audit::Event;
use crate::domain::key::{self, KeyStatus, PlainKey};
use crate::domain::{Invalid, key_input, policy};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// The fields of "Add API key", as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub key_type: String,
    #[serde(default)]
    pub identifier: String,
    /// Account id; empty means the caller.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub roles: Vec<i64>,
    #[serde(default)]
    pub permissions: Vec<i64>,
    /// `never`, `30`, `90`, `365` or `date`.
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub act_as_owner: Option<String>,
    /// Sent by the console's add form: refuse a key that could use nothing unless `nothing_ok` says to go
    /// ahead. The API and the command line create what they are told.
    #[serde(default)]
    pub check_reach: Option<String>,
    #[serde(default)]
    pub nothing_ok: Option<String>,
    /// Text fields only, so flattening works with form decoding.
    #[serde(flatten)]
    pub limits: Restrictions,
}

/// The restriction fields of the add and edit forms.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Restrictions {
    /// CIDR blocks or addresses the key may be used from; empty for anywhere.
    #[serde(default)]
    pub ip_allow: String,
    /// Requests per window; empty for no limit.
    #[serde(default)]
    pub rate_limit: String,
    /// `second`, `minute` or `hour`.
    #[serde(default)]
    pub rate_window: String,
}

/// A key just created: its id and the secret, which is never shown again.
#[derive(Debug)]
pub struct Created {
    pub id: i64,
    pub name: String,
    pub secret: PlainKey,
}

use crate::domain::restrict::{IpAllowList, RateLimit};
use crate::services::master_key::key_context as seal_context;

fn new_secret(prefix: &str) -> PlainKey {
    key::generate(prefix, |buf| {
        let bytes = crate::crypto::random_bytes::<64>();
        buf.copy_from_slice(&bytes[..buf.len()]);
    })
}

pub fn create(state: &AppState, caller: &Caller, form: &KeyForm) -> Result<Created> {
    state.db.write(|c| create_in(c, state, caller, form))
}

/// A key to create, its fields read from a form (or set by the caller, as for a personal key).
#[derive(Debug)]
struct NewKeyRequest<'a> {
    name: String,
    description: String,
    key_type_id: i64,
    identifier: &'a str,
    owner_id: i64,
    roles: &'a [i64],
    permissions: &'a [i64],
    expiry: (&'a str, &'a str),
    act_as_owner: bool,
    limits: &'a Restrictions,
    /// Refuse the key if it could use nothing.
    refuse_useless: bool,
}

/// Creates a key inside the caller's transaction (so a batch can create many in one).
pub fn create_in(c: &mut DbConn, state: &AppState, caller: &Caller, form: &KeyForm) -> Result<Created> {
    let type_id: i64 = form.key_type.trim().parse().map_err(|_| Invalid::new("key_type", "Choose a key type."))?;
    let owner_id = match form.owner.trim() {
        "" => caller.account_id.ok_or_else(|| Invalid::new("owner", "Choose the key's owner."))?,
        id => id.parse().map_err(|_| Invalid::new("owner", "Choose the key's owner."))?,
    };
    let request = NewKeyRequest {
        name: key_input::key_name(&form.name)?,
        description: key_input::description(&form.description)?,
        key_type_id: type_id,
        identifier: &form.identifier,
        owner_id,
        roles: &form.roles,
        permissions: &form.permissions,
        expiry: (&form.expiry, &form.expires_on),
        act_as_owner: form.act_as_owner.is_some(),
        limits: &form.limits,
        refuse_useless: form.check_reach.is_some() && form.nothing_ok.is_none(),
    };
    create_requested(c, state, caller, &request)
}

fn create_requested(c: &mut DbConn, state: &AppState, caller: &Caller, form: &NewKeyRequest<'_>) -> Result<Created> {
    let now = state.now();
    let (name, description, type_id, owner_id) = (&form.name, &form.description, form.key_type_id, form.owner_id);
    let max_lifetime = crate::services::policies::load(c, caller.workspace_id)?.max_lifetime_days;
    let expires_at = key_input::expiry(form.expiry.0, form.expiry.1, now, max_lifetime)?;
    if !caller.is(owner_id) && !policy::may_create_for_others(caller.role) {
        return Err(Error::Forbidden);
    }
    if !policy::may_manage_key(caller.role, caller.is(owner_id)) {
        return Err(Error::Forbidden);
    }
    let ws = caller.workspace_id;
    let key_type = key_types::find(c, ws, type_id)?.ok_or_else(|| Invalid::new("key_type", "Choose a key type."))?;
    let identifier = key_input::identifier(form.identifier, key_type.id_field_label.as_deref())?;
    let owner = accounts::member(c, ws, owner_id)?
        .filter(|m| m.account.is_active())
        .ok_or_else(|| Invalid::new("owner", "The owner must be an active member of this workspace."))?;
    if key_type.one_per_account && keys::owner_has_type(c, owner_id, key_type.id)? {
        let message = format!("{} already has a {} key; regenerate it instead.", owner.account.email, key_type.name);
        return Err(Invalid::new("key_type", message).into());
    }
    if keys::name_taken(c, ws, name, None)? {
        return Err(Invalid::new(
            "name",
            format!("A key named \u{201c}{name}\u{201d} already exists. Choose another name."),
        )
        .into());
    }
    let workspace_roles = roles::list(c, ws)?;
    let role_names: Vec<String> = form
        .roles
        .iter()
        .map(|id| {
            workspace_roles
                .iter()
                .find(|r| r.id == *id)
                .map(|r| r.name.clone())
                .ok_or_else(|| Invalid::new("roles", "One of the chosen roles does not exist."))
        })
        .collect::<Result<_, _>>()?;
    crate::services::key_types::check_roles_allowed(c, ws, key_type.id, form.roles)?;
    check_permissions(c, caller, form.permissions)?;
    let (ip_allow, rate) = restrictions(form.limits)?;
    if form.refuse_useless && uses_nothing(c, ws, form)? {
        let message = "This key could use nothing. Tick \u{201c}Create it anyway\u{201d}, or give it access first.";
        return Err(Invalid::new("nothing_ok", message).into());
    }
    let id = keys::insert(
        c,
        &NewKey {
            workspace_id: ws,
            key_type_id: key_type.id,
            name,
            description,
            identifier: identifier.as_deref(),
            owner_id,
            act_as_owner: form.act_as_owner,
            expires_at,
            created_by: caller.account_id,
            now,
        },
    )?;
    keys::refresh_search_text(c, id)?;
    let secret = store_new_secret(state, c, id, &key_type.prefix, now)?;
    keys::set_grants(c, id, form.roles, form.permissions)?;
    keys::set_restrictions(c, id, ip_allow.as_deref(), rate)?;
    let event = caller_event(caller, "key.created").on("api_key", id, name).change(
        None,
        Some(serde_json::json!({
            "name": name,
            "type": key_type.name,
            "identifier": identifier,
            "owner": owner.account.email,
            "roles": role_names,
            "expires_at": expires_at,
            "act_as_owner": form.act_as_owner,
            "ip_allow": ip_allow,
            "rate_limit": rate.map(|r| format!("{}/{}", r.limit, r.window_name())),
        })),
    );
    audit::record(c, now, &event)?;
    Ok(Created { id, name: name.clone(), secret })
}

/// Whether a key as requested could call nothing: no catalogue permission within its owner's grants, and no
/// management role.
fn uses_nothing(c: &mut DbConn, ws: i64, form: &NewKeyRequest<'_>) -> Result<bool> {
    let key = permissions::draft_grants(c, ws, form.roles, form.permissions)?;
    if key.everything || key.read_only {
        return Ok(false);
    }
    let catalogue = permissions::catalogue(c, ws)?;
    let owner = permissions::account_grants(c, ws, form.owner_id)?;
    let access = Access { catalogue: &catalogue, key: &key, owner: &owner, act_as_owner: form.act_as_owner };
    Ok(access.effective().is_empty())
}

fn caller_event(caller: &Caller, action: &'static str) -> Event {
    caller.event(action)
}

/// A row of the API Keys table.
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: keys::KeyRow,
    pub roles: Vec<String>,
    pub hint: String,
}

/// One page of the API Keys table, as the caller may see it, and whether more follow.
/// One page of the caller's keys, whether more follow, and how many match in all.
pub fn list(state: &AppState, caller: &Caller, mut query: ListQuery) -> Result<(Vec<Listed>, bool, i64)> {
    query.workspace_id = caller.workspace_id;
    query.now = state.now();
    if !caller.role.can_read_all() {
        query.owner_id = caller.account_id;
    }
    state.db.read(|c| {
        let (rows, more, total) = keys::list(c, &query)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let roles = keys::role_names(c, &ids)?;
        let hints = keys::current_hints(c, &ids)?;
        let listed = rows
            .into_iter()
            .map(|row| Listed {
                roles: roles.iter().filter(|(k, _)| *k == row.id).map(|(_, n)| n.clone()).collect(),
                hint: hints.iter().find(|(k, _)| *k == row.id).map(|(_, h)| h.clone()).unwrap_or_default(),
                row,
            })
            .collect();
        Ok::<_, diesel::result::Error>((listed, more, total))
    })
}

/// The most keys one bulk action takes ("select all matching").
pub const MAX_BULK: i64 = 5_000;

/// Every key the list `query` matches now (ignoring its paging), for "select all matching"; refused beyond
/// `MAX_BULK`. Members match only their own keys, as their list does.
pub fn matching_ids(state: &AppState, caller: &Caller, mut query: ListQuery) -> Result<Vec<i64>> {
    query.workspace_id = caller.workspace_id;
    query.now = state.now();
    query.after = None;
    query.limit = MAX_BULK;
    if !caller.role.can_read_all() {
        query.owner_id = caller.account_id;
    }
    let (rows, more, total) = state.db.read(|c| keys::list(c, &query))?;
    if more {
        let message = format!("{total} keys match: narrow the search to at most {MAX_BULK} for one bulk action.");
        return Err(Invalid::new("ids", message).into());
    }
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A key the caller may see. Another workspace's key is "not found"; another member's is "not allowed".
pub fn get(state: &AppState, caller: &Caller, key_id: i64) -> Result<KeyRecord> {
    let key = state.db.read(|c| keys::find(c, caller.workspace_id, key_id))?.ok_or(Error::NotFound)?;
    if !policy::may_view_key(caller.role, caller.is(key.owner_id)) {
        return Err(Error::Forbidden);
    }
    Ok(key)
}

/// Creates a personal key (the workspace's one-per-account type, acting as its owner) for `owner_id`:
/// the caller's own, or, for Administrators, anyone's who may hold keys (the Generate button on a
/// person's page). The secret is shown once, to the caller.
pub fn create_personal(
    state: &AppState,
    caller: &Caller,
    owner_id: i64,
    expiry: &str,
    expires_on: &str,
) -> Result<Created> {
    if !caller.is(owner_id) && !policy::may_create_for_others(caller.role) {
        return Err(Error::Forbidden);
    }
    let (key_type, email) = state.db.read(|c| {
        let key_type = key_types::list(c, caller.workspace_id)?.into_iter().find(|t| t.one_per_account);
        let email = accounts::member(c, caller.workspace_id, owner_id)?.map(|m| m.account.email);
        Ok::<_, diesel::result::Error>((key_type, email))
    })?;
    let email = email.ok_or(Error::NotFound)?;
    let key_type = key_type.ok_or_else(|| Error::Conflict("This workspace has no personal key type.".into()))?;
    let request = NewKeyRequest {
        name: key_input::key_name(&format!("Personal key of {email}"))?,
        description: String::new(),
        key_type_id: key_type.id,
        identifier: "",
        owner_id,
        roles: &[],
        permissions: &[],
        expiry: (expiry, expires_on),
        act_as_owner: true,
        limits: &Restrictions::default(),
        refuse_useless: false,
    };
    state.db.write(|c| create_requested(c, state, caller, &request))
}

/// A member's personal key, for who may see that person's keys.
pub fn personal_of(state: &AppState, caller: &Caller, account_id: i64) -> Result<Option<KeyRecord>> {
    if !policy::may_view_key(caller.role, caller.is(account_id)) {
        return Err(Error::Forbidden);
    }
    state.db.read(|c| keys::personal_key(c, caller.workspace_id, account_id))
}

/// The caller's personal key, if they have one.
pub fn personal(state: &AppState, caller: &Caller) -> Result<Option<KeyRecord>> {
    let Some(account_id) = caller.account_id else { return Ok(None) };
    state.db.read(|c| keys::personal_key(c, caller.workspace_id, account_id))
}

/// A key the caller may change, for the pages that change it.
pub fn get_managed(state: &AppState, caller: &Caller, key_id: i64) -> Result<KeyRecord> {
    state.db.read(|c| managed(c, caller, key_id))
}

/// A key the caller may change.
pub fn managed_key(state: &AppState, caller: &Caller, key_id: i64) -> Result<KeyRecord> {
    state.db.read(|c| managed(c, caller, key_id))
}

/// A key the caller may change, read inside the caller's transaction.
fn managed(c: &mut DbConn, caller: &Caller, key_id: i64) -> Result<KeyRecord> {
    let key = keys::find(c, caller.workspace_id, key_id)?.ok_or(Error::NotFound)?;
    if !policy::may_manage_key(caller.role, caller.is(key.owner_id)) {
        return Err(Error::Forbidden);
    }
    Ok(key)
}

fn editable(c: &mut DbConn, key: &KeyRecord) -> Result<()> {
    let key_type = key_types::find(c, key.workspace_id, key.key_type_id)?.ok_or(Error::NotFound)?;
    if key_type.editable {
        Ok(())
    } else {
        Err(Error::Conflict(format!("{} keys can only be created or deleted.", key_type.name)))
    }
}

/// The fields of "Edit key". The secret never changes here.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub roles: Vec<i64>,
    #[serde(default)]
    pub permissions: Vec<i64>,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: String,
    /// `keep`, `never`, `30`, `90`, `365` or `date`.
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_on: String,
    #[serde(default)]
    pub act_as_owner: Option<String>,
    /// Text fields only, so flattening works with form decoding.
    #[serde(flatten)]
    pub limits: Restrictions,
}

fn snapshot(c: &mut DbConn, key: &KeyRecord) -> Result<serde_json::Value> {
    let roles: Vec<String> = keys::role_names(c, &[key.id])?.into_iter().map(|(_, n)| n).collect();
    Ok(serde_json::json!({
        "description": key.description,
        "status": key.status.as_str(),
        "expires_at": key.expires_at,
        "roles": roles,
        "act_as_owner": key.act_as_owner,
        "ip_allow": key.ip_allow,
        "rate_limit": key.rate_limit,
        "rate_window_secs": key.rate_window_secs,
    }))
}

/// The allow-list (stored one block per line, `None` when empty) and rate limit of a submitted form.
fn restrictions(form: &Restrictions) -> Result<(Option<String>, Option<RateLimit>)> {
    let list = IpAllowList::parse(&form.ip_allow)?;
    let window = if form.rate_window.trim().is_empty() { "minute" } else { &form.rate_window };
    let rate = RateLimit::parse(&form.rate_limit, window)?;
    Ok(((!list.is_empty()).then(|| list.to_text()), rate))
}

/// The chosen permissions exist in the workspace, and high-risk ones are granted only by Administrators.
fn check_permissions(c: &mut DbConn, caller: &Caller, ids: &[i64]) -> Result<()> {
    let catalogue = crate::db::permissions::rows(c, caller.workspace_id)?;
    for id in ids {
        let p = catalogue
            .iter()
            .find(|p| p.id == *id)
            .ok_or_else(|| Invalid::new("permissions", "One of the chosen permissions does not exist."))?;
        if p.risk == "high" && !policy::may_create_for_others(caller.role) {
            return Err(Invalid::new(
                "permissions",
                format!("Only Administrators grant high-risk permissions such as {}.", p.label),
            )
            .into());
        }
    }
    Ok(())
}

fn check_roles(c: &mut DbConn, workspace_id: i64, role_ids: &[i64]) -> Result<()> {
    let existing = roles::list(c, workspace_id)?;
    if role_ids.iter().all(|id| existing.iter().any(|r| r.id == *id)) {
        Ok(())
    } else {
        Err(Invalid::new("roles", "One of the chosen roles does not exist.").into())
    }
}

pub fn update(state: &AppState, caller: &Caller, key_id: i64, form: &EditForm) -> Result<()> {
    let now = state.now();
    let description = key_input::description(&form.description)?;
    let active =
        KeyStatus::parse(&form.status).ok_or_else(|| Invalid::new("status", "Choose active or inactive."))?.is_active();
    state.db.write(|c| {
        let key = managed(c, caller, key_id)?;
        editable(c, &key)?;
        let expires_at = match form.expiry.as_str() {
            "keep" | "" => key.expires_at,
            choice => {
                let max_lifetime = crate::services::policies::load(c, caller.workspace_id)?.max_lifetime_days;
                key_input::expiry(choice, &form.expires_on, now, max_lifetime)?
            }
        };
        check_roles(c, caller.workspace_id, &form.roles)?;
        crate::services::key_types::check_roles_allowed(c, caller.workspace_id, key.key_type_id, &form.roles)?;
        check_permissions(c, caller, &form.permissions)?;
        let (ip_allow, rate) = restrictions(&form.limits)?;
        let before = snapshot(c, &key)?;
        let changes = keys::Changes {
            description: &description,
            active,
            expires_at,
            act_as_owner: form.act_as_owner.is_some(),
            now,
        };
        keys::update(c, key.id, &changes)?;
        keys::refresh_search_text(c, key.id)?;
        keys::set_grants(c, key.id, &form.roles, &form.permissions)?;
        keys::set_restrictions(c, key.id, ip_allow.as_deref(), rate)?;
        let after_key = keys::find(c, caller.workspace_id, key.id)?.ok_or(Error::NotFound)?;
        let after = snapshot(c, &after_key)?;
        let event =
            caller_event(caller, "key.updated").on("api_key", key.id, &key.name).change(Some(before), Some(after));
        audit::record(c, now, &event)?;
        Ok(())
    })
}

/// Activates or deactivates keys, all or none.
pub fn set_active(state: &AppState, caller: &Caller, key_ids: &[i64], active: bool) -> Result<usize> {
    let now = state.now();
    state.db.write(|c| {
        let mut changed = 0;
        for &id in key_ids {
            let key = managed(c, caller, id)?;
            if key.is_active() == active {
                continue;
            }
            keys::set_status(c, id, active, now)?;
            let action = if active { "key.activated" } else { "key.deactivated" };
            let (from, to) = (KeyStatus::of(!active).as_str(), KeyStatus::of(active).as_str());
            let event = caller_event(caller, action)
                .on("api_key", id, &key.name)
                .change(Some(serde_json::json!({ "status": from })), Some(serde_json::json!({ "status": to })));
            audit::record(c, now, &event)?;
            changed += 1;
        }
        Ok(changed)
    })
}

/// How long the previous secret keeps working after a rotation: `0` (not at all), `3600`, `86400`,
/// `604800`, or `custom` with a number of hours (1–720).
pub fn overlap_secs(choice: &str, custom_hours: &str) -> Result<i64, Invalid> {
    match choice.trim() {
        "" | "0" => Ok(0),
        "3600" => Ok(3_600),
        "86400" => Ok(86_400),
        "604800" => Ok(604_800),
        "custom" => match custom_hours.trim().parse::<i64>() {
            Ok(h @ 1..=720) => Ok(h * 3_600),
            _ => Err(Invalid::new("overlap", "Enter the overlap in whole hours, from 1 to 720.")),
        },
        _ => Err(Invalid::new("overlap", "Choose how long the old secret keeps working.")),
    }
}

/// Gives the key a new secret. Without overlap the old one stops working at once; with it, it keeps
/// working for `overlap` seconds. Returns the new secret, shown once.
pub fn rotate(state: &AppState, caller: &Caller, key_id: i64, overlap: i64) -> Result<PlainKey> {
    let now = state.now();
    state.db.write(|c| {
        let key = managed(c, caller, key_id)?;
        editable(c, &key)?;
        let key_type = key_types::find(c, key.workspace_id, key.key_type_id)?.ok_or(Error::NotFound)?;
        keys::drop_retiring_secrets(c, key.id)?;
        if overlap > 0 {
            keys::retire_current_secret(c, key.id, now + overlap)?;
        } else {
            keys::drop_current_secret(c, key.id)?;
        }
        let secret = store_new_secret(state, c, key.id, &key_type.prefix, now)?;
        let event = caller_event(caller, "key.rotated")
            .on("api_key", key.id, &key.name)
            .change(None, Some(serde_json::json!({ "overlap_secs": overlap })));
        audit::record(c, now, &event)?;
        Ok(secret)
    })
}

/// Ends a rotation overlap early: the previous secret stops working now.
pub fn end_overlap(state: &AppState, caller: &Caller, key_id: i64) -> Result<()> {
    let now = state.now();
    state.db.write(|c| {
        let key = managed(c, caller, key_id)?;
        if keys::drop_retiring_secrets(c, key.id)? > 0 {
            audit::record(c, now, &caller_event(caller, "key.overlap_ended").on("api_key", key.id, &key.name))?;
        }
        Ok(())
    })
}

const AUDITORS_TAKE_NO_KEYS: &str =
    "Keys cannot be handed to an Auditor: they could not rotate or revoke them. Choose an Administrator or a Member.";

/// Gives keys to another member of the workspace, who is notified. Administrators only.
pub fn reassign(state: &AppState, caller: &Caller, key_ids: &[i64], new_owner: i64, comment: &str) -> Result<usize> {
    if !policy::may_create_for_others(caller.role) {
        return Err(Error::Forbidden);
    }
    let comment = comment.trim();
    if comment.chars().count() > 500 {
        return Err(Invalid::new("comment", "A comment has at most 500 characters.").into());
    }
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    state.db.write(|c| {
        let owner = accounts::member(c, caller.workspace_id, new_owner)?
            .filter(|m| m.account.is_active())
            .ok_or_else(|| Invalid::new("owner", "Choose an active member of this workspace."))?;
        if !policy::may_take_over_keys(owner.role) {
            return Err(Invalid::new("owner", AUDITORS_TAKE_NO_KEYS).into());
        }
        let mut moved = 0;
        for &id in key_ids {
            let key = managed(c, caller, id)?;
            if key.owner_id == new_owner {
                continue;
            }
            let previous = accounts::find(c, key.owner_id)?.map(|a| a.email).unwrap_or_default();
            keys::set_owner(c, id, new_owner, now)?;
            keys::refresh_search_text(c, id)?;
            let event = caller_event(caller, "key.reassigned").on("api_key", id, &key.name).change(
                Some(serde_json::json!({ "owner": previous })),
                Some(serde_json::json!({ "owner": owner.account.email, "comment": comment })),
            );
            audit::record(c, now, &event)?;
            let link = format!("/keys/{id}");
            let body = if comment.is_empty() { String::new() } else { format!("Comment: {comment}") };
            let title = format!("The key \u{201c}{}\u{201d} was reassigned to you", key.name);
            let notice = notifications::NewNotification {
                workspace_id: caller.workspace_id,
                account_id: new_owner,
                kind: "key_reassigned",
                title: &title,
                body: &body,
                link: Some(&link),
            };
            crate::services::notifications::notify(c, &post, &notice, None, now)?;
            moved += 1;
        }
        Ok(moved)
    })
}

/// Whether a deletion happened, or must be confirmed once more.
#[derive(Debug)]
pub enum DeleteOutcome {
    Deleted(usize),
    /// Some keys were used within the recent-use window: ask again, explicitly.
    UsedRecently {
        days: i64,
        keys: Vec<(String, i64)>,
    },
}

/// What the person typed to confirm, and whether they confirmed a second time.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub recent_ok: Option<String>,
}

/// What must be typed to delete one key: its identifying field, or its name when the type has none.
pub fn delete_phrase(key: &KeyRecord) -> &str {
    key.identifier.as_deref().unwrap_or(&key.name)
}

/// Deletes keys, which stop working at once. One key asks for its identifying field (or name) typed
/// out; several ask for their count. Keys used within the recent-use window need `recent_ok`.
pub fn delete(state: &AppState, caller: &Caller, form: &DeleteForm) -> Result<DeleteOutcome> {
    let now = state.now();
    if form.ids.is_empty() {
        return Err(Invalid::new("ids", "Choose at least one key.").into());
    }
    state.db.write(|c| {
        let mut targets = Vec::new();
        for &id in &form.ids {
            targets.push(managed(c, caller, id)?);
        }
        let expected = match targets.as_slice() {
            [one] => delete_phrase(one).to_owned(),
            many => many.len().to_string(),
        };
        if form.confirm.trim() != expected {
            let what = if targets.len() == 1 {
                format!("\u{201c}{expected}\u{201d}")
            } else {
                format!("the number of keys, {expected},")
            };
            return Err(Invalid::new("confirm", format!("Type {what} to confirm.")).into());
        }
        let (setting, default) = settings::RECENT_USE_DAYS;
        let days = settings::get_i64(c, caller.workspace_id, setting, default)?;
        let mut recent = Vec::new();
        for key in &targets {
            if let Some(last) = usage::last_used(c, key.id)?.filter(|u| u.at >= now - days * key_input::DAY) {
                recent.push((key.name.clone(), last.at));
            }
        }
        if !recent.is_empty() && form.recent_ok.is_none() {
            return Ok(DeleteOutcome::UsedRecently { days, keys: recent });
        }
        for key in &targets {
            let before = snapshot(c, key)?;
            keys::delete(c, key.id)?;
            let event = caller_event(caller, "key.deleted").on("api_key", key.id, &key.name).change(Some(before), None);
            audit::record(c, now, &event)?;
        }
        Ok(DeleteOutcome::Deleted(targets.len()))
    })
}

/// Generates a secret, seals it under the master key bound to the key id, and stores it as current.
fn store_new_secret(state: &AppState, c: &mut DbConn, key_id: i64, prefix: &str, now: i64) -> Result<PlainKey> {
    let secret = new_secret(prefix);
    let sealed = state.keyring.seal(secret.expose().as_bytes(), &seal_context(key_id));
    let stored = NewSecret {
        key_id,
        digest: &secret.digest(),
        sealed: &sealed.bytes,
        master_key_version: sealed.version,
        hint: &secret.hint(),
        now,
    };
    keys::insert_secret(c, &stored)?;
    Ok(secret)
}

/// Shows the full secret after the caller re-enters their password. Every attempt is audited.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    key_id: i64,
    proof: crate::services::auth::Proof<'_>,
    ip: IpAddr,
) -> Result<PlainKey> {
    let key = state
        .run({
            let caller = caller.clone();
            move |s| get(s, &caller, key_id)
        })
        .await?;
    let account_id = caller.account_id.ok_or(Error::Forbidden)?;
    if !policy::may_reveal_key(caller.role, caller.is(key.owner_id)) {
        return Err(Error::Forbidden);
    }
    let checked = crate::services::auth::reauthenticate(state, account_id, proof, ip).await;
    let confirmed = checked.is_ok();
    let now = state.now();
    let caller = caller.clone();
    state
        .run(move |s| {
            // Revealing changes nobody's access: the verification cache stays valid.
            s.db.write_counters(|c| {
                let outcome = if confirmed { "key.revealed" } else { "key.reveal_refused" };
                audit::record(c, now, &caller_event(&caller, outcome).on("api_key", key.id, &key.name))?;
                Ok::<_, Error>(())
            })
        })
        .await?;
    checked?;
    let key_id = key.id;
    state.run(move |s| open_current(s, key_id)).await
}

/// The key's current secret, opened from its sealed copy. Callers check who may see or use it.
pub fn open_current(state: &AppState, key_id: i64) -> Result<PlainKey> {
    let (_, sealed, version) = state.db.read(|c| keys::current_sealed(c, key_id))?.ok_or(Error::NotFound)?;
    let plain =
        state.keyring.open(&sealed, version, &seal_context(key_id)).map_err(|e| Error::Internal(e.to_string()))?;
    let text = String::from_utf8(plain).map_err(|e| Error::Internal(e.to_string()))?;
    key::parse(&text).map(|k| k.key).map_err(|e| Error::Internal(format!("stored key is malformed: {e}")))
}

/// The credential report: every key the caller may see (all of the workspace's for Administrators
/// and Auditors, their own for Members) as CSV — owner, type, roles, dates, age and rotation status.
pub fn credential_report(state: &AppState, caller: &Caller) -> Result<Vec<u8>> {
    let ws = caller.workspace_id;
    let owner = if caller.role.can_read_all() { None } else { Some(caller.account_id.ok_or(Error::Forbidden)?) };
    let now = state.now();
    let (rows, roles, policy) = state.db.read(|c| {
        Ok::<_, Error>((
            keys::report(c, ws, owner)?,
            keys::role_names_in(c, ws)?,
            crate::services::policies::load(c, ws)?,
        ))
    })?;
    let mut out = crate::services::sheet::Sheet::new(&[
        "id",
        "name",
        "owner",
        "type",
        "roles",
        "status",
        "created",
        "expires",
        "last_used",
        "secret_age_days",
        "rotation",
    ])?;
    let time = |t: Option<i64>| t.map(crate::clock::format_rfc3339).unwrap_or_default();
    let mut held_by: std::collections::HashMap<i64, Vec<&str>> = std::collections::HashMap::new();
    for (key, role) in &roles {
        held_by.entry(*key).or_default().push(role);
    }
    for r in rows {
        let held = held_by.get(&r.id).map(|h| h.join("; ")).unwrap_or_default();
        let age = (now - r.secret_created_at).max(0) / key_input::DAY;
        let expired = r.expires_at.is_some_and(|t| t <= now);
        let rotation = match (r.status, expired) {
            (KeyStatus::Active, false) if age >= policy.rotation_days => "due",
            (KeyStatus::Active, false) => "ok",
            (_, true) => "expired",
            _ => "inactive",
        };
        out.row([
            r.id.to_string(),
            r.name,
            r.owner_email,
            r.type_name,
            held,
            r.status.to_string(),
            time(Some(r.created_at)),
            time(r.expires_at),
            time(r.last_used_at),
            age.to_string(),
            rotation.to_owned(),
        ])?;
    }
    out.finish()
}

/// The caller's own keys (the first hundred) and their personal key, for the profile page.
pub fn mine(state: &AppState, caller: &Caller) -> Result<(Vec<Listed>, Option<KeyRecord>)> {
    let me = caller.account_id.ok_or(Error::Forbidden)?;
    let own = list(state, caller, ListQuery { owner_id: Some(me), limit: 100, ..ListQuery::default() })?.0;
    Ok((own, personal(state, caller)?))
}
