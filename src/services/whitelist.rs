//! Auto-whitelist: a workspace lists the email domains it trusts. An Administrator can add every
//! existing account of those domains as a Member, and, when self sign-up is on, people of those
//! domains create their own account: a Member with no permissions.

use crate::crypto::SecretString;
use crate::db::{DbConn, accounts, audit, settings, workspaces};
use crate::domain::Invalid;
use crate::domain::account::DisplayName;
use crate::domain::audit::{Actor, Event};
use crate::domain::email::{Email, parse_domains};
use crate::domain::password::NewPassword;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::accounts::{Newcomer, enrol};
use crate::state::AppState;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whitelist {
    pub domains: Vec<String>,
    pub self_signup: bool,
}

impl Whitelist {
    pub fn allows(&self, email: &Email) -> bool {
        self.domains.iter().any(|d| d == email.domain())
    }
}

fn load(c: &mut DbConn, workspace_id: i64) -> Result<Whitelist> {
    let text = settings::get_text(c, workspace_id, settings::ALLOWED_DOMAINS)?.unwrap_or_default();
    Ok(Whitelist {
        // Stored lists were checked when saved; anything unreadable counts as no domain.
        domains: parse_domains(&text).unwrap_or_default(),
        self_signup: settings::get_text(c, workspace_id, settings::SELF_SIGNUP)?.as_deref() == Some("1"),
    })
}

/// The oldest active workspace whose allowed domains include the email's (single sign-on's newcomers).
pub fn workspace_allowing(c: &mut DbConn, email: &Email) -> Result<Option<i64>> {
    for (ws, _) in settings::everywhere(c, settings::ALLOWED_DOMAINS)? {
        if workspaces::find(c, ws)?.is_some() && load(c, ws)?.allows(email) {
            return Ok(Some(ws));
        }
    }
    Ok(None)
}

