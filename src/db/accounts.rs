//! Console accounts.

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{accounts, memberships};
use crate::domain::email::Email;
use crate::domain::lockout::{AttemptState, LockoutPolicy};
use crate::domain::role::ConsoleRole;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub is_super_admin: bool,
    pub disabled_at: Option<i64>,
    pub session_epoch: i64,
    pub failed_attempts: i64,
    pub last_failed_at: Option<i64>,
    pub locked_at: Option<i64>,
    pub last_sign_in_at: Option<i64>,
    pub created_at: i64,
    /// When two-factor sign-in was switched on; `None` while off (or only being set up).
    pub totp_confirmed_at: Option<i64>,
    /// The single sign-on provider's subject, once the account has signed in that way.
    pub oidc_subject: Option<String>,
    /// Signed up and has not yet followed the emailed link.
    pub email_unverified: bool,
}

impl std::fmt::Debug for Account {
    /// Leaves out the password hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("id", &self.id).field("email", &self.email).finish_non_exhaustive()
    }
}

impl Account {
    pub fn attempt_state(&self) -> AttemptState {
        AttemptState { failures: self.failed_attempts, last_failed_at: self.last_failed_at, locked_at: self.locked_at }
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }

    pub fn has_two_factor(&self) -> bool {
        self.totp_confirmed_at.is_some()
    }
}

#[derive(Debug)]
pub struct NewAccount<'a> {
    pub email: &'a Email,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_super_admin: bool,
    pub now: i64,
}

pub fn count(conn: &mut DbConn) -> QResult<i64> {
    accounts::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QResult<Option<Account>> {
    accounts::table.find(id).select(Account::as_select()).get_result(conn).optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> QResult<Option<Account>> {
    accounts::table.filter(accounts::email.eq(email.as_str())).select(Account::as_select()).get_result(conn).optional()
}

pub fn find_by_oidc_subject(conn: &mut DbConn, subject: &str) -> QResult<Option<Account>> {
    accounts::table.filter(accounts::oidc_subject.eq(subject)).select(Account::as_select()).first(conn).optional()
}

pub fn set_oidc_subject(conn: &mut DbConn, id: i64, subject: &str) -> QResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::oidc_subject.eq(subject)).execute(conn).map(drop)
}

pub fn email_taken(conn: &mut DbConn, email: &Email) -> QResult<bool> {
    diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::email.eq(email.as_str())))).get_result(conn)
}

pub fn create(conn: &mut DbConn, new: &NewAccount<'_>) -> QResult<i64> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::email.eq(new.email.as_str()),
            accounts::display_name.eq(new.display_name),
            accounts::password_hash.eq(new.password_hash),
            accounts::is_super_admin.eq(new.is_super_admin),
            accounts::password_changed_at.eq(new.now),
            accounts::created_at.eq(new.now),
        ))
        .returning(accounts::id)
        .get_result(conn)
}

/// Records a failed sign-in or re-authentication; returns the new count and whether it locked the account.
pub fn record_failure(conn: &mut DbConn, id: i64, now: i64, policy: LockoutPolicy) -> QResult<(i64, bool)> {
    let failures: i64 = diesel::update(accounts::table.find(id))
        .set((accounts::failed_attempts.eq(accounts::failed_attempts + 1), accounts::last_failed_at.eq(now)))
        .returning(accounts::failed_attempts)
        .get_result(conn)?;
    let locks = policy.locks_at(failures);
    if locks {
        diesel::update(accounts::table.find(id).filter(accounts::locked_at.is_null()))
            .set(accounts::locked_at.eq(now))
            .execute(conn)?;
    }
    Ok((failures, locks))
}

/// Records a successful sign-in: clears the failure count and, when given, stores an upgraded hash.
pub fn record_sign_in(conn: &mut DbConn, id: i64, now: i64, ip: &str, rehash: Option<&str>) -> QResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::failed_attempts.eq(0),
            accounts::last_failed_at.eq(None::<i64>),
            accounts::last_sign_in_at.eq(now),
            accounts::last_sign_in_ip.eq(ip),
        ))
        .execute(conn)?;
    if let Some(hash) = rehash {
        diesel::update(accounts::table.find(id)).set(accounts::password_hash.eq(hash)).execute(conn)?;
    }
    Ok(())
}

/// A correct re-authentication clears the failure count without counting as a sign-in.
pub fn clear_failures(conn: &mut DbConn, id: i64) -> QResult<()> {
    diesel::update(accounts::table.find(id))
        .set((accounts::failed_attempts.eq(0), accounts::last_failed_at.eq(None::<i64>)))
        .execute(conn)
        .map(drop)
}

