//! Console accounts.

use diesel::prelude::*;

use super::DbConn;
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
    accounts::table.find(id).select(Account::as_select()).first(conn).optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &Email) -> QResult<Option<Account>> {
    accounts::table.filter(accounts::email.eq(email.as_str())).select(Account::as_select()).first(conn).optional()
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
        .first(conn)
        .optional()?;
    Ok(row.map(|(account, role)| Member { account, role: ConsoleRole::parse(&role).unwrap_or(ConsoleRole::Member) }))
}

/// Removes an account; memberships, grants and notifications go with it. Its keys must have been
/// reassigned first (the owner foreign key refuses otherwise).
pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    diesel::delete(accounts::table.find(id)).execute(conn).map(drop)
}