pub fn get(state: &AppState, workspace_id: i64) -> Result<Whitelist> {
    state.db.read(|c| load(c, workspace_id))
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct WhitelistForm {
    #[serde(default)]
    pub domains: String,
    #[serde(default)]
    pub self_signup: Option<String>,
}

pub fn save(state: &AppState, caller: &Caller, form: &WhitelistForm) -> Result<Whitelist> {
    caller.must_administer()?;
    let wanted = Whitelist { domains: parse_domains(&form.domains)?, self_signup: form.self_signup.is_some() };
    if wanted.self_signup && wanted.domains.is_empty() {
        return Err(Invalid::new("domains", "List at least one domain before opening sign-up.").into());
    }
    let now = state.now();
    state.db.write(|c| {
        let before = load(c, caller.workspace_id)?;
        if before == wanted {
            return Ok(wanted.clone());
        }
        settings::set(c, caller.workspace_id, settings::ALLOWED_DOMAINS, &wanted.domains.join("\n"))?;
        settings::set(c, caller.workspace_id, settings::SELF_SIGNUP, if wanted.self_signup { "1" } else { "0" })?;
        let json = |w: &Whitelist| serde_json::json!({ "domains": w.domains, "self_signup": w.self_signup });
        let event = caller.event("settings.allowed_domains_changed").change(Some(json(&before)), Some(json(&wanted)));
        audit::record(c, now, &event)?;
        Ok(wanted.clone())
    })
}

/// Accounts of the allowed domains that belong to no workspace. Another workspace's people are never
/// listed or enrolled here: accounts are shared, and adding one of them is an invitation they accept.
fn matching_in(c: &mut DbConn, caller: &Caller) -> Result<Vec<(i64, String)>> {
    let list = load(c, caller.workspace_id)?;
    Ok(accounts::unaffiliated(c)?
        .into_iter()
        .filter(|(_, email)| Email::parse(email).is_ok_and(|e| list.allows(&e)))
        .collect())
}

/// Accounts of the allowed domains that belong to no workspace yet.
pub fn matching(state: &AppState, caller: &Caller) -> Result<Vec<(i64, String)>> {
    caller.must_administer()?;
    state.db.read(|c| matching_in(c, caller))
}

/// Adds every matching account as a Member with no permissions, in one transaction, provided there
/// are still `expected` of them; returns how many.
pub fn add_matching(state: &AppState, caller: &Caller, expected: usize) -> Result<usize> {
    caller.must_administer()?;
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    state.db.write(|c| {
        let found = matching_in(c, caller)?;
        if found.len() != expected {
            return Err(Error::Conflict(
                "The matching accounts changed since you looked. Nothing was added; review the list again.".into(),
            ));
        }
        let mut events = Vec::with_capacity(found.len());
        for (id, email) in &found {
            workspaces::add_member(c, caller.workspace_id, *id, ConsoleRole::Member, now)?;
            let after = serde_json::json!({ "role": ConsoleRole::Member.code(), "source": "allowed domain" });
            events.push(caller.event("account.added_to_workspace").on("account", *id, email).change(None, Some(after)));
            crate::services::email::joined(c, &post, caller, (*id, email), false, now)?;
        }
        audit::record_all(c, now, &events)?;
        Ok(found.len())
    })
}

/// Whether any workspace accepts sign-ups (the sign-in page offers the link then).
/// Never while email is off: a signed-up account signs in only after following the link emailed to it.
pub fn signup_open(state: &AppState) -> Result<bool> {
    if state.smtp.is_none() {
        return Ok(false);
    }
    state.db.read(|c| Ok::<_, Error>(!accepting(c)?.is_empty()))
}

/// The active workspaces that accept sign-ups, oldest first (an archived one takes nobody in).
fn accepting(c: &mut DbConn) -> Result<Vec<i64>> {
    let mut open = Vec::new();
    for (ws, value) in settings::everywhere(c, settings::SELF_SIGNUP)? {
        if value == "1" && workspaces::find(c, ws)?.is_some() {
            open.push(ws);
        }
    }
    Ok(open)
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: SecretString,
    #[serde(default)]
    pub confirm: SecretString,
}

/// Creates a Member with no permissions in the first workspace that accepts sign-ups from the
/// email's domain; returns the account id.
pub async fn sign_up(state: &AppState, ip: Option<String>, form: SignUpForm) -> Result<i64> {
    let email = Email::parse(&form.email)?;
    let name = DisplayName::parse(&form.name)?;
    let password = NewPassword::parse(form.password.expose(), form.confirm.expose(), email.as_str())?;
    let closed =
        || Invalid::new("email", "Sign-up is not open for this email's domain. Ask an administrator to add you.");
    let workspace = state
        .run({
            let email = email.clone();
            move |s| {
                s.db.read(|c| {
                    for ws in accepting(c)? {
                        if load(c, ws)?.allows(&email) {
                            return Ok(Some(ws));
                        }
                    }
                    Ok::<_, Error>(None)
                })
            }
        })
        .await?
        .ok_or_else(closed)?;
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    let now = state.now();
    // The confirmation goes out now: a refused sign-in within minutes does not send another.
    state.link_requests.allow(&format!("verify:{}", email.as_str()), 1, 600, now);
    state
        .run(move |s| {
            let post = crate::services::email::Post::of(s);
            s.db.write(|c| {
                if accounts::email_taken(c, &email)? {
                    return Err(
                        Invalid::new("email", "An account with this email already exists. Sign in instead.").into()
                    );
                }
                let newcomer = Newcomer {
                    email: &email,
                    name: name.as_str(),
                    password_hash: Some(&hash),
                    workspace_id: workspace,
                    role: ConsoleRole::Member,
                    super_admin: false,
                    permissions: &[],
                    email_unverified: true,
                    oidc_subject: None,
                };
                let id = enrol(c, &newcomer, now)?;
                let mut event = Event::new("account.signed_up", Actor::Anonymous(email.as_str().to_owned()))
                    .in_workspace(workspace)
                    .on("account", id, email.as_str())
                    .change(
                        None,
                        Some(serde_json::json!({ "name": name.as_str(), "role": ConsoleRole::Member.code() })),
                    );
                event.source_ip = ip;
                audit::record(c, now, &event)?;
                crate::services::password_links::send_verification(c, &post, (id, email.as_str(), name.as_str()), now)?;
                Ok(id)
            })
        })
        .await
}
