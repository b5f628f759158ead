//! Two-factor sign-in with an authenticator app (TOTP) and one-time recovery codes: set up from the
//! profile (a QR code and the secret in text, confirmed with a first code), asked for after the password
//! at sign-in and before a secret is revealed, switched off by its owner, reset by an Administrator, and
//! required for a whole workspace by its Administrators. The secret is sealed under the master key like
//! API keys; recovery codes are stored as digests and shown once. Failed codes count toward the lockout.

use std::net::IpAddr;

use qrcode::QrCode;
use qrcode::render::svg;

use crate::db::{DbConn, accounts, audit, settings, two_factor as db};
use crate::domain::Invalid;
use crate::domain::two_factor::{self as rules, Presented};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::master_key::totp_context;
use crate::services::second_factor::{account_and_secret, account_event, open_secret};
use crate::state::AppState;

/// What the set-up page shows: the secret in text (for typing), the `otpauth://` link and its QR code.
#[derive(Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    /// An inline SVG drawn on the server: no third party ever sees the secret.
    pub qr_svg: String,
}

/// Where an account stands.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// On since.
    pub since: Option<i64>,
    pub recovery_codes_left: i64,
    /// Being set up: a secret waits for its first code.
    pub pending: bool,
}

impl std::fmt::Debug for Enrolment {
    /// Leaves out the secret (and the link and picture that carry it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(…)")
    }
}

fn enrolment(secret: &[u8], email: &str) -> Result<Enrolment> {
    let totp = rules::totp(secret, email).map_err(Error::Internal)?;
    let uri = totp.to_url().map_err(|e| Error::Internal(e.to_string()))?;
    let qr = QrCode::new(uri.as_bytes()).map_err(|e| Error::Internal(e.to_string()))?;
    let svg = qr.render::<svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build();
    let qr_svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest).to_owned();
    Ok(Enrolment { secret: totp.secret().to_base32(), uri, qr_svg })
}

pub fn status(state: &AppState, account_id: i64) -> Result<Status> {
    state.db.read(|c| {
        let Some(stored) = db::stored(c, account_id)? else { return Ok::<_, Error>(Status::default()) };
        Ok(Status {
            since: stored.confirmed_at,
            recovery_codes_left: db::recovery_codes_left(c, account_id)?,
            pending: stored.confirmed_at.is_none(),
        })
    })
}

/// Starts setting up: a new secret, sealed and stored, not in force until a code from it is confirmed.
pub fn begin(state: &AppState, account_id: i64) -> Result<Enrolment> {
    let account = state.db.read(|c| accounts::find(c, account_id))?.ok_or(Error::NotFound)?;
    if account.has_two_factor() {
        return Err(Error::Conflict(
            "Two-factor sign-in is already on. Switch it off first to use another app.".into(),
        ));
    }
    let secret = crate::crypto::random_bytes::<{ rules::SECRET_BYTES }>();
    let sealed = state.keyring.seal(&secret, &totp_context(account_id));
    // Sign-in state, not access: the verification cache stays valid.
    state.db.write_counters(|c| Ok::<_, Error>(db::set_pending(c, account_id, &sealed.bytes, sealed.version)?))?;
    enrolment(&secret, &account.email)
}

/// The set-up being confirmed, shown again (after a wrong code).
pub fn pending(state: &AppState, account_id: i64) -> Result<Option<Enrolment>> {
    let (account, stored) = account_and_secret(state, account_id)?;
    match stored {
        Some(stored) if stored.confirmed_at.is_none() => {
            Ok(Some(enrolment(&open_secret(state, account_id, &stored)?, &account.email)?))
        }
        _ => Ok(None),
    }
}

