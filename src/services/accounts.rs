//! Creating, disabling and unlocking accounts.

use crate::crypto::SecretString;
pub use crate::db::accounts::{Account, Member, MemberSummary};
use crate::db::{accounts, audit, workspaces};
use crate::domain::Invalid;
use crate::domain::account::DisplayName;
use crate::domain::audit::{Actor, Event};
use crate::domain::email::Email;
use crate::domain::key::KeyStatus;
use crate::domain::password::NewPassword;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::email::Post;
use crate::services::policies::{self, DepartedKeys};
use crate::state::AppState;

/// The fields of "Add user".
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewUserForm {
    pub email: String,
    pub name: String,
    pub role: String,
    /// Not needed for an email that already has an account: that person is invited.
    #[serde(default)]
    pub password: SecretString,
    #[serde(default)]
    pub confirm: SecretString,
    /// Permissions granted at once (ids in the workspace's catalogue).
    #[serde(default)]
    pub permissions: Vec<i64>,
    /// Email an invitation with a link to choose a password, instead of setting one here (email must be on).
    #[serde(default)]
    pub invite: bool,
}

/// Where a change comes from, for the audit log.
#[derive(Debug, Clone)]
pub struct Origin {
    pub actor: Actor,
    pub ip: Option<String>,
}

impl Origin {
    fn event(&self, action: &'static str, workspace_id: Option<i64>) -> Event {
        let mut event = Event::new(action, self.actor.clone());
        event.workspace_id = workspace_id;
        event.source_ip = self.ip.clone();
        event
    }
}

/// What "Add user" did: made a new account, or invited one that already exists elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Created(i64),
    /// The account belongs to other workspaces: it joins when it accepts. `false` when it was invited before.
    Invited(bool),
}

/// Adds a person to the caller's workspace: a new account, or, for an email that already has one
/// elsewhere, an invitation (`invitations`): one workspace never enrols another's person or sets
/// their password. Administrators only.
pub async fn add_user(state: &AppState, caller: &crate::services::Caller, form: NewUserForm) -> Result<Added> {
    caller.must_administer()?;
    let email = Email::parse(&form.email)?;
    let role = ConsoleRole::parse(&form.role)
        .ok_or_else(|| crate::domain::Invalid::new("role", "Choose Administrator, Auditor or Member."))?;
    let (who, wanted, now) = (caller.clone(), email.clone(), state.now());
    let invited =
        state.run(move |s| s.db.write(|c| invite_existing(c, &Post::of(s), &who, &wanted, role, now))).await?;
    if let Some(invited) = invited {
        return Ok(Added::Invited(invited));
    }
    create_user(state, caller.origin.clone(), Some(caller.workspace_id), form).await.map(Added::Created)
}

/// A new person, as every way of adding one describes them: the form, setup, sign-up, single sign-on,
/// import and the demo.
#[derive(Debug)]
pub struct Newcomer<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    /// `None`: the person cannot sign in with a password until they choose one (a one-time link).
    pub password_hash: Option<&'a str>,
    pub workspace_id: i64,
    pub role: ConsoleRole,
    pub super_admin: bool,
    /// Permission ids of `workspace_id`, already checked against its catalogue.
    pub permissions: &'a [i64],
    /// Self sign-up: the password works only once the email is proven.
    pub email_unverified: bool,
    /// Single sign-on: the provider's subject the account is bound to.
    pub oidc_subject: Option<&'a str>,
}

/// Creates an account with its membership and grants, in the caller's transaction: the one place an
/// account comes into being. The email must be free; the caller records the audit event, which names
/// its own actor.
pub fn enrol(c: &mut crate::db::DbConn, new: &Newcomer<'_>, now: i64) -> Result<i64> {
    if accounts::email_taken(c, new.email)? {
        return Err(duplicate(new.email));
    }
    let id = accounts::create(
        c,
        &accounts::NewAccount {
            email: new.email,
            display_name: new.name,
            password_hash: new.password_hash,
            is_super_admin: new.super_admin,
            now,
        },
    )?;
    if new.email_unverified {
        accounts::mark_email_unverified(c, id)?;
    }
    if let Some(subject) = new.oidc_subject {
        accounts::set_oidc_subject(c, id, subject)?;
    }
    workspaces::add_member(c, new.workspace_id, id, new.role, now)?;
    crate::db::permissions::grant_new_account(c, id, new.permissions)?;
    Ok(id)
}

