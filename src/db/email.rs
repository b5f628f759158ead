//! The email outbox, each person's email choices and their digest: an email is queued in the transaction
//! that made what it carries, and the email job claims, sends and reschedules it (as webhook deliveries).

use diesel::prelude::*;

use super::DbConn;
use super::schema::{accounts, email_muted, email_outbox, notifications};

type QResult<T> = Result<T, diesel::result::Error>;

/// An email to queue.
#[derive(Debug)]
pub struct NewEmail<'a> {
    /// The workspace whose Administrators see it in Settings (`None`: super-administrators only).
    pub workspace_id: Option<i64>,
    pub account_id: Option<i64>,
    pub recipient: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub message_id: &'a str,
}

pub fn enqueue(conn: &mut DbConn, email: &NewEmail<'_>, now: i64) -> QResult<()> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::workspace_id.eq(email.workspace_id),
            email_outbox::account_id.eq(email.account_id),
            email_outbox::recipient.eq(email.recipient),
            email_outbox::kind.eq(email.kind),
            email_outbox::subject.eq(email.subject),
            email_outbox::text_body.eq(email.text_body),
            email_outbox::html_body.eq(email.html_body),
            email_outbox::message_id.eq(email.message_id),
            email_outbox::next_attempt_at.eq(now),
            email_outbox::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// A queued email whose time has come.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct Queued {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub attempts: i64,
}

/// Pending emails whose time has come, oldest first.
pub fn due(conn: &mut DbConn, now: i64, limit: i64) -> QResult<Vec<Queued>> {
    email_outbox::table
        .filter(email_outbox::status.eq("pending"))
        .filter(email_outbox::next_attempt_at.le(now))
        .order(email_outbox::id)
        .limit(limit)
        .select(Queued::as_select())
        .load(conn)
}

/// Takes an email for `lease_until`: false when another instance took it first.
pub fn claim(conn: &mut DbConn, id: i64, now: i64, lease_until: i64) -> QResult<bool> {
    let taken = diesel::update(
        email_outbox::table
            .filter(email_outbox::id.eq(id))
            .filter(email_outbox::status.eq("pending"))
            .filter(email_outbox::next_attempt_at.le(now)),
    )
    .set(email_outbox::next_attempt_at.eq(lease_until))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Marks an email sent. Its body goes (it may hold a one-time link, of which the database otherwise keeps
/// only a digest); the subject and the envelope stay for Settings.
pub fn sent(conn: &mut DbConn, id: i64, attempts: i64, now: i64) -> QResult<()> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::text_body.eq(""),
            email_outbox::html_body.eq(""),
            email_outbox::status.eq("sent"),
            email_outbox::attempts.eq(attempts),
            email_outbox::sent_at.eq(now),
            email_outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a failed attempt: retried at `retry_at`, or given up on (`None`, and the body goes as when sent).
pub fn attempt_failed(conn: &mut DbConn, id: i64, attempts: i64, error: &str, retry_at: Option<i64>) -> QResult<()> {
    if retry_at.is_none() {
        diesel::update(email_outbox::table.find(id))
            .set((email_outbox::text_body.eq(""), email_outbox::html_body.eq("")))
            .execute(conn)?;
    }
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(if retry_at.is_some() { "pending" } else { "failed" }),
            email_outbox::attempts.eq(attempts),
            email_outbox::last_error.eq(error),
            email_outbox::next_attempt_at.eq(retry_at.unwrap_or(0)),
        ))
        .execute(conn)
        .map(drop)
}

/// Forgets sent and given-up emails queued before `before`; returns how many.
pub fn prune(conn: &mut DbConn, before: i64) -> QResult<usize> {
    diesel::delete(
        email_outbox::table.filter(email_outbox::status.ne("pending")).filter(email_outbox::created_at.lt(before)),
    )
    .execute(conn)
}

/// An email as Settings lists it: never its body (it may hold a one-time link).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct Sent {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The newest emails of a workspace, or of every workspace and none (`None`).
pub fn recent(conn: &mut DbConn, workspace_id: Option<i64>, limit: i64) -> QResult<Vec<Sent>> {
    let mut query = email_outbox::table.into_boxed();
    if let Some(ws) = workspace_id {
        query = query.filter(email_outbox::workspace_id.eq(ws));
    }
    query.order(email_outbox::id.desc()).limit(limit).select(Sent::as_select()).load(conn)
}

