//! One-time links: to choose a password (handed over by an Administrator, emailed with an invitation,
//! or asked for with "Forgot your password?") and to prove a signed-up account's email. Only the token's
//! digest is stored; a link works once, until it expires, and a new one for the same purpose retires
//! the old.

use crate::crypto::SecretString;
use crate::db::{DbConn, accounts, audit, password_links};
use crate::domain::audit::{Actor, Event};
use crate::domain::email::Email;
use crate::domain::password::NewPassword;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::email::{self, Post};
use crate::state::AppState;

/// An Administrator's link, or an invitation's.
pub const VALID_SECS: i64 = email::LINK_VALID_SECS;
/// A link asked for with "Forgot your password?".
pub const RESET_VALID_SECS: i64 = 3600;
/// Resets one address may ask for per hour: more are answered alike and send nothing.
pub const RESETS_PER_ADDRESS: u32 = 3;
/// Resets one client may ask for per hour, whatever the addresses: more are refused (429).
pub const RESETS_PER_CLIENT: u32 = 10;

use crate::services::email::{PASSWORD_LINK as PASSWORD, VERIFY_LINK as VERIFY};

use crate::services::email::issue_link as issue;

/// Creates a link for a member of the caller's workspace; returns the token (shown once).
pub fn create(state: &AppState, caller: &Caller, account_id: i64) -> Result<String> {
    caller.must_administer()?;
    if caller.is(account_id) {
        return Err(Error::Conflict("Change your own password on your profile page.".into()));
    }
    let now = state.now();
    state.db.write(|c| {
        let member = crate::services::accounts::changeable(c, caller, account_id)?;
        let token = issue(c, account_id, PASSWORD, caller.account_id, VALID_SECS, now)?;
        let event = caller.event("account.password_link_created").on("account", account_id, &member.account.email);
        audit::record(c, now, &event)?;
        Ok::<_, Error>(token)
    })
}

/// Emails a member of the caller's workspace an invitation again, with a new link (the old stops working).
pub fn resend_invitation(state: &AppState, caller: &Caller, account_id: i64) -> Result<String> {
    caller.must_administer()?;
    let post = Post::of(state);
    if caller.is(account_id) {
        return Err(Error::Conflict("Change your own password on your profile page.".into()));
    }
    let now = state.now();
    state.db.write(|c| {
        let member = crate::services::accounts::changeable(c, caller, account_id)?;
        if !post.is_on() {
            return Err(Error::Conflict("Email is off: create a password link and hand it over instead.".into()));
        }
        let account = &member.account;
        email::invite_with_link(c, &post, caller, (account.id, &account.email, &account.display_name), now)?;
        let event = caller.event("account.invitation_emailed").on("account", account_id, &account.email);
        audit::record(c, now, &event)?;
        Ok::<_, Error>(account.email.clone())
    })
}

/// "Forgot your password?": emails a one-hour link to the account of `email` when there is an active one
/// that may use a password, and does nothing otherwise — the caller answers alike either way. `fresh` is
/// false once the address asked too often this hour: then nothing is sent either.
pub fn request_reset(state: &AppState, email: &Email, fresh: bool, ip: Option<String>) -> Result<()> {
    let post = Post::of(state);
    if !post.is_on() || !fresh {
        return Ok(());
    }
    let now = state.now();
    let passwords_off = state.config.oidc.as_ref().is_some_and(|o| o.passwords_off);
    state.db.write(|c| {
        let Some(account) = accounts::find_by_email(c, email)?.filter(accounts::Account::is_active) else {
            return Ok::<_, Error>(());
        };
        if passwords_off && account.oidc_subject.is_some() {
            return Ok(());
        }
        let token = issue(c, account.id, PASSWORD, None, RESET_VALID_SECS, now)?;
        email::password_reset(c, &post, (account.id, &account.email, &account.display_name), &token, now)?;
        let mut event = Event::new("account.password_reset_requested", Actor::Anonymous(account.email.clone())).on(
            "account",
            account.id,
            &account.email,
        );
        event.workspace_id = crate::db::workspaces::home_of(c, account.id)?.map(|w| w.id);
        event.source_ip = ip;
        audit::record(c, now, &event)?;
        Ok(())
    })
}

