//! The life of an API key: create (secret shown once), list, view, reveal.

use std::net::IpAddr;

use crate::crypto::SecretString;
use crate::db::keys::{self, KeyRecord, ListQuery, NewKey, NewSecret};
use crate::db::{accounts, audit, key_types, roles};
use crate::domain::audit::Event;
use crate::domain::key::{self, PlainKey};
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
}

/// A key just created: its id and the secret, which is never shown again.
#[derive(Debug)]
pub struct Created {
    pub id: i64,
    pub name: String,
    pub secret: PlainKey,
}

/// The AEAD context binding a sealed secret to its key.
fn seal_context(key_id: i64) -> Vec<u8> {
    format!("api_key:{key_id}").into_bytes()
}

fn new_secret(prefix: &str) -> PlainKey {
    key::generate(prefix, |buf| {
        let bytes = crate::crypto::random_bytes::<64>();
        buf.copy_from_slice(&bytes[..buf.len()]);
    })
}

pub fn create(state: &AppState, caller: &Caller, form: &KeyForm) -> Result<Created> {
    let now = state.now();
    let name = key_input::key_name(&form.name)?;
    let description = key_input::description(&form.description)?;
    let expires_at = key_input::expiry(&form.expiry, &form.expires_on, now, None)?;
    let type_id: i64 = form
        .key_type
        .trim()
        .parse()
        .map_err(|_| Invalid::new("key_type", "Choose a key type."))?;
    let owner_id = match form.owner.trim() {
        "" => caller
            .account_id
            .ok_or_else(|| Invalid::new("owner", "Choose the key's owner."))?,
        id => id
            .parse()
            .map_err(|_| Invalid::new("owner", "Choose the key's owner."))?,
    };
    if !caller.is(owner_id) && !policy::may_create_for_others(caller.role) {
        return Err(Error::Forbidden);
    }
    if !policy::may_manage_key(caller.role, caller.is(owner_id)) {
        return Err(Error::Forbidden);
    }
    let ws = caller.workspace_id;
    state.db.write(|c| {
        let key_type = key_types::find(c, ws, type_id)?
            .ok_or_else(|| Invalid::new("key_type", "Choose a key type."))?;
        let identifier =
            key_input::identifier(&form.identifier, key_type.id_field_label.as_deref())?;
        let owner = accounts::member(c, ws, owner_id)?
            .filter(|m| m.account.is_active())
            .ok_or_else(|| {
                Invalid::new(
                    "owner",
                    "The owner must be an active member of this workspace.",
                )
            })?;
        if keys::name_taken(c, ws, &name, None)? {
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
        if !form.permissions.is_empty() {
            // The permission catalogue arrives with roles and permissions; until then none can be chosen.
            return Err(Invalid::new(
                "permissions",
                "One of the chosen permissions does not exist.",
            )
            .into());
        }
        let id = keys::insert(
            c,
            &NewKey {
                workspace_id: ws,
                key_type_id: key_type.id,
                name: &name,
                description: &description,
                identifier: identifier.as_deref(),
                owner_id,
                act_as_owner: form.act_as_owner.is_some(),
                expires_at,
                created_by: caller.account_id,
                now,
            },
        )?;
        let secret = new_secret(&key_type.prefix);
        let sealed = state
            .keyring
            .seal(secret.expose().as_bytes(), &seal_context(id));
        keys::insert_secret(
            c,
            &NewSecret {
                key_id: id,
                digest: &secret.digest(),
                sealed: &sealed.bytes,
                master_key_version: sealed.version,
                hint: &secret.hint(),
                now,
            },
        )?;
        keys::set_grants(c, id, &form.roles, &form.permissions)?;
        let event = caller_event(caller, "key.created")
            .on("api_key", id, &name)
            .change(
                None,
                Some(serde_json::json!({
                    "name": name,
                    "type": key_type.name,
                    "identifier": identifier,
                    "owner": owner.account.email,
                    "roles": role_names,
                    "expires_at": expires_at,
                    "act_as_owner": form.act_as_owner.is_some(),
                })),
            );
        audit::record(c, now, &event)?;
        Ok(Created {
            id,
            name: name.clone(),
            secret,
        })
    })
}

fn caller_event(caller: &Caller, action: &'static str) -> Event {
    let mut event =
        Event::new(action, caller.origin.actor.clone()).in_workspace(caller.workspace_id);
    event.source_ip = caller.origin.ip.clone();
    event
}

/// A row of the API Keys table.
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: keys::KeyRow,
    pub roles: Vec<String>,
    pub hint: String,
}

/// One page of the API Keys table, as the caller may see it, and whether more follow.
pub fn list(
    state: &AppState,
    caller: &Caller,
    mut query: ListQuery,
) -> Result<(Vec<Listed>, bool)> {
    query.workspace_id = caller.workspace_id;
    query.now = state.now();
    if !caller.role.can_read_all() {
        query.owner_id = caller.account_id;
    }
    state.db.read(|c| {
        let (rows, more) = keys::list(c, &query)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let roles = keys::role_names(c, &ids)?;
        let hints = keys::current_hints(c, &ids)?;
        let listed = rows
            .into_iter()
            .map(|row| Listed {
                roles: roles
                    .iter()
                    .filter(|(k, _)| *k == row.id)
                    .map(|(_, n)| n.clone())
                    .collect(),
                hint: hints
                    .iter()
                    .find(|(k, _)| *k == row.id)
                    .map(|(_, h)| h.clone())
                    .unwrap_or_default(),
                row,
            })
            .collect();
        Ok::<_, diesel::result::Error>((listed, more))
    })
}

/// A key the caller may see; another workspace's key, or another member's, is "not found".
pub fn get(state: &AppState, caller: &Caller, key_id: i64) -> Result<KeyRecord> {
    let key = state
        .db
        .read(|c| keys::find(c, caller.workspace_id, key_id))?
        .ok_or(Error::NotFound)?;
    if !policy::may_view_key(caller.role, caller.is(key.owner_id)) {
        return Err(Error::NotFound);
    }
    Ok(key)
}

/// Shows the full secret after the caller re-enters their password. Every attempt is audited.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    key_id: i64,
    password: &SecretString,
    ip: IpAddr,
) -> Result<PlainKey> {
    let key = get(state, caller, key_id)?;
    let account_id = caller.account_id.ok_or(Error::Forbidden)?;
    if !policy::may_reveal_key(caller.role, caller.is(key.owner_id)) {
        return Err(Error::Forbidden);
    }
    let checked = crate::services::auth::reauthenticate(state, account_id, password, ip).await;
    let confirmed = checked.is_ok();
    let now = state.now();
    let caller = caller.clone();
    let keyring = state.keyring.clone();
    state
        .run(move |s| {
            s.db.write(|c| {
                let outcome = if confirmed {
                    "key.revealed"
                } else {
                    "key.reveal_refused"
                };
                audit::record(
                    c,
                    now,
                    &caller_event(&caller, outcome).on("api_key", key.id, &key.name),
                )?;
                Ok::<_, Error>(())
            })
        })
        .await?;
    checked?;
    let (_, sealed, version) = state
        .db
        .read(|c| keys::current_sealed(c, key.id))?
        .ok_or(Error::NotFound)?;
    let plain = keyring
        .open(&sealed, version, &seal_context(key.id))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let text = String::from_utf8(plain).map_err(|e| Error::Internal(e.to_string()))?;
    key::parse(&text)
        .map(|k| k.key)
        .map_err(|e| Error::Internal(format!("stored key is malformed: {e}")))
}
