//! Rotating the master key: every sealed secret (API keys, two-factor secrets, shared secrets) is
//! opened with the version that sealed it and sealed again under the newest, in one transaction.

use diesel::prelude::*;

use crate::crypto::Keyring;
use crate::db::DbConn;
use crate::db::schema::{accounts, key_secrets, shared_secrets};
use crate::domain::audit::{Actor, Event};
use crate::error::{Error, Result};
use crate::state::AppState;

/// How many sealed values were re-sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resealed {
    pub key_secrets: usize,
    pub totp_secrets: usize,
    pub shared_secrets: usize,
}

/// The AEAD contexts: each sealed value is bound to the row that holds it.
pub fn key_context(key_id: i64) -> Vec<u8> {
    format!("api_key:{key_id}").into_bytes()
}

pub fn totp_context(account_id: i64) -> Vec<u8> {
    format!("totp:{account_id}").into_bytes()
}

pub fn shared_secret_context(workspace_id: i64) -> Vec<u8> {
    format!("shared_secret:{workspace_id}").into_bytes()
}

fn reseal(keyring: &Keyring, sealed: &[u8], version: i64, context: &[u8]) -> Result<crate::crypto::keyring::Sealed> {
    let plain = keyring.open(sealed, version, context).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(keyring.seal(&plain, context))
}

/// Re-seals everything not yet under `keyring`'s newest version. All or nothing.
pub fn reseal_all(state: &AppState, keyring: &Keyring) -> Result<Resealed> {
    let current = keyring.current_version();
    let now = state.now();
    state.db.write(|c: &mut DbConn| {
        // Digests stay; the shared secrets are read again from their new seals.
        crate::db::changes::touched(crate::db::changes::Scope::Signing);
        let mut done = Resealed::default();
        let rows: Vec<(i64, i64, Vec<u8>, i64)> = key_secrets::table
            .filter(key_secrets::master_key_version.ne(current))
            .select((key_secrets::id, key_secrets::key_id, key_secrets::sealed, key_secrets::master_key_version))
            .load(c)?;
        for (id, key_id, sealed, version) in rows {
            let new = reseal(keyring, &sealed, version, &key_context(key_id))?;
            diesel::update(key_secrets::table.find(id))
                .set((key_secrets::sealed.eq(new.bytes), key_secrets::master_key_version.eq(new.version)))
                .execute(c)?;
            done.key_secrets += 1;
        }
        let rows: Vec<(i64, Option<Vec<u8>>, Option<i64>)> = accounts::table
            .filter(accounts::totp_sealed.is_not_null())
            .filter(accounts::totp_key_version.ne(current))
            .select((accounts::id, accounts::totp_sealed, accounts::totp_key_version))
            .load(c)?;
        for (id, sealed, version) in rows {
            let (Some(sealed), Some(version)) = (sealed, version) else { continue };
            let new = reseal(keyring, &sealed, version, &totp_context(id))?;
            diesel::update(accounts::table.find(id))
                .set((accounts::totp_sealed.eq(new.bytes), accounts::totp_key_version.eq(new.version)))
                .execute(c)?;
            done.totp_secrets += 1;
        }
        let rows: Vec<(i64, i64, Vec<u8>, i64)> = shared_secrets::table
            .filter(shared_secrets::master_key_version.ne(current))
            .select((
                shared_secrets::id,
                shared_secrets::workspace_id,
                shared_secrets::sealed,
                shared_secrets::master_key_version,
            ))
            .load(c)?;
        for (id, workspace_id, sealed, version) in rows {
            let new = reseal(keyring, &sealed, version, &shared_secret_context(workspace_id))?;
            diesel::update(shared_secrets::table.find(id))
                .set((shared_secrets::sealed.eq(new.bytes), shared_secrets::master_key_version.eq(new.version)))
                .execute(c)?;
            done.shared_secrets += 1;
        }
        let event = Event::new("master_key.rotated", Actor::System("command line")).change(
            None,
            Some(serde_json::json!({
                "version": current,
                "key_secrets": done.key_secrets,
                "totp_secrets": done.totp_secrets,
                "shared_secrets": done.shared_secrets,
            })),
        );
        crate::db::audit::record(c, now, &event)?;
        Ok(done)
    })
}
