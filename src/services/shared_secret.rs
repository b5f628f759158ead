//! The shared secret: an HMAC-SHA256 key an integration shares with keyward, one per workspace.
//! keyward signs verification responses (and, later, webhook deliveries) with it. It is sealed
//! under the master key like API keys, shown only after the password is re-entered, and can be
//! regenerated with an overlap during which the previous one still signs.
//!
//! The signature header is `X-Keyward-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each
//! `v1` is `hex(HMAC-SHA256(secret, "<t>.<body>"))` under one secret in force, the current one
//! first. An integration accepts the response when any `v1` matches and `t` is recent.

use std::collections::HashMap;
use std::net::IpAddr;

use super::Caller;
use crate::crypto::{Keyring, SecretString, random_token};
use crate::db::{DbConn, audit, shared_secrets};
use crate::domain::Invalid;
use crate::error::{Error, Result};
use crate::memory::signing::Live;
use crate::services::auth::Proof;
use crate::services::master_key::shared_secret_context;
use crate::state::AppState;

/// The name of the response header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Keyward-Signature";
/// Every shared secret starts with this, so scanners can recognise one.
pub const PREFIX: &str = "kwss_";
/// The overlaps the console offers, in seconds (0: the previous secret stops at once).
pub const OVERLAPS: [(i64, &str); 4] = [(0, "none"), (3_600, "1 hour"), (86_400, "24 hours"), (604_800, "7 days")];
/// The longest overlap accepted.
pub const MAX_OVERLAP_SECS: i64 = 30 * 86_400;

/// Reads every secret in force from the database and replaces what `AppState::signing` holds.
pub fn reload(state: &AppState) -> Result<()> {
    let now = state.now();
    let rows = state.db.read(|c| shared_secrets::live(c, now))?;
    let mut map: HashMap<i64, Vec<Live>> = HashMap::new();
    for row in rows {
        let plain = open(&state.keyring, &row)?;
        let live = Live::new(plain.expose(), row.retires_at)
            .map_err(|e| Error::Internal(format!("shared secret key: {e}")))?;
        map.entry(row.workspace_id).or_default().push(live);
    }
    state.signing.replace(map);
    Ok(())
}

fn open(keyring: &Keyring, row: &shared_secrets::StoredSecret) -> Result<SecretString> {
    let plain = keyring
        .open(&row.sealed, row.master_key_version, &shared_secret_context(row.workspace_id))
        .map_err(|e| Error::Internal(format!("shared secret {} cannot be opened: {e}", row.id)))?;
    String::from_utf8(plain).map(SecretString::new).map_err(|e| Error::Internal(e.to_string()))
}

/// Makes a new secret for the workspace and stores it sealed; the caller's transaction decides
/// what happens to the previous ones.
fn store_new(c: &mut DbConn, keyring: &Keyring, workspace_id: i64, now: i64) -> Result<SecretString> {
    let secret = SecretString::new(format!("{PREFIX}{}", random_token()));
    let sealed = keyring.seal(secret.expose().as_bytes(), &shared_secret_context(workspace_id));
    shared_secrets::insert(c, workspace_id, &sealed.bytes, sealed.version, now)?;
    Ok(secret)
}

/// Gives every workspace without a secret in force a new one (at start-up, and when a workspace
/// is created), then loads them all for signing. Only a workspace that lacks one costs a write. Shared secrets never change what a key may do, so
/// their writes leave the verification cache's generation alone (`write_counters`).
/// Whether no change named the signing secrets since `generation` (a value of `Database::generation`).
pub fn unchanged_since(state: &AppState, generation: u64) -> bool {
    let slot = crate::db::changes::Scope::Signing.slot();
    state.db.changes().unchanged_since(generation, slot.iter())
}

pub fn ensure_all(state: &AppState) -> Result<()> {
    let now = state.now();
    let keyring = state.keyring.clone();
    if !state.db.read(|c| shared_secrets::workspaces_without(c, now))?.is_empty() {
        state.db.write_counters(|c| {
            for ws in shared_secrets::workspaces_without(c, now)? {
                store_new(c, &keyring, ws, now)?;
            }
            Ok::<_, Error>(())
        })?;
    }
    reload(state)
}

/// What the settings page shows: when the current secret was made, and which previous ones are
/// still accepted until when. Never the secret itself.
#[derive(Debug, Clone, Default)]
pub struct SecretInfo {
    pub created_at: Option<i64>,
    pub previous: Vec<Previous>,
}

#[derive(Debug, Clone)]
pub struct Previous {
    pub created_at: i64,
    pub retires_at: i64,
}