/// Sets a new password, ends every session of the account and unlocks it. Returns the new session epoch.
pub fn set_password(conn: &mut DbConn, id: i64, hash: &str, now: i64) -> QResult<i64> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(hash),
            accounts::password_changed_at.eq(now),
            accounts::session_epoch.eq(accounts::session_epoch + 1),
            accounts::failed_attempts.eq(0),
            accounts::last_failed_at.eq(None::<i64>),
            accounts::locked_at.eq(None::<i64>),
        ))
        .returning(accounts::session_epoch)
        .get_result(conn)
}

pub fn unlock(conn: &mut DbConn, id: i64) -> QResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::failed_attempts.eq(0),
            accounts::last_failed_at.eq(None::<i64>),
            accounts::locked_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(drop)
}

/// Disables (ending every session at once) or re-enables an account.
pub fn set_disabled(conn: &mut DbConn, id: i64, disabled: bool, now: i64) -> QResult<()> {
    touched(Scope::Owner(id));
    diesel::update(accounts::table.find(id))
        .set((
            accounts::disabled_at.eq(disabled.then_some(now)),
            accounts::session_epoch.eq(accounts::session_epoch + 1),
        ))
        .execute(conn)
        .map(drop)
}

/// An account as listed in a workspace.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: Account,
    pub role: ConsoleRole,
}

pub fn members(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Member>> {
    let rows: Vec<(Account, String)> = accounts::table
        .inner_join(memberships::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .order(accounts::email.asc())
        .select((Account::as_select(), memberships::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(account, role)| Member { account, role: ConsoleRole::parse(&role).unwrap_or(ConsoleRole::Member) })
        .collect())
}

/// The account if it is a member of the workspace, with its role there.
pub fn member(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> QResult<Option<Member>> {
    let row: Option<(Account, String)> = accounts::table
        .inner_join(memberships::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(accounts::id.eq(account_id))
        .select((Account::as_select(), memberships::role))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(account, role)| Member { account, role: ConsoleRole::parse(&role).unwrap_or(ConsoleRole::Member) }))
}

/// Removes an account; memberships, grants and notifications go with it. Its keys must have been
/// reassigned first (the owner foreign key refuses otherwise).
pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    touched(Scope::Owner(id));
    diesel::delete(accounts::table.find(id)).execute(conn).map(drop)
}

/// A member as User Management lists them: what they hold and own.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    pub member: Member,
    /// Direct permissions.
    pub permissions: i64,
    /// Direct permissions that are high-risk.
    pub high_risk: i64,
    /// Names of the roles they hold.
    pub roles: Vec<String>,
    /// Keys they own in the workspace.
    pub keys: i64,
}