/// Emails a signed-up account the link that proves its address, in the caller's transaction.
pub(crate) fn send_verification(c: &mut DbConn, post: &Post<'_>, account: (i64, &str, &str), now: i64) -> Result<()> {
    let token = issue(c, account.0, VERIFY, None, VALID_SECS, now)?;
    email::verification(c, post, account, &token, now)
}

/// The account a live link of `purpose` is for: (link id, account), or `None` when used, expired or unknown.
fn live(c: &mut DbConn, token: &str, purpose: &str, now: i64) -> Result<Option<(i64, accounts::Account)>> {
    let Some(link) = password_links::find(c, &crate::crypto::token_digest(token))? else { return Ok(None) };
    if link.used_at.is_some() || link.expires_at <= now || link.purpose != purpose {
        return Ok(None);
    }
    Ok(accounts::find(c, link.account_id)?.filter(accounts::Account::is_active).map(|a| (link.id, a)))
}

/// The email a live password link is for, to greet its holder.
pub fn email_for(state: &AppState, token: &str) -> Result<Option<String>> {
    let now = state.now();
    state.db.read(|c| Ok::<_, Error>(live(c, token, PASSWORD, now)?.map(|(_, a)| a.email)))
}

/// The email a live verification link is for.
pub fn verifying(state: &AppState, token: &str) -> Result<Option<String>> {
    let now = state.now();
    state.db.read(|c| Ok::<_, Error>(live(c, token, VERIFY, now)?.map(|(_, a)| a.email)))
}

fn dead_link() -> Error {
    Error::Conflict("This password link has expired or was already used. Ask for a new one.".into())
}

fn dead_verification() -> Error {
    Error::Conflict("This confirmation link has expired or was already used. Sign in to get a new one.".into())
}

/// Proves the account's email through a live verification link, which then stops working: the account
/// may sign in from now on. Returns the email.
pub fn verify(state: &AppState, token: &str, ip: Option<String>) -> Result<String> {
    let now = state.now();
    state.db.write(|c| {
        let (link_id, account) = live(c, token, VERIFY, now)?.ok_or_else(dead_verification)?;
        if !password_links::use_once(c, link_id, now)? {
            return Err(dead_verification());
        }
        accounts::mark_email_verified(c, account.id)?;
        let mut event = Event::new(
            "account.email_verified",
            Actor::Account { id: account.id, email: account.email.clone() },
        )
        .on("account", account.id, &account.email);
        event.workspace_id = crate::db::workspaces::home_of(c, account.id)?.map(|w| w.id);
        event.source_ip = ip;
        audit::record(c, now, &event)?;
        Ok(account.email)
    })
}

/// Sets the password through a live link, which then stops working; every session of the account ends.
pub fn redeem(state: &AppState, token: &str, password: &SecretString, confirm: &SecretString) -> Result<String> {
    let now = state.now();
    let email = state.db.read(|c| live(c, token, PASSWORD, now))?.ok_or_else(dead_link)?.1.email;
    let password = NewPassword::parse(password.expose(), confirm.expose(), &email)?;
    let hash = state.passwords.hash_blocking(password.expose())?;
    state.db.write(|c| {
        let (link_id, account) = live(c, token, PASSWORD, now)?.ok_or_else(dead_link)?;
        if !password_links::use_once(c, link_id, now)? {
            return Err(dead_link());
        }
        accounts::set_password(c, account.id, &hash, now)?;
        let home = crate::db::workspaces::home_of(c, account.id)?.map(|w| w.id);
        let actor = Actor::Account { id: account.id, email: account.email.clone() };
        let mut event = Event::new("account.password_set_by_link", actor).on("account", account.id, &account.email);
        event.workspace_id = home;
        audit::record(c, now, &event)?;
        Ok(account.email)
    })
}