/// Confirms the set-up with a first code; returns the recovery codes, to be shown this once.
pub fn confirm(state: &AppState, account_id: i64, input: &str, ip: IpAddr) -> Result<Vec<String>> {
    let now = state.now();
    let (account, stored) = account_and_secret(state, account_id)?;
    let stored = match stored {
        Some(s) if s.confirmed_at.is_none() => s,
        Some(_) => return Err(Error::Conflict("Two-factor sign-in is already on.".into())),
        None => return Err(Error::Conflict("Start the set-up again: no authenticator is waiting.".into())),
    };
    let totp = rules::totp(&open_secret(state, account_id, &stored)?, &account.email).map_err(Error::Internal)?;
    let step = match rules::parse(input) {
        Some(Presented::Code(code)) => rules::matching_step(&totp, &code, now, None),
        _ => None,
    }
    .ok_or_else(|| {
        Invalid::new("code", "That code does not match. Enter the six digits your app shows now (check its clock).")
    })?;
    let codes = rules::new_recovery_codes(crate::crypto::random_bytes);
    let digests: Vec<Vec<u8>> = codes.iter().map(|c| rules::recovery_digest(c)).collect();
    state.db.write_counters(|c| {
        db::confirm(c, account_id, now, step, &digests)?;
        let event = account_event(c, "account.two_factor_enabled", &account, Some(ip))?;
        audit::record(c, now, &event)?;
        Ok::<_, Error>(())
    })?;
    Ok(codes)
}

/// Switches the account's own two-factor off, after its password and a code.
pub async fn disable(
    state: &AppState,
    account_id: i64,
    password: &crate::crypto::SecretString,
    code: &str,
    ip: IpAddr,
) -> Result<()> {
    crate::services::auth::reauthenticate(
        state,
        account_id,
        crate::services::auth::Proof::password(password, code),
        ip,
    )
    .await?;
    let now = state.now();
    state
        .run(move |s| {
            s.db.write_counters(|c| {
                let account = accounts::find(c, account_id)?.ok_or(Error::NotFound)?;
                db::clear(c, account_id)?;
                let event = account_event(c, "account.two_factor_disabled", &account, Some(ip))?;
                audit::record(c, now, &event)?;
                Ok::<_, Error>(())
            })
        })
        .await
}

/// An Administrator resets a member's two-factor (a lost phone): they sign in with their password alone
/// until they set it up again. Audited; nobody resets their own this way.
pub fn reset(state: &AppState, caller: &Caller, account_id: i64) -> Result<()> {
    caller.must_administer()?;
    if caller.is(account_id) {
        return Err(Error::Conflict("Switch your own two-factor off from your profile.".into()));
    }
    let now = state.now();
    state.db.write_counters(|c| {
        let member = crate::services::accounts::changeable(c, caller, account_id)?;
        if db::stored(c, account_id)?.is_none() {
            return Err(Error::Conflict(format!("{} has no two-factor sign-in to reset.", member.account.email)));
        }
        db::clear(c, account_id)?;
        let event = caller.event("account.two_factor_reset").on("account", account_id, &member.account.email);
        audit::record(c, now, &event)?;
        Ok(())
    })
}

/// Whether the workspace requires two-factor sign-in of everyone.
/// Whether the workspace requires two-factor sign-in of its members.
pub fn is_required(state: &AppState, workspace_id: i64) -> Result<bool> {
    state.db.read(|c| required(c, workspace_id))
}

pub fn required(c: &mut DbConn, workspace_id: i64) -> Result<bool, diesel::result::Error> {
    Ok(settings::get_text(c, workspace_id, settings::REQUIRE_TWO_FACTOR)?.as_deref() == Some("1"))
}

/// Administrators require two-factor for everyone in the workspace, or stop requiring it.
pub fn set_required(state: &AppState, caller: &Caller, require: bool) -> Result<()> {
    caller.must_administer()?;
    let now = state.now();
    state.db.write_counters(|c| {
        let before = required(c, caller.workspace_id)?;
        if before == require {
            return Ok(());
        }
        settings::set(c, caller.workspace_id, settings::REQUIRE_TWO_FACTOR, if require { "1" } else { "0" })?;
        let event = caller
            .event("settings.two_factor_required")
            .change(Some(serde_json::json!({ "required": before })), Some(serde_json::json!({ "required": require })));
        audit::record(c, now, &event)?;
        Ok::<_, Error>(())
    })
}