/// Makes a new account in a workspace with a console role. With no workspace given, uses the first one,
/// creating a "Default" workspace on a fresh install; an Administrator made that way is also a
/// super-administrator when it is the first account. For set-up and the command line; the console and
/// the API add people with `add_user`.
pub async fn create_user(
    state: &AppState,
    origin: Origin,
    workspace_id: Option<i64>,
    form: NewUserForm,
) -> Result<i64> {
    let email = Email::parse(&form.email)?;
    let name = DisplayName::parse(&form.name)?;
    let role = ConsoleRole::parse(&form.role)
        .ok_or_else(|| crate::domain::Invalid::new("role", "Choose Administrator, Auditor or Member."))?;
    let invite = form.invite;
    if invite && state.smtp.is_none() {
        return Err(crate::domain::Invalid::new(
            "invite",
            "Email is off here, so no invitation can be sent: set a password and hand it over instead.",
        )
        .into());
    }
    let password = if invite {
        None
    } else {
        Some(NewPassword::parse(form.password.expose(), form.confirm.expose(), email.as_str())?)
    };
    let taken_email = email.clone();
    if state.run(move |s| s.db.read(|c| accounts::email_taken(c, &taken_email))).await? {
        return Err(duplicate(&email));
    }
    let hash = match password {
        Some(password) => Some(state.passwords.hash(password.expose().to_owned()).await?),
        None => None,
    };
    let now = state.now();
    state
        .run(move |s| {
            s.db.write(|c| {
                if accounts::email_taken(c, &email)? {
                    return Err(duplicate(&email));
                }
                let first_account = accounts::count(c)? == 0;
                let workspace_id = match workspace_id {
                    Some(id) => id,
                    None => match workspaces::first(c)? {
                        Some(w) => w.id,
                        None => workspaces::create(c, "Default", now)?,
                    },
                };
                let catalogue = crate::db::permissions::rows(c, workspace_id)?;
                let mut granted = Vec::new();
                for wanted in &form.permissions {
                    let p = catalogue.iter().find(|p| p.id == *wanted).ok_or_else(|| {
                        crate::domain::Invalid::new("permissions", "One of the chosen permissions does not exist.")
                    })?;
                    granted.push(p.name.clone());
                }
                let newcomer = Newcomer {
                    email: &email,
                    name: name.as_str(),
                    password_hash: hash.as_deref(),
                    workspace_id,
                    role,
                    super_admin: first_account && role == ConsoleRole::Administrator,
                    permissions: &form.permissions,
                    email_unverified: false,
                    oidc_subject: None,
                };
                let id = enrol(c, &newcomer, now)?;
                let after = serde_json::json!({
                    "name": name.as_str(), "role": role.code(), "permissions": granted, "invited_by_email": invite
                });
                let event = origin.event("account.created", Some(workspace_id)).on("account", id, email.as_str());
                audit::record(c, now, &event.change(None, Some(after)))?;
                if invite {
                    let caller = crate::services::Caller {
                        workspace_id,
                        account_id: None,
                        role: ConsoleRole::Administrator,
                        origin: origin.clone(),
                    };
                    let post = Post::of(s);
                    crate::services::email::invite_with_link(
                        c,
                        &post,
                        &caller,
                        (id, email.as_str(), name.as_str()),
                        now,
                    )?;
                }
                Ok(id)
            })
        })
        .await
}

/// When the email has an account, invites it to the caller's workspace (`Some(new invitation?)`), or
/// says it is a member already; `None` when there is no such account.
fn invite_existing(
    c: &mut crate::db::DbConn,
    post: &Post<'_>,
    caller: &crate::services::Caller,
    email: &Email,
    role: ConsoleRole,
    now: i64,
) -> Result<Option<bool>> {
    caller.must_administer()?;
    let Some(account) = accounts::find_by_email(c, email)? else { return Ok(None) };
    if accounts::member(c, caller.workspace_id, account.id)?.is_some() {
        return Err(
            crate::domain::Invalid::new("email", format!("{email} is already a member of this workspace.")).into()
        );
    }
    let event = crate::services::invitations::invite(c, caller, (account.id, email.as_str()), role, "add user", now)?;
    if let Some(event) = &event {
        audit::record(c, now, event)?;
        crate::services::email::joined(c, post, caller, (account.id, email.as_str()), true, now)?;
    }
    Ok(Some(event.is_some()))
}

