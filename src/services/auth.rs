//! Signing in, re-authenticating, changing passwords, and the first-run setup.

use std::net::IpAddr;

use crate::crypto::SecretString;
use crate::db::{accounts, audit, workspaces};
use crate::domain::audit::{Actor, Event};
use crate::domain::email::Email;
use crate::domain::lockout::Gate;
use crate::domain::password::NewPassword;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The facts a console session keeps about who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    pub account_id: i64,
    pub session_epoch: i64,
    pub workspace_id: i64,
}

/// Why a sign-in was refused. `WrongCredentials` never says which of the two was wrong.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("Wrong email or password.")]
    WrongCredentials,
    #[error("This account is disabled. Ask an administrator to enable it.")]
    Disabled,
    #[error("This account is not a member of any workspace. Ask an administrator to add it.")]
    NoWorkspace,
    #[error("This account signs in with single sign-on.")]
    UseSingleSignOn,
    #[error(
        "Confirm your email first: follow the link we emailed to {0}. We sent a new one just now if the last is more than a few minutes old."
    )]
    Unverified(String),
    #[error(transparent)]
    Refused(#[from] Error),
}

const FAILED_SIGN_IN: &str = "account.sign_in_failed";

/// Where a correct password leads: signed in, or on to the second factor for an account that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordAccepted {
    SignedIn(SignedIn),
    /// The account and its session epoch, to finish with `complete_second_factor`.
    NeedsCode {
        account_id: i64,
        session_epoch: i64,
    },
}

pub async fn sign_in(
    state: &AppState,
    email_input: &str,
    password: &SecretString,
    ip: IpAddr,
) -> Result<PasswordAccepted, SignInError> {
    let now = state.now();
    if let Some(wait) = state.ip_throttle.wait(ip, now) {
        return Err(Error::Throttled(wait).into());
    }
    let email = Email::parse(email_input).ok();
    let account = match email.clone() {
        Some(email) => state.run(move |s| s.db.read(|c| accounts::find_by_email(c, &email))).await?,
        None => None,
    };
    // An email with no account is slowed down and locked exactly as an account would be.
    let attempts = match (&account, &email) {
        (Some(account), _) => account.attempt_state(),
        (None, Some(email)) => state.unknown_emails.state(email.as_str()),
        (None, None) => Default::default(),
    };
    match state.config.lockout.gate(&attempts, now) {
        Gate::Open => {}
        Gate::Wait(secs) => return Err(Error::Throttled(secs).into()),
        Gate::Locked => return Err(Error::Locked.into()),
    }
    // Unknown addresses are checked against a dummy hash: the same work as a wrong password.
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let verification = state.passwords.verify(password.expose().to_owned(), stored).await.map_err(Error::from)?;

    let account = match account {
        Some(account) if verification.ok => account,
        other => {
            state.ip_throttle.record_failure(ip, now);
            let policy = state.config.lockout;
            let phantom_locks = match (&other, &email) {
                (None, Some(email)) => state.unknown_emails.record_failure(email.as_str(), now, policy),
                _ => false,
            };
            let attempted = email.map_or_else(|| "(malformed email)".to_owned(), |e| e.to_string());
            let known = other.map(|a| (a.id, a.email));
            let locked =
                state.run(move |s| s.db.write(|c| record_failed_sign_in(c, known, attempted, ip, now, policy))).await?;
            return Err(if locked || phantom_locks { Error::Locked.into() } else { SignInError::WrongCredentials });
        }
    };

    if !account.is_active() {
        return Err(SignInError::Disabled);
    }
    if account.oidc_subject.is_some() && state.config.oidc.as_ref().is_some_and(|o| o.passwords_off) {
        return Err(SignInError::UseSingleSignOn);
    }
    if account.email_unverified {
        // Only someone who knows the password learns this, and may ask for the link again (a few times).
        if state.link_requests.allow(&format!("verify:{}", account.email), 1, 600, now) {
            let (id, email, name) = (account.id, account.email.clone(), account.display_name.clone());
            state
                .run(move |s| {
                    let post = crate::services::email::Post::of(s);
                    s.db.write(|c| {
                        crate::services::password_links::send_verification(c, &post, (id, &email, &name), now)
                    })
                })
                .await?;
        }
        return Err(SignInError::Unverified(account.email));
    }
    if account.has_two_factor() {
        // The password's rehash waits for a sign-in without a second factor; the hash stays valid.
        return Ok(PasswordAccepted::NeedsCode { account_id: account.id, session_epoch: account.session_epoch });
    }
    finish_sign_in(state, account, verification.rehash, ip, now, "password").await.map(PasswordAccepted::SignedIn)
}

