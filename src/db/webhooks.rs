//! Webhooks and their deliveries: a delivery is queued in the same transaction as the notification it
//! carries, and the delivery job claims, sends and reschedules it.

use diesel::prelude::*;

use super::DbConn;
use super::schema::{webhook_deliveries, webhooks};

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub workspace_id: i64,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    pub created_at: i64,
    /// What the receiver understands: `keyward`, `slack` or `teams`.
    pub format: String,
}

pub fn list(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::workspace_id.eq(workspace_id))
        .order(webhooks::id)
        .select(Webhook::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, workspace_id: i64, id: i64) -> QResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::workspace_id.eq(workspace_id))
        .filter(webhooks::id.eq(id))
        .select(Webhook::as_select())
        .get_result(conn)
        .optional()
}

pub fn insert(
    conn: &mut DbConn,
    workspace_id: i64,
    (url, format): (&str, &str),
    description: &str,
    now: i64,
) -> QResult<()> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::workspace_id.eq(workspace_id),
            webhooks::url.eq(url),
            webhooks::format.eq(format),
            webhooks::description.eq(description),
            webhooks::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_enabled(conn: &mut DbConn, id: i64, enabled: bool) -> QResult<usize> {
    diesel::update(webhooks::table.find(id)).set(webhooks::enabled.eq(enabled)).execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// Queues `payload` for every enabled webhook of the workspace; returns how many.
pub fn enqueue(conn: &mut DbConn, workspace_id: i64, event: &str, payload: &str, now: i64) -> QResult<usize> {
    let targets: Vec<i64> = webhooks::table
        .filter(webhooks::workspace_id.eq(workspace_id))
        .filter(webhooks::enabled.eq(true))
        .select(webhooks::id)
        .load(conn)?;
    for webhook_id in &targets {
        enqueue_to(conn, *webhook_id, event, payload, now)?;
    }
    Ok(targets.len())
}

pub fn enqueue_to(conn: &mut DbConn, webhook_id: i64, event: &str, payload: &str, now: i64) -> QResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::event.eq(event),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// A delivery ready to send, with where to.
#[derive(Debug, Clone, Queryable)]
pub struct Due {
    pub id: i64,
    pub workspace_id: i64,
    pub url: String,
    pub format: String,
    pub event: String,
    pub payload: String,
    pub attempts: i64,
}

/// Pending deliveries whose time has come, oldest first.
pub fn due(conn: &mut DbConn, now: i64, limit: i64) -> QResult<Vec<Due>> {
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::id)
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhooks::workspace_id,
            webhooks::url,
            webhooks::format,
            webhook_deliveries::event,
            webhook_deliveries::payload,
            webhook_deliveries::attempts,
        ))
        .load(conn)
}

/// Takes a delivery for `lease_until`: false when another instance took it first.
pub fn claim(conn: &mut DbConn, id: i64, now: i64, lease_until: i64) -> QResult<bool> {
    let taken = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.le(now)),
    )
    .set(webhook_deliveries::next_attempt_at.eq(lease_until))
    .execute(conn)?;
    Ok(taken == 1)
}

pub fn delivered(conn: &mut DbConn, id: i64, attempts: i64, now: i64) -> QResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("delivered"),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::delivered_at.eq(now),
            webhook_deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a failed attempt: retried at `retry_at`, or given up on (`None`).
pub fn attempt_failed(conn: &mut DbConn, id: i64, attempts: i64, error: &str, retry_at: Option<i64>) -> QResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(if retry_at.is_some() { "pending" } else { "failed" }),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or(0)),
        ))
        .execute(conn)
        .map(drop)
}

/// A delivery as Settings lists it.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// The newest deliveries of the workspace's webhooks.
pub fn recent(conn: &mut DbConn, workspace_id: i64, limit: i64) -> QResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhooks::workspace_id.eq(workspace_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::event,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::last_error,
            webhook_deliveries::created_at,
        ))
        .load(conn)
}