/// Every member of the workspace (or only `only`) with grant and key counts, in four queries
/// whatever the size.
pub fn summaries(conn: &mut DbConn, workspace_id: i64, only: Option<i64>) -> QResult<Vec<MemberSummary>> {
    use super::schema::{account_permissions, account_roles, api_keys, permissions, roles};
    use std::collections::HashMap;

    let mut direct = account_permissions::table
        .inner_join(permissions::table)
        .filter(permissions::workspace_id.eq(workspace_id))
        .select((account_permissions::account_id, permissions::risk))
        .into_boxed();
    let mut role_names = account_roles::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .order(roles::name.asc())
        .select((account_roles::account_id, roles::name))
        .into_boxed();
    let mut key_counts = api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .group_by(api_keys::owner_id)
        .select((api_keys::owner_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(id) = only {
        direct = direct.filter(account_permissions::account_id.eq(id));
        role_names = role_names.filter(account_roles::account_id.eq(id));
        key_counts = key_counts.filter(api_keys::owner_id.eq(id));
    }
    let direct: Vec<(i64, String)> = direct.load(conn)?;
    let mut held: HashMap<i64, (i64, i64)> = HashMap::new();
    for (account, risk) in direct {
        let entry = held.entry(account).or_default();
        entry.0 += 1;
        entry.1 += i64::from(risk == "high");
    }
    let role_names: Vec<(i64, String)> = role_names.load(conn)?;
    let mut roles_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (account, name) in role_names {
        roles_of.entry(account).or_default().push(name);
    }
    let key_counts: HashMap<i64, i64> = key_counts.load::<(i64, i64)>(conn)?.into_iter().collect();
    let members = match only {
        Some(id) => member(conn, workspace_id, id)?.into_iter().collect(),
        None => members(conn, workspace_id)?,
    };
    Ok(members
        .into_iter()
        .map(|member| {
            let id = member.account.id;
            let (permissions, high_risk) = held.get(&id).copied().unwrap_or_default();
            MemberSummary {
                permissions,
                high_risk,
                roles: roles_of.remove(&id).unwrap_or_default(),
                keys: key_counts.get(&id).copied().unwrap_or_default(),
                member,
            }
        })
        .collect())
}

/// (id, email, display name) of every account, for matching a spreadsheet against them.
pub fn all_emails(conn: &mut DbConn) -> QResult<Vec<(i64, String, String)>> {
    accounts::table.select((accounts::id, accounts::email, accounts::display_name)).load(conn)
}

/// Members of the workspace whose account `me` may not change (the rule of `services::accounts::changeable`):
/// super-administrators, unless `me` is one, and whoever also belongs to an active workspace that `me` does
/// not administer. Four queries whatever the workspace's size (the last two read ids only).
pub fn beyond_reach(conn: &mut DbConn, workspace_id: i64, me: i64) -> QResult<std::collections::HashSet<i64>> {
    use super::schema::workspaces;
    let me_super: Option<bool> = accounts::table.find(me).select(accounts::is_super_admin).first(conn).optional()?;
    if me_super == Some(true) {
        return Ok(std::collections::HashSet::new());
    }
    let administered: Vec<i64> = memberships::table
        .filter(memberships::account_id.eq(me))
        .filter(memberships::role.eq(ConsoleRole::Administrator.code()))
        .select(memberships::workspace_id)
        .load(conn)?;
    let here: std::collections::HashSet<i64> = memberships::table
        .filter(memberships::workspace_id.eq(workspace_id))
        .select(memberships::account_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let elsewhere: Vec<i64> = memberships::table
        .inner_join(workspaces::table)
        .filter(workspaces::archived_at.is_null())
        .filter(diesel::dsl::not(memberships::workspace_id.eq_any(administered)))
        .select(memberships::account_id)
        .load(conn)?;
    let shared = elsewhere.into_iter().filter(|id| here.contains(id));
    let supers: Vec<i64> = accounts::table
        .inner_join(memberships::table)
        .filter(memberships::workspace_id.eq(workspace_id))
        .filter(accounts::is_super_admin.eq(true))
        .select(accounts::id)
        .load(conn)?;
    Ok(shared.chain(supers).collect())
}

/// (id, email) of the accounts that belong to no workspace at all and are not super-administrators:
/// the only ones a workspace may take in without an invitation.
pub fn unaffiliated(conn: &mut DbConn) -> QResult<Vec<(i64, String)>> {
    let in_some_workspace = memberships::table.select(memberships::account_id);
    accounts::table
        .filter(diesel::dsl::not(accounts::id.eq_any(in_some_workspace)))
        .filter(accounts::is_super_admin.eq(false))
        .order(accounts::email.asc())
        .select((accounts::id, accounts::email))
        .load(conn)
}

/// Marks an account made by self sign-up: nobody proved it owns its email.
pub fn mark_email_unverified(conn: &mut DbConn, id: i64) -> QResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::email_unverified.eq(true)).execute(conn).map(drop)
}

/// The account followed the link emailed at sign-up: its email is proven.
pub fn mark_email_verified(conn: &mut DbConn, id: i64) -> QResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::email_unverified.eq(false)).execute(conn).map(drop)
}

/// When an account whose email was never proven is linked by a verified email (single sign-on), the
/// password its sign-up set is dropped and its sessions end: whoever signed up may not own the address.
/// Returns whether that happened.
pub fn drop_unverified_password(conn: &mut DbConn, id: i64, now: i64) -> QResult<bool> {
    let unverified: bool = accounts::table.find(id).select(accounts::email_unverified).get_result(conn)?;
    if !unverified {
        return Ok(false);
    }
    diesel::update(accounts::table.find(id))
        .set((
            accounts::email_unverified.eq(false),
            accounts::password_hash.eq(None::<String>),
            accounts::session_epoch.eq(accounts::session_epoch + 1),
        ))
        .execute(conn)?;
    super::console_sessions::end(conn, id, None, None, now)?;
    Ok(true)
}

pub fn set_display_name(conn: &mut DbConn, id: i64, name: &str) -> QResult<()> {
    diesel::update(accounts::table.find(id)).set(accounts::display_name.eq(name)).execute(conn).map(drop)
}
