//! One-time password links: an Administrator creates one for a person (someone imported without a
//! password, or who forgot theirs) and hands it over; opening it lets that person choose a password.
//! The link works once, for 72 hours, and creating a new one retires the old.

use crate::crypto::{SecretString, random_token};
use crate::db::{accounts, audit, password_links};
use crate::domain::password::NewPassword;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

pub const VALID_SECS: i64 = 72 * 3600;

/// Creates a link for a member of the caller's workspace; returns the token (shown once).
pub fn create(state: &AppState, caller: &Caller, account_id: i64) -> Result<String> {
    caller.must_administer()?;
    if caller.is(account_id) {
        return Err(Error::Conflict("Change your own password on your profile page.".into()));
    }
    let token = random_token();
    let now = state.now();
    state.db.write(|c| {
        let member = crate::services::accounts::changeable(c, caller, account_id)?;
        password_links::replace(
            c,
            account_id,
            &crate::crypto::token_digest(&token),
            caller.account_id,
            now,
            now + VALID_SECS,
        )?;
        let event = caller.event("account.password_link_created").on("account", account_id, &member.account.email);
        audit::record(c, now, &event)?;
        Ok::<_, Error>(())
    })?;
    Ok(token)
}

/// The account a live link is for: (link id, account), or `None` when used, expired or unknown.
fn live(c: &mut crate::db::DbConn, token: &str, now: i64) -> Result<Option<(i64, accounts::Account)>> {
    let Some(link) = password_links::find(c, &crate::crypto::token_digest(token))? else { return Ok(None) };
    if link.used_at.is_some() || link.expires_at <= now {
        return Ok(None);
    }
    Ok(accounts::find(c, link.account_id)?.filter(accounts::Account::is_active).map(|a| (link.id, a)))
}

/// The email a live link is for, to greet its holder.
pub fn email_for(state: &AppState, token: &str) -> Result<Option<String>> {
    let now = state.now();
    state.db.read(|c| Ok::<_, Error>(live(c, token, now)?.map(|(_, a)| a.email)))
}

fn dead_link() -> Error {
    Error::Conflict("This password link has expired or was already used. Ask an administrator for a new one.".into())
}

/// Sets the password through a live link, which then stops working; every session of the account ends.
pub fn redeem(state: &AppState, token: &str, password: &SecretString, confirm: &SecretString) -> Result<String> {
    let now = state.now();
    let email = state.db.read(|c| live(c, token, now))?.ok_or_else(dead_link)?.1.email;
    let password = NewPassword::parse(password.expose(), confirm.expose(), &email)?;
    let hash = state.passwords.hash_blocking(password.expose())?;
    state.db.write(|c| {
        let (link_id, account) = live(c, token, now)?.ok_or_else(dead_link)?;
        if !password_links::use_once(c, link_id, now)? {
            return Err(dead_link());
        }
        accounts::set_password(c, account.id, &hash, now)?;
        let home = crate::db::workspaces::home_of(c, account.id)?.map(|w| w.id);
        let actor = crate::domain::audit::Actor::Account { id: account.id, email: account.email.clone() };
        let mut event = crate::domain::audit::Event::new("account.password_set_by_link", actor).on(
            "account",
            account.id,
            &account.email,
        );
        event.workspace_id = home;
        audit::record(c, now, &event)?;
        Ok(account.email)
    })
}