/// Finishes a sign-in whose password was accepted by checking the second factor (failures count toward
/// the lockout). A password change or disabling in between voids it.
pub async fn complete_second_factor(
    state: &AppState,
    account_id: i64,
    session_epoch: i64,
    code: &str,
    ip: IpAddr,
) -> Result<SignedIn, SignInError> {
    let account = state.run(move |s| s.db.read(|c| accounts::find(c, account_id))).await?;
    let account = account.filter(|a| a.session_epoch == session_epoch).ok_or(SignInError::WrongCredentials)?;
    if !account.is_active() {
        return Err(SignInError::Disabled);
    }
    let input = code.to_owned();
    state.run(move |s| crate::services::second_factor::check(s, account_id, &input, ip)).await?;
    finish_sign_in(state, account, None, ip, state.now(), "password and two-factor").await
}

async fn finish_sign_in(
    state: &AppState,
    account: accounts::Account,
    rehash: Option<String>,
    ip: IpAddr,
    now: i64,
    method: &'static str,
) -> Result<SignedIn, SignInError> {
    let signed_in =
        state.run(move |s| s.db.write(|c| record_sign_in(c, &account, rehash.as_deref(), ip, now, method))).await?;
    signed_in.ok_or(SignInError::NoWorkspace)
}

/// Records a sign-in however it was proven (password, second factor, single sign-on), in the caller's
/// transaction: the account lands in its home workspace, or `None` when it has none.
pub(crate) fn record_sign_in(
    c: &mut crate::db::DbConn,
    account: &accounts::Account,
    rehash: Option<&str>,
    ip: IpAddr,
    now: i64,
    method: &'static str,
) -> Result<Option<SignedIn>> {
    let Some(home) = workspaces::home_of(c, account.id)? else {
        return Ok(None);
    };
    accounts::record_sign_in(c, account.id, now, &ip.to_string(), rehash)?;
    let event = Event::new("account.sign_in", Actor::Account { id: account.id, email: account.email.clone() })
        .in_workspace(home.id)
        .from_ip(ip.to_string())
        .change(None, Some(serde_json::json!({ "method": method })));
    audit::record(c, now, &event)?;
    Ok(Some(SignedIn { account_id: account.id, session_epoch: account.session_epoch, workspace_id: home.id }))
}

/// Counts a failed sign-in against the account (when the address has one) and records it; returns
/// whether this failure locked the account.
fn record_failed_sign_in(
    c: &mut crate::db::DbConn,
    known: Option<(i64, String)>,
    attempted: String,
    ip: IpAddr,
    now: i64,
    policy: crate::domain::lockout::LockoutPolicy,
) -> Result<bool> {
    let Some((id, email)) = known else {
        audit::record(c, now, &Event::new(FAILED_SIGN_IN, Actor::Anonymous(attempted)).from_ip(ip.to_string()))?;
        return Ok(false);
    };
    let (failures, locks) = accounts::record_failure(c, id, now, policy)?;
    let home = workspaces::home_of(c, id)?.map(|w| w.id);
    let mut failed = Event::new(FAILED_SIGN_IN, Actor::Account { id, email: email.clone() })
        .from_ip(ip.to_string())
        .change(None, Some(serde_json::json!({ "consecutive_failures": failures })));
    failed.workspace_id = home;
    audit::record(c, now, &failed)?;
    if locks {
        let mut locked = Event::new("account.locked", Actor::System("lockout policy"))
            .from_ip(ip.to_string())
            .on("account", id, email);
        locked.workspace_id = home;
        audit::record(c, now, &locked)?;
    }
    Ok(locks)
}

/// How long signing in again at the single sign-on provider stands in for a re-entered password.
pub const REAUTHENTICATED_SECS: i64 = 300;