/// The one rule for changing an account itself — its password or password link, status, two-factor,
/// name, existence — rather than its membership here. Accounts are shared by every workspace, so a
/// workspace's Administrator may change one only when they administer every active workspace it belongs
/// to, and only a super-administrator changes a super-administrator. The command line (no account) may.
/// Returns the member; someone who is not a member of the caller's workspace is not found.
pub(crate) fn changeable(
    c: &mut crate::db::DbConn,
    caller: &crate::services::Caller,
    account_id: i64,
) -> Result<accounts::Member> {
    caller.must_administer()?;
    let member = accounts::member(c, caller.workspace_id, account_id)?.ok_or(Error::NotFound)?;
    let Some(me) = caller.account_id else { return Ok(member) };
    if !accounts::beyond_reach(c, caller.workspace_id, me)?.contains(&account_id) {
        return Ok(member);
    }
    let email = &member.account.email;
    Err(Error::Refused(if member.account.is_super_admin {
        format!("{email} is a super-administrator: only a super-administrator can change their account.")
    } else {
        format!(
            "{email} also belongs to a workspace you do not administer, so only a super-administrator can change \
             their account. You can still change their role here or remove them from this workspace."
        )
    }))
}

/// The members of the caller's workspace whose account the caller may not change (lists hide those actions).
pub fn beyond_reach(state: &AppState, caller: &crate::services::Caller) -> Result<std::collections::HashSet<i64>> {
    let Some(me) = caller.account_id else { return Ok(std::collections::HashSet::new()) };
    state.db.read(|c| Ok::<_, Error>(accounts::beyond_reach(c, caller.workspace_id, me)?))
}

/// Whether the caller may change the account itself (the person's page offers those actions then).
pub fn may_change(state: &AppState, caller: &crate::services::Caller, account_id: i64) -> Result<bool> {
    state.db.read(|c| match changeable(c, caller, account_id) {
        Ok(_) => Ok(true),
        Err(Error::Refused(_) | Error::Forbidden) => Ok(false),
        Err(other) => Err(other),
    })
}

fn duplicate(email: &Email) -> Error {
    crate::domain::Invalid::new("email", format!("An account with the email {email} already exists.")).into()
}

/// Disables or enables a member of the caller's workspace (Administrators only). Disabling ends the
/// account's sessions at once. Nobody disables their own account, whether signed in or through one of
/// their keys, so a workspace always keeps the administrator acting.
pub fn set_disabled(state: &AppState, caller: &crate::services::Caller, account_id: i64, disabled: bool) -> Result<()> {
    update(state, caller, account_id, None, Some(disabled))
}

/// Changes a member's console role and whether they are disabled, together or alone, in one
/// transaction: either both happen or neither. Administrators only; never the caller's own account.
pub fn update(
    state: &AppState,
    caller: &crate::services::Caller,
    account_id: i64,
    role: Option<&str>,
    disabled: Option<bool>,
) -> Result<()> {
    caller.must_administer()?;
    if role.is_some() && caller.is(account_id) {
        return Err(Error::Conflict("You cannot change your own console role.".into()));
    }
    if disabled.is_some() && caller.is(account_id) {
        return Err(Error::Conflict("You cannot disable your own account.".into()));
    }
    let role = match role {
        Some(text) => Some(
            ConsoleRole::parse(text)
                .ok_or_else(|| crate::domain::Invalid::new("role", "Choose Administrator, Auditor or Member."))?,
        ),
        None => None,
    };
    if role.is_none() && disabled.is_none() {
        // Even an empty change names someone: another workspace's account is not found.
        return member(state, caller, account_id).map(drop);
    }
    let now = state.now();
    state.db.write(|c| {
        let member = accounts::member(c, caller.workspace_id, account_id)?.ok_or(Error::NotFound)?;
        if let Some(role) = role.filter(|r| *r != member.role) {
            workspaces::set_role(c, caller.workspace_id, account_id, role)?;
            let event = caller
                .origin
                .event("account.role_changed", Some(caller.workspace_id))
                .on("account", account_id, &member.account.email)
                .change(
                    Some(serde_json::json!({ "role": member.role.code() })),
                    Some(serde_json::json!({ "role": role.code() })),
                );
            audit::record(c, now, &event)?;
        }
        if let Some(disabled) = disabled {
            let member = changeable(c, caller, account_id)?;
            if member.account.is_active() == disabled {
                accounts::set_disabled(c, account_id, disabled, now)?;
                let action = if disabled { "account.disabled" } else { "account.enabled" };
                let event = caller
                    .origin
                    .event(action, Some(caller.workspace_id))
                    .on("account", account_id, member.account.email)
                    .change(
                        Some(serde_json::json!({ "status": status(!disabled) })),
                        Some(serde_json::json!({ "status": status(disabled) })),
                    );
                audit::record(c, now, &event)?;
            }
        }
        Ok(())
    })
}

