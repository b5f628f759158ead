//! In-app notifications to one account.

use diesel::prelude::*;

use super::DbConn;
use super::schema::notifications;

#[derive(Debug)]
pub struct NewNotification<'a> {
    pub workspace_id: i64,
    pub account_id: i64,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
}

/// Stores a notification (and queues it for the workspace's webhooks); returns its id.
pub fn insert(conn: &mut DbConn, n: &NewNotification<'_>, now: i64) -> Result<i64, diesel::result::Error> {
    insert_with(conn, n, None, now)
}

fn insert_with(
    conn: &mut DbConn,
    n: &NewNotification<'_>,
    dedupe_key: Option<&str>,
    now: i64,
) -> Result<i64, diesel::result::Error> {
    let id = diesel::insert_into(notifications::table)
        .values((
            notifications::workspace_id.eq(n.workspace_id),
            notifications::account_id.eq(n.account_id),
            notifications::kind.eq(n.kind),
            notifications::title.eq(n.title),
            notifications::body.eq(n.body),
            notifications::link.eq(n.link),
            notifications::dedupe_key.eq(dedupe_key),
            notifications::created_at.eq(now),
        ))
        .returning(notifications::id)
        .get_result(conn)?;
    // The same event goes to the workspace's webhooks, queued in this transaction.
    let email: String =
        super::schema::accounts::table.find(n.account_id).select(super::schema::accounts::email).get_result(conn)?;
    let payload = serde_json::json!({
        "event": n.kind,
        "workspace_id": n.workspace_id,
        "account": email,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": crate::clock::format_rfc3339(now),
    });
    super::webhooks::enqueue(conn, n.workspace_id, n.kind, &payload.to_string(), now)?;
    Ok(id)
}

/// Titles of an account's unread notifications, newest first.
pub fn unread_titles(conn: &mut DbConn, account_id: i64) -> Result<Vec<String>, diesel::result::Error> {
    notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::read_at.is_null())
        .order(notifications::id.desc())
        .select(notifications::title)
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// An account's newest notifications in a workspace.
pub fn for_account(
    conn: &mut DbConn,
    workspace_id: i64,
    account_id: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, diesel::result::Error> {
    notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::workspace_id.eq(workspace_id))
        .order(notifications::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Marks an account's notifications read: one (`Some(id)`) or all. Returns how many were theirs to mark
/// (a read one included: marking it again is no error) and how many changed.
pub fn mark_read(
    conn: &mut DbConn,
    account_id: i64,
    id: Option<i64>,
    now: i64,
) -> Result<(usize, usize), diesel::result::Error> {
    let mine = notifications::table.filter(notifications::account_id.eq(account_id)).into_boxed();
    let ids: Vec<i64> = match id {
        Some(id) => mine.filter(notifications::id.eq(id)).select(notifications::id).load(conn)?,
        None => mine.filter(notifications::read_at.is_null()).select(notifications::id).load(conn)?,
    };
    let changed = diesel::update(
        notifications::table.filter(notifications::id.eq_any(&ids)).filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(now))
    .execute(conn)?;
    Ok((ids.len(), changed))
}

/// How many notifications an account has not read, in a workspace.
pub fn unread_count(conn: &mut DbConn, workspace_id: i64, account_id: i64) -> Result<i64, diesel::result::Error> {
    notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::workspace_id.eq(workspace_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// Whether the account already has the notification identified by `dedupe_key` (sent exactly once).
pub fn already_sent(conn: &mut DbConn, account_id: i64, dedupe_key: &str) -> Result<bool, diesel::result::Error> {
    diesel::select(diesel::dsl::exists(
        notifications::table
            .filter(notifications::account_id.eq(account_id))
            .filter(notifications::dedupe_key.eq(dedupe_key)),
    ))
    .get_result(conn)
}

/// Stores a notification that must be sent only once per account and `dedupe_key`; its id, or `None`
/// when it was sent before.
pub fn insert_once(
    conn: &mut DbConn,
    n: &NewNotification<'_>,
    dedupe_key: &str,
    now: i64,
) -> Result<Option<i64>, diesel::result::Error> {
    if already_sent(conn, n.account_id, dedupe_key)? {
        return Ok(None);
    }
    insert_with(conn, n, Some(dedupe_key), now).map(Some)
}