/// How many emails wait to be sent (their first try or a retry).
pub fn pending_count(conn: &mut DbConn) -> QResult<i64> {
    email_outbox::table.filter(email_outbox::status.eq("pending")).count().get_result(conn)
}

/// What decides whether and how an account is emailed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub disabled_at: Option<i64>,
    pub email_digest: bool,
    pub digest_sent_at: Option<i64>,
}

pub fn recipient(conn: &mut DbConn, account_id: i64) -> QResult<Option<Recipient>> {
    accounts::table.find(account_id).select(Recipient::as_select()).get_result(conn).optional()
}

/// The notification kinds the account chose not to get by email.
pub fn muted(conn: &mut DbConn, account_id: i64) -> QResult<Vec<String>> {
    email_muted::table.filter(email_muted::account_id.eq(account_id)).select(email_muted::kind).load(conn)
}

pub fn is_muted(conn: &mut DbConn, account_id: i64, kind: &str) -> QResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_muted::table.filter(email_muted::account_id.eq(account_id)).filter(email_muted::kind.eq(kind)),
    ))
    .get_result(conn)
}

/// Replaces the account's choices: the kinds it mutes, and the digest (switching it on starts the day).
pub fn set_choices(conn: &mut DbConn, account_id: i64, muted: &[&str], digest: bool, now: i64) -> QResult<()> {
    diesel::delete(email_muted::table.filter(email_muted::account_id.eq(account_id))).execute(conn)?;
    for kind in muted {
        diesel::insert_into(email_muted::table)
            .values((email_muted::account_id.eq(account_id), email_muted::kind.eq(*kind)))
            .execute(conn)?;
    }
    let was: bool = accounts::table.find(account_id).select(accounts::email_digest).get_result(conn)?;
    if digest && !was {
        diesel::update(accounts::table.find(account_id))
            .set((accounts::email_digest.eq(true), accounts::digest_sent_at.eq(now)))
            .execute(conn)?;
    } else if !digest && was {
        diesel::update(accounts::table.find(account_id)).set(accounts::email_digest.eq(false)).execute(conn)?;
    }
    Ok(())
}

/// Keeps a notification for the account's next digest.
pub fn hold_for_digest(conn: &mut DbConn, notification_id: i64) -> QResult<()> {
    diesel::update(notifications::table.find(notification_id))
        .set(notifications::digest_pending.eq(true))
        .execute(conn)
        .map(drop)
}

/// Accounts with notifications waiting whose last digest is at least `every` seconds old:
/// (account, when its last digest went).
pub fn digests_due(conn: &mut DbConn, now: i64, every: i64) -> QResult<Vec<(i64, Option<i64>)>> {
    let waiting = notifications::table.filter(notifications::digest_pending.eq(true)).select(notifications::account_id);
    accounts::table
        .filter(accounts::id.eq_any(waiting))
        .filter(accounts::digest_sent_at.is_null().or(accounts::digest_sent_at.le(now - every)))
        .select((accounts::id, accounts::digest_sent_at))
        .load(conn)
}

/// Takes the account's digest round: false when another instance already sent it.
pub fn claim_digest(conn: &mut DbConn, account_id: i64, last: Option<i64>, now: i64) -> QResult<bool> {
    let target = accounts::table.find(account_id);
    let taken = match last {
        Some(last) => diesel::update(target.filter(accounts::digest_sent_at.eq(last)))
            .set(accounts::digest_sent_at.eq(now))
            .execute(conn)?,
        None => diesel::update(target.filter(accounts::digest_sent_at.is_null()))
            .set(accounts::digest_sent_at.eq(now))
            .execute(conn)?,
    };
    Ok(taken == 1)
}

/// A notification waiting for a digest: (id, workspace, kind, title, body, link, created).
pub type Held = (i64, Option<i64>, String, String, String, Option<String>, i64);

/// Takes the account's waiting notifications out of the digest queue, oldest first.
pub fn take_held(conn: &mut DbConn, account_id: i64) -> QResult<Vec<Held>> {
    let held: Vec<Held> = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::digest_pending.eq(true))
        .order(notifications::id)
        .select((
            notifications::id,
            notifications::workspace_id,
            notifications::kind,
            notifications::title,
            notifications::body,
            notifications::link,
            notifications::created_at,
        ))
        .load(conn)?;
    let ids: Vec<i64> = held.iter().map(|h| h.0).collect();
    diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
        .set(notifications::digest_pending.eq(false))
        .execute(conn)?;
    Ok(held)
}
