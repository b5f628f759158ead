//! Two-factor secrets (sealed, on the account row) and recovery codes (digests).

use diesel::prelude::*;

use super::DbConn;
use super::schema::{accounts, recovery_codes};

type QResult<T> = Result<T, diesel::result::Error>;

/// An account's TOTP secret as stored: sealed under the master key.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sealed: Vec<u8>,
    pub version: i64,
    pub confirmed_at: Option<i64>,
    pub last_step: Option<i64>,
}

pub fn stored(conn: &mut DbConn, account_id: i64) -> QResult<Option<Stored>> {
    type Row = (Option<Vec<u8>>, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Row> = accounts::table
        .find(account_id)
        .select((
            accounts::totp_sealed,
            accounts::totp_key_version,
            accounts::totp_confirmed_at,
            accounts::totp_last_step,
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.and_then(|(sealed, version, confirmed_at, last_step)| {
        Some(Stored { sealed: sealed?, version: version?, confirmed_at, last_step })
    }))
}

/// Stores a secret being set up (not in force until confirmed); any earlier one and its recovery codes go.
pub fn set_pending(conn: &mut DbConn, account_id: i64, sealed: &[u8], version: i64) -> QResult<()> {
    clear(conn, account_id)?;
    diesel::update(accounts::table.find(account_id))
        .set((accounts::totp_sealed.eq(sealed), accounts::totp_key_version.eq(version)))
        .execute(conn)
        .map(drop)
}

/// Puts the pending secret in force, its first code's step used, with new recovery codes.
pub fn confirm(conn: &mut DbConn, account_id: i64, now: i64, step: i64, recovery: &[Vec<u8>]) -> QResult<()> {
    diesel::update(accounts::table.find(account_id))
        .set((accounts::totp_confirmed_at.eq(now), accounts::totp_last_step.eq(step)))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    for digest in recovery {
        diesel::insert_into(recovery_codes::table)
            .values((recovery_codes::account_id.eq(account_id), recovery_codes::digest.eq(digest)))
            .execute(conn)?;
    }
    Ok(())
}

/// Records `step` as used, only if it is later than the last used one: false means a replay (or a
/// concurrent use of the same code) lost.
pub fn advance_step(conn: &mut DbConn, account_id: i64, step: i64) -> QResult<bool> {
    let updated = diesel::update(
        accounts::table
            .find(account_id)
            .filter(accounts::totp_last_step.is_null().or(accounts::totp_last_step.lt(step))),
    )
    .set(accounts::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Uses an unused recovery code of the account; false when there is none with this digest.
pub fn use_recovery_code(conn: &mut DbConn, account_id: i64, digest: &[u8], now: i64) -> QResult<bool> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::account_id.eq(account_id))
            .filter(recovery_codes::digest.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(updated > 0)
}

pub fn recovery_codes_left(conn: &mut DbConn, account_id: i64) -> QResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::account_id.eq(account_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Switches two-factor off: the secret and the recovery codes go.
pub fn clear(conn: &mut DbConn, account_id: i64) -> QResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::account_id.eq(account_id))).execute(conn)?;
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::totp_sealed.eq(None::<Vec<u8>>),
            accounts::totp_key_version.eq(None::<i64>),
            accounts::totp_confirmed_at.eq(None::<i64>),
            accounts::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)
        .map(drop)
}