pub fn info(state: &AppState, caller: &Caller) -> Result<SecretInfo> {
    caller.must_administer()?;
    let (ws, now) = (caller.workspace_id, state.now());
    let rows = state.db.read(|c| shared_secrets::live_in(c, ws, now))?;
    let mut rows = rows.into_iter();
    let created_at = rows.next().map(|r| r.created_at);
    let previous =
        rows.filter_map(|r| r.retires_at.map(|retires_at| Previous { created_at: r.created_at, retires_at })).collect();
    Ok(SecretInfo { created_at, previous })
}

/// Checks the caller's password (failures count toward lockout) and records the attempt either way.
async fn confirm(state: &AppState, caller: &Caller, proof: Proof<'_>, ip: IpAddr, action: &str) -> Result<()> {
    caller.must_administer()?;
    let account_id = caller.account_id.ok_or(Error::Forbidden)?;
    let checked = crate::services::auth::reauthenticate(state, account_id, proof, ip).await;
    if checked.is_err() {
        let event =
            caller.event("shared_secret.reauth_refused").change(None, Some(serde_json::json!({ "for": action })));
        let now = state.now();
        state.run(move |s| s.db.write_counters(|c| Ok::<_, Error>(audit::record(c, now, &event)?))).await?;
    }
    checked
}

/// The current secret, after the caller re-enters their password. Audited.
/// `proof` is the caller's password and, when they have two-factor, their code.
pub async fn reveal(state: &AppState, caller: &Caller, proof: Proof<'_>, ip: IpAddr) -> Result<SecretString> {
    confirm(state, caller, proof, ip, "reveal").await?;
    let (ws, now, event) = (caller.workspace_id, state.now(), caller.event("shared_secret.revealed"));
    state
        .run(move |s| {
            let current = s.db.write_counters(|c| {
                audit::record(c, now, &event)?;
                Ok::<_, Error>(shared_secrets::live_in(c, ws, now)?.into_iter().next())
            })?;
            open(&s.keyring, &current.ok_or(Error::NotFound)?)
        })
        .await
}

/// Parses an overlap in seconds as submitted.
pub fn parse_overlap(text: &str) -> Result<i64> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    match text.parse::<i64>() {
        Ok(secs) if (0..=MAX_OVERLAP_SECS).contains(&secs) => Ok(secs),
        _ => Err(Invalid::new("overlap_secs", "Choose an overlap between none and 30 days.").into()),
    }
}

/// Replaces the secret after the caller re-enters their password: the previous ones stop being
/// accepted after `overlap_secs` (at once with 0). Returns the new secret, shown this once.
pub async fn regenerate(
    state: &AppState,
    caller: &Caller,
    proof: Proof<'_>,
    overlap_secs: i64,
    ip: IpAddr,
) -> Result<SecretString> {
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
        return Err(Invalid::new("overlap_secs", "Choose an overlap between none and 30 days.").into());
    }
    confirm(state, caller, proof, ip, "regenerate").await?;
    let (ws, now) = (caller.workspace_id, state.now());
    let event = caller
        .event("shared_secret.regenerated")
        .change(None, Some(serde_json::json!({ "previous_accepted_until": now + overlap_secs })));
    state
        .run(move |s| {
            let keyring = s.keyring.clone();
            let secret = s.db.write_counters(|c| {
                shared_secrets::retire_all(c, ws, now + overlap_secs, now)?;
                let secret = store_new(c, &keyring, ws, now)?;
                audit::record(c, now, &event)?;
                Ok::<_, Error>(secret)
            })?;
            reload(s)?;
            Ok(secret)
        })
        .await
}

/// Ends the overlap early: only the current secret is accepted from now on.
pub fn end_overlap(state: &AppState, caller: &Caller) -> Result<usize> {
    caller.must_administer()?;
    let (ws, now, event) = (caller.workspace_id, state.now(), caller.event("shared_secret.overlap_ended"));
    let ended = state.db.write_counters(|c| {
        let Some(current) = shared_secrets::live_in(c, ws, now)?.into_iter().next() else {
            return Err(Error::NotFound);
        };
        let ended = shared_secrets::retire_previous(c, ws, current.id, now)?;
        if ended > 0 {
            audit::record(c, now, &event.change(None, Some(serde_json::json!({ "retired": ended }))))?;
        }
        Ok(ended)
    })?;
    reload(state)?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_parse_within_bounds() {
        assert_eq!(parse_overlap("").ok(), Some(0));
        assert_eq!(parse_overlap(" 3600 ").ok(), Some(3600));
        assert!(parse_overlap("-1").is_err());
        assert!(parse_overlap("99999999").is_err());
        assert!(parse_overlap("soon").is_err());
    }
}