fn status(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "active" }
}

/// Unlocks an account locked by failed attempts: an Administrator who may change the account (the
/// console, the API), or the command line with no caller.
pub fn unlock(
    state: &AppState,
    origin: &Origin,
    caller: Option<&crate::services::Caller>,
    account_id: i64,
) -> Result<()> {
    let now = state.now();
    state.db.write(|c| {
        let account = match caller {
            Some(caller) => changeable(c, caller, account_id)?.account,
            None => accounts::find(c, account_id)?.ok_or(Error::NotFound)?,
        };
        if account.locked_at.is_none() && account.failed_attempts == 0 {
            return Ok(());
        }
        accounts::unlock(c, account.id)?;
        let home = caller.map(|c| c.workspace_id).or(workspaces::home_of(c, account.id)?.map(|w| w.id));
        audit::record(c, now, &origin.event("account.unlocked", home).on("account", account.id, account.email))?;
        Ok(())
    })
}

/// The id of the account with this email, for the command line.
pub fn id_by_email(state: &AppState, email: &Email) -> Result<i64> {
    state.db.read(|c| accounts::find_by_email(c, email)?.map(|a| a.id).ok_or(Error::NotFound))
}

/// Sets a new password from the command line: unlocks the account and ends its sessions.
pub fn reset_password(state: &AppState, origin: &Origin, email: &Email, password: &NewPassword) -> Result<()> {
    let hash = state.passwords.hash_blocking(password.expose())?;
    let now = state.now();
    state.db.write(|c| {
        let account = accounts::find_by_email(c, email)?.ok_or(Error::NotFound)?;
        accounts::set_password(c, account.id, &hash, now)?;
        let home = workspaces::home_of(c, account.id)?.map(|w| w.id);
        audit::record(c, now, &origin.event("account.password_reset", home).on("account", account.id, account.email))?;
        Ok(())
    })
}

/// What deleting an account did with its keys: (recipient account id, key names) per workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    pub moved: Vec<(i64, i64, Vec<String>)>,
}

/// Nobody deletes their own account: another Administrator must.
fn not_yourself(caller: &crate::services::Caller, account_id: i64) -> Result<()> {
    if caller.is(account_id) {
        return Err(Error::Conflict("You cannot delete your own account.".into()));
    }
    Ok(())
}

/// What the deleting Administrator chose for the departing person's keys in this workspace: to whom they go
/// (`None`: the deleting Administrator) and whether they stop working (`None`: the workspace's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeysChoice {
    pub to: Option<i64>,
    pub then: Option<DepartedKeys>,
}

/// Deletes a member of the caller's workspace. Their sessions end at once (the account is gone) and their
/// keys change hands workspace by workspace: here as `choice` says; in other workspaces to that workspace's
/// longest-serving Administrator, deactivated or not as that workspace's policy says. Each recipient is
/// notified with the list.
pub fn delete_user(
    state: &AppState,
    caller: &crate::services::Caller,
    account_id: i64,
    choice: KeysChoice,
) -> Result<Deleted> {
    caller.must_administer()?;
    not_yourself(caller, account_id)?;
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    state.db.write(|c| {
        let member = changeable(c, caller, account_id)?;
        let keys = crate::db::keys::owned_by(c, account_id)?;
        let mut by_workspace: Vec<(i64, Vec<crate::db::keys::Owned>)> = Vec::new();
        for key in keys {
            match by_workspace.last_mut() {
                Some((w, list)) if *w == key.workspace_id => list.push(key),
                _ => by_workspace.push((key.workspace_id, vec![key])),
            }
        }
        let mut deleted = Deleted::default();
        for (ws, keys) in by_workspace {
            let here = ws == caller.workspace_id;
            let then = match choice.then.filter(|_| here) {
                Some(then) => then,
                None => policies::departed_keys(c, ws)?,
            };
            let handing = Handing {
                why: Departure::Deleted,
                to: choice.to.filter(|_| here),
                deactivate: then == DepartedKeys::Deactivate,
            };
            let who = (account_id, member.account.email.as_str());
            let (recipient, names) = hand_over(c, (caller, &post), ws, who, &keys, handing, now)?;
            deleted.moved.push((ws, recipient, names));
        }
        accounts::delete(c, account_id)?;
        let event = origin_event(caller, "account.deleted", caller.workspace_id)
            .on("account", account_id, &member.account.email)
            .change(Some(serde_json::json!({ "name": member.account.display_name, "role": member.role.code() })), None);
        audit::record(c, now, &event)?;
        Ok(deleted)
    })
}