/// What a signed-in person offers before a secret is shown or changed: their password and, with
/// two-factor, a code; or, for a console session, a fresh sign-in at the single sign-on provider
/// (`services::sso::confirm`) — how people whose account has no password prove it is them.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    pub password: &'a SecretString,
    pub code: &'a str,
    /// When they last signed in again at the provider, within this session.
    pub sso_at: Option<i64>,
}

impl<'a> Proof<'a> {
    pub fn password(password: &'a SecretString, code: &'a str) -> Self {
        Proof { password, code, sso_at: None }
    }
}

/// Re-authenticates a signed-in account before a secret is shown or two-factor is switched off: its
/// password, and its two-factor code when it has one. Failures of either count toward the lockout.
pub async fn reauthenticate(state: &AppState, account_id: i64, proof: Proof<'_>, ip: IpAddr) -> Result<()> {
    if proof.password.expose().is_empty() && proof.sso_at.is_some_and(|at| state.now() - at <= REAUTHENTICATED_SECS) {
        return Ok(());
    }
    check_password(state, account_id, proof.password, ip).await?;
    let code = proof.code.to_owned();
    state.run(move |s| crate::services::second_factor::check(s, account_id, &code, ip)).await
}

/// Re-enters the password of a signed-in account. Failures count toward the account's lockout like
/// failed sign-ins.
pub async fn check_password(state: &AppState, account_id: i64, password: &SecretString, ip: IpAddr) -> Result<()> {
    if password.expose().is_empty() {
        // Not a guess: nothing to count toward the lockout.
        return Err(crate::domain::Invalid::new("password", "Enter your password.").into());
    }
    let now = state.now();
    let account = state.run(move |s| s.db.read(|c| accounts::find(c, account_id))).await?.ok_or(Error::NotFound)?;
    match state.config.lockout.gate(&account.attempt_state(), now) {
        Gate::Open => {}
        Gate::Wait(secs) => return Err(Error::Throttled(secs)),
        Gate::Locked => return Err(Error::Locked),
    }
    let ok = state.passwords.verify(password.expose().to_owned(), account.password_hash.clone()).await?.ok;
    let policy = state.config.lockout;
    state
        .run(move |s| {
            // Failure counts gate console sign-in, never what a key may do: cached verifications stay valid.
            s.db.write_counters(|c| {
                if ok {
                    accounts::clear_failures(c, account_id)?;
                    return Ok(());
                }
                let (failures, _) = accounts::record_failure(c, account_id, now, policy)?;
                let event =
                    Event::new("account.reauth_failed", Actor::Account { id: account_id, email: account.email })
                        .from_ip(ip.to_string())
                        .change(None, Some(serde_json::json!({ "consecutive_failures": failures })));
                audit::record(c, now, &event)?;
                Ok::<_, Error>(())
            })
        })
        .await?;
    if ok {
        Ok(())
    } else {
        Err(crate::domain::Invalid::new("current_password", "That is not your current password.").into())
    }
}

/// Changes the signed-in account's own password. Every other session of the account ends; the
/// returned epoch keeps the current one.
pub async fn change_password(
    state: &AppState,
    account_id: i64,
    current: &SecretString,
    new: &SecretString,
    confirm: &SecretString,
    ip: IpAddr,
) -> Result<i64> {
    let account = state.run(move |s| s.db.read(|c| accounts::find(c, account_id))).await?.ok_or(Error::NotFound)?;
    let new = NewPassword::parse(new.expose(), confirm.expose(), &account.email)?;
    check_password(state, account_id, current, ip).await?;
    let hash = state.passwords.hash(new.expose().to_owned()).await?;
    let now = state.now();
    state
        .run(move |s| {
            s.db.write(|c| {
                let epoch = accounts::set_password(c, account_id, &hash, now)?;
                let home = workspaces::home_of(c, account_id)?.map(|w| w.id);
                let mut event = Event::new(
                    "account.password_changed",
                    Actor::Account { id: account_id, email: account.email.clone() },
                )
                .from_ip(ip.to_string())
                .on("account", account_id, account.email);
                event.workspace_id = home;
                audit::record(c, now, &event)?;
                Ok(epoch)
            })
        })
        .await
}
