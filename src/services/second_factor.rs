//! The second sign-in step of an account with two-factor: an authenticator code or a recovery code,
//! checked at sign-in and when a password is re-entered (`auth::reauthenticate`). Setting two-factor up
//! and switching it off are `two_factor`'s.

use std::net::IpAddr;

use crate::db::{DbConn, accounts, audit, two_factor as db, workspaces};
use crate::domain::Invalid;
use crate::domain::audit::{Actor, Event};
use crate::domain::lockout::Gate;
use crate::domain::two_factor::{self as rules, Presented};
use crate::error::{Error, Result};
use crate::services::master_key::totp_context;
use crate::state::AppState;

/// Checks the second factor of an account that has one: an authenticator code for a step after the last
/// one used, or an unused recovery code (which is then spent). A wrong one counts toward the lockout.
/// An account without two-factor passes.
pub fn check(state: &AppState, account_id: i64, input: &str, ip: IpAddr) -> Result<()> {
    let now = state.now();
    let policy = state.config.lockout;
    let (account, stored) = account_and_secret(state, account_id)?;
    let Some(stored) = stored.filter(|s| s.confirmed_at.is_some()) else { return Ok(()) };
    if input.trim().is_empty() {
        // Not a guess: nothing to count.
        return Err(Invalid::new("code", "Enter the code from your authenticator app.").into());
    }
    match policy.gate(&account.attempt_state(), now) {
        Gate::Open => {}
        Gate::Wait(secs) => return Err(Error::Throttled(secs)),
        Gate::Locked => return Err(Error::Locked),
    }
    let totp = rules::totp(&open_secret(state, account_id, &stored)?, &account.email).map_err(Error::Internal)?;
    let presented = rules::parse(input);
    let locked = state.db.write_counters(|c| {
        let used = match &presented {
            Some(Presented::Code(code)) => match rules::matching_step(&totp, code, now, stored.last_step) {
                Some(step) => db::advance_step(c, account_id, step)?.then_some("totp"),
                None => None,
            },
            Some(Presented::Recovery(code)) => {
                db::use_recovery_code(c, account_id, &rules::recovery_digest(code), now)?.then_some("recovery code")
            }
            None => None,
        };
        if let Some(method) = used {
            accounts::clear_failures(c, account_id)?;
            if method == "recovery code" {
                let left = db::recovery_codes_left(c, account_id)?;
                let event = account_event(c, "account.recovery_code_used", &account, Some(ip))?
                    .change(None, Some(serde_json::json!({ "recovery_codes_left": left })));
                audit::record(c, now, &event)?;
            }
            return Ok::<_, Error>(None);
        }
        let (failures, locks) = accounts::record_failure(c, account_id, now, policy)?;
        let event = account_event(c, "account.two_factor_failed", &account, Some(ip))?
            .change(None, Some(serde_json::json!({ "consecutive_failures": failures })));
        audit::record(c, now, &event)?;
        Ok(Some(locks))
    })?;
    match locked {
        None => Ok(()),
        Some(true) => Err(Error::Locked),
        Some(false) => Err(Invalid::new(
            "code",
            "That code is not valid. Enter the current code from your app, or an unused recovery code.",
        )
        .into()),
    }
}

pub(super) fn open_secret(state: &AppState, account_id: i64, stored: &db::Stored) -> Result<Vec<u8>> {
    state
        .keyring
        .open(&stored.sealed, stored.version, &totp_context(account_id))
        .map_err(|e| Error::Internal(format!("two-factor secret of account {account_id} cannot be opened: {e}")))
}

pub(super) fn account_event(
    c: &mut DbConn,
    action: &'static str,
    account: &accounts::Account,
    ip: Option<IpAddr>,
) -> Result<Event> {
    let mut event = Event::new(action, Actor::Account { id: account.id, email: account.email.clone() }).on(
        "account",
        account.id,
        &account.email,
    );
    event.workspace_id = workspaces::home_of(c, account.id)?.map(|w| w.id);
    event.source_ip = ip.map(|ip| ip.to_string());
    Ok(event)
}

/// The account and its stored secret (confirmed or being set up), if any.
pub(super) fn account_and_secret(state: &AppState, account_id: i64) -> Result<(accounts::Account, Option<db::Stored>)> {
    state
        .db
        .read(|c| Ok::<_, Error>((accounts::find(c, account_id)?.ok_or(Error::NotFound)?, db::stored(c, account_id)?)))
}