/// How a departing member's keys in one workspace change hands, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Handing {
    pub why: Departure,
    /// The Administrator who receives them; `None` picks one (`hand_over`).
    pub to: Option<i64>,
    /// They stop working as they move.
    pub deactivate: bool,
}

/// Why a member's keys change hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    Deleted,
    Removed,
}

impl Departure {
    fn reason(self) -> &'static str {
        match self {
            Departure::Deleted => "owner deleted",
            Departure::Removed => "owner removed from the workspace",
        }
    }

    fn told(self) -> &'static str {
        match self {
            Departure::Deleted => "was deleted",
            Departure::Removed => "was removed from this workspace",
        }
    }
}

/// Gives a departing member's keys in one workspace to the Administrator chosen in `handing`, else to the
/// acting Administrator when they administer it, else to its longest-serving Administrator, who is notified
/// with the list. Returns who received them and the keys' names. With `handing.deactivate` every key stops
/// working as it moves; a key that acts as its owner (a personal key) always does: it would otherwise carry
/// its new owner's grants, in the hands of whoever held the old owner's.
pub(crate) fn hand_over(
    c: &mut crate::db::DbConn,
    (caller, post): (&crate::services::Caller, &Post<'_>),
    ws: i64,
    (account_id, email): (i64, &str),
    keys: &[crate::db::keys::Owned],
    handing: Handing,
    now: i64,
) -> Result<(i64, Vec<String>)> {
    let why = handing.why;
    let recipient = match handing.to {
        Some(to) => chosen_recipient(c, ws, account_id, to)?,
        None => default_recipient(c, caller, ws, (account_id, email))?,
    };
    let mut names = Vec::with_capacity(keys.len());
    for key in keys {
        crate::db::keys::set_owner(c, key.id, recipient, now)?;
        crate::db::keys::refresh_search_text(c, key.id)?;
        let event = origin_event(caller, "key.reassigned", ws).on("api_key", key.id, &key.name).change(
            Some(serde_json::json!({ "owner": email })),
            Some(serde_json::json!({ "owner_id": recipient, "reason": why.reason() })),
        );
        audit::record(c, now, &event)?;
        let reason = if key.act_as_owner {
            Some("acted as its departed owner")
        } else if handing.deactivate {
            Some("its owner's departure")
        } else {
            None
        };
        match reason {
            Some(reason) if key.is_active() => {
                crate::db::keys::set_status(c, key.id, false, now)?;
                let event = origin_event(caller, "key.deactivated", ws).on("api_key", key.id, &key.name).change(
                    Some(serde_json::json!({ "status": KeyStatus::Active.as_str() })),
                    Some(serde_json::json!({ "status": KeyStatus::Inactive.as_str(), "reason": reason })),
                );
                audit::record(c, now, &event)?;
                names.push(if key.act_as_owner {
                    format!("{} (deactivated: it acted as its owner)", key.name)
                } else {
                    format!("{} (deactivated)", key.name)
                });
            }
            _ => names.push(key.name.clone()),
        }
    }
    let title = match names.len() {
        1 => format!("1 key of {email} is now yours"),
        n => format!("{n} keys of {email} are now yours"),
    };
    let body = format!("{email} {}; their keys were reassigned to you: {}.", why.told(), names.join(", "));
    let notice = crate::db::notifications::NewNotification {
        workspace_id: ws,
        account_id: recipient,
        kind: "deleted_user_keys",
        title: &title,
        body: &body,
        link: Some("/keys"),
    };
    crate::services::notifications::notify(c, post, &notice, None, now)?;
    Ok((recipient, names))
}

/// The Administrator the deleting one chose: an active Administrator of the workspace other than the one leaving.
fn chosen_recipient(c: &mut crate::db::DbConn, ws: i64, leaving: i64, to: i64) -> Result<i64> {
    accounts::member(c, ws, to)?
        .filter(|m| m.account.id != leaving && m.account.is_active() && m.role == ConsoleRole::Administrator)
        .map(|m| m.account.id)
        .ok_or_else(|| {
            Invalid::new("to", "Choose an active administrator of this workspace to receive the keys.").into()
        })
}

/// The acting Administrator when they administer the workspace, else its longest-serving one.
fn default_recipient(
    c: &mut crate::db::DbConn,
    caller: &crate::services::Caller,
    ws: i64,
    (account_id, email): (i64, &str),
) -> Result<i64> {
    let me = caller
        .account_id
        .filter(|me| *me != account_id)
        .filter(|me| workspaces::role_in(c, ws, *me).ok().flatten() == Some(ConsoleRole::Administrator));
    match me {
        Some(me) => Ok(me),
        None => workspaces::senior_admin(c, ws, account_id)?.ok_or_else(|| {
            // Named only when the caller may see it: the workspace may be one they do not belong to.
            let name = match caller.account_id.map(|me| workspaces::role_in(c, ws, me)) {
                Some(Ok(Some(_))) => workspaces::find(c, ws).ok().flatten().map(|w| format!(" {}", w.name)),
                _ => None,
            };
            let name = name.unwrap_or_else(|| " they belong to".to_owned());
            Error::Conflict(format!("No administrator of a workspace{name} could receive {email}'s keys."))
        }),
    }
}

fn origin_event(caller: &crate::services::Caller, action: &'static str, workspace_id: i64) -> Event {
    caller.origin.event(action, Some(workspace_id))
}

/// Changes a member's console role in the caller's workspace. It applies from their next request (the
/// role is read on every request). Nobody changes their own role, so a workspace keeps the
/// administrator acting.
pub fn change_role(state: &AppState, caller: &crate::services::Caller, account_id: i64, role: &str) -> Result<()> {
    update(state, caller, account_id, Some(role), None)
}

/// A member of the caller's workspace; another workspace's account is not found.
pub fn member(state: &AppState, caller: &crate::services::Caller, account_id: i64) -> Result<Member> {
    let ws = caller.workspace_id;
    state.db.read(|c| accounts::member(c, ws, account_id))?.ok_or(Error::NotFound)
}

/// Every member of the caller's workspace.
pub fn members(state: &AppState, caller: &crate::services::Caller) -> Result<Vec<Member>> {
    let ws = caller.workspace_id;
    state.db.read(|c| accounts::members(c, ws))
}

/// One row of the Users list.
pub fn summary(state: &AppState, caller: &crate::services::Caller, account_id: i64) -> Result<MemberSummary> {
    let ws = caller.workspace_id;
    state.db.read(|c| accounts::summaries(c, ws, Some(account_id)))?.into_iter().next().ok_or(Error::NotFound)
}

/// What deleting a member would do, for the confirmation: their keys here (type, last use, state), how many
/// they hold in other workspaces, the Administrators who could receive them, and the workspace's default.
#[derive(Debug)]
pub struct Deletion {
    pub member: Member,
    pub here: Vec<crate::db::keys::Owned>,
    pub elsewhere: usize,
    pub admins: Vec<Member>,
    pub default: DepartedKeys,
}

/// What deleting a member would take with them. Nobody deletes their own account.
pub fn deletion(state: &AppState, caller: &crate::services::Caller, account_id: i64) -> Result<Deletion> {
    not_yourself(caller, account_id)?;
    let ws = caller.workspace_id;
    state.db.read(|c| {
        let member = accounts::member(c, ws, account_id)?.ok_or(Error::NotFound)?;
        let (here, elsewhere): (Vec<_>, Vec<_>) =
            crate::db::keys::owned_by(c, account_id)?.into_iter().partition(|k| k.workspace_id == ws);
        let admins = accounts::members(c, ws)?
            .into_iter()
            .filter(|m| m.account.id != account_id && m.account.is_active() && m.role == ConsoleRole::Administrator)
            .collect();
        let default = policies::departed_keys(c, ws)?;
        Ok::<_, Error>(Deletion { member, here, elsewhere: elsewhere.len(), admins, default })
    })
}
