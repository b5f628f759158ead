//! The append-only audit log. `record` runs inside the caller's transaction, so an event is stored
//! if and only if the change it describes is.

use diesel::prelude::*;

use super::DbConn;
use super::schema::audit_events;
use crate::domain::audit::{Actor, Event, HashedContent, chain_hash};

pub fn record(conn: &mut DbConn, now: i64, event: &Event) -> Result<(), diesel::result::Error> {
    record_all(conn, now, std::slice::from_ref(event))
}

/// Appends events in order, reading the chain's end once: a bulk change records its many events
/// without two extra round trips each.
pub fn record_all(conn: &mut DbConn, now: i64, events: &[Event]) -> Result<(), diesel::result::Error> {
    if events.is_empty() {
        return Ok(());
    }
    if let DbConn::Postgres(_) = conn {
        // Serialises appends across instances so the chain has one order.
        diesel::sql_query("SELECT pg_advisory_xact_lock(7243190002)").execute(conn)?;
    }
    let mut prev: Option<Vec<u8>> =
        audit_events::table.order(audit_events::id.desc()).select(audit_events::hash).first(conn).optional()?;
    for event in events {
        prev = Some(append(conn, now, event, prev.as_deref())?);
    }
    Ok(())
}

/// Inserts one event after `prev`; returns its hash.
fn append(conn: &mut DbConn, now: i64, event: &Event, prev: Option<&[u8]>) -> Result<Vec<u8>, diesel::result::Error> {
    let (actor_account_id, actor_key_id) = match &event.actor {
        Actor::Account { id, .. } => (Some(*id), None),
        Actor::Key { id, .. } => (None, Some(*id)),
        Actor::System(_) | Actor::Anonymous(_) => (None, None),
    };
    let actor_label = event.actor.label();
    let before = event.before.as_ref().map(ToString::to_string);
    let after = event.after.as_ref().map(ToString::to_string);
    let content = HashedContent {
        workspace_id: event.workspace_id,
        occurred_at: now,
        actor_account_id,
        actor_key_id,
        actor_label: &actor_label,
        source_ip: event.source_ip.as_deref(),
        action: event.action,
        target_type: event.target.as_ref().map(|t| t.kind),
        target_id: event.target.as_ref().map(|t| t.id),
        target_label: event.target.as_ref().map(|t| t.label.as_str()),
        before_json: before.as_deref(),
        after_json: after.as_deref(),
    };
    let hash = chain_hash(prev, &content);
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::workspace_id.eq(content.workspace_id),
            audit_events::occurred_at.eq(now),
            audit_events::actor_account_id.eq(actor_account_id),
            audit_events::actor_key_id.eq(actor_key_id),
            audit_events::actor_label.eq(&actor_label),
            audit_events::source_ip.eq(content.source_ip),
            audit_events::action.eq(content.action),
            audit_events::target_type.eq(content.target_type),
            audit_events::target_id.eq(content.target_id),
            audit_events::target_label.eq(content.target_label),
            audit_events::before_json.eq(content.before_json),
            audit_events::after_json.eq(content.after_json),
            audit_events::prev_hash.eq(prev),
            audit_events::hash.eq(&hash),
        ))
        .execute(conn)?;
    Ok(hash)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Recent {
    pub occurred_at: i64,
    pub actor_label: String,
    pub action: String,
    pub target_label: Option<String>,
}

/// The newest events of a workspace, newest first.
pub fn recent(conn: &mut DbConn, workspace_id: i64, limit: i64) -> Result<Vec<Recent>, diesel::result::Error> {
    audit_events::table
        .filter(audit_events::workspace_id.eq(workspace_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(Recent::as_select())
        .load(conn)
}

/// The newest events about one target, newest first.
pub fn for_target(
    conn: &mut DbConn,
    workspace_id: i64,
    kind: &str,
    id: i64,
    limit: i64,
) -> Result<Vec<Recent>, diesel::result::Error> {
    audit_events::table
        .filter(audit_events::workspace_id.eq(workspace_id))
        .filter(audit_events::target_type.eq(kind))
        .filter(audit_events::target_id.eq(id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(Recent::as_select())
        .load(conn)
}

/// A stored event as the API and the audit page show it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: i64,
    pub occurred_at: i64,
    pub actor_label: String,
    pub actor_account_id: Option<i64>,
    pub actor_key_id: Option<i64>,
    pub source_ip: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub target_label: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

diesel::define_sql_function! {
    /// Lower-cases text (SQLite and PostgreSQL alike), for case-insensitive filters.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// What the audit page and its CSV export filter on; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Part of the actor's label (an email or a key's name), any case.
    pub actor: Option<String>,
    /// An action, or an action prefix ending in `.` (`key.` is every key event).
    pub action: Option<String>,
    /// Part of the target's label, any case.
    pub target: Option<String>,
    /// Occurred at or after / before these Unix times.
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// Part of the actor, action or target, any case.
    pub q: Option<String>,
}

fn contains(text: &str) -> String {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// A workspace's events matching `filter`, newest first, older than `before` (an event id) when given.
pub fn filtered(
    conn: &mut DbConn,
    workspace_id: i64,
    filter: &EventFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, diesel::result::Error> {
    let mut query = audit_events::table
        .filter(audit_events::workspace_id.eq(workspace_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(lower(audit_events::actor_label).like(contains(actor)).escape('\\'));
    }
    if let Some(action) = &filter.action {
        query = match action.strip_suffix('.') {
            Some(prefix) => {
                query.filter(audit_events::action.like(format!("{}.%", prefix.replace('_', "\\_"))).escape('\\'))
            }
            None => query.filter(audit_events::action.eq(action.clone())),
        };
    }
    if let Some(target) = &filter.target {
        query = query.filter(lower(audit_events::target_label.assume_not_null()).like(contains(target)).escape('\\'));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    if let Some(q) = &filter.q {
        let pattern = contains(q);
        query = query.filter(
            lower(audit_events::actor_label)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(audit_events::action).like(pattern.clone()).escape('\\'))
                .or(lower(audit_events::target_label.assume_not_null()).like(pattern).escape('\\')),
        );
    }
    query.load(conn)
}

/// The actions recorded in a workspace, for the filter's choices.
pub fn actions(conn: &mut DbConn, workspace_id: i64) -> Result<Vec<String>, diesel::result::Error> {
    audit_events::table
        .filter(audit_events::workspace_id.eq(workspace_id))
        .select(audit_events::action)
        .distinct()
        .order(audit_events::action.asc())
        .load(conn)
}

/// Every stored column of an event: what the chain check recomputes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct ChainRow {
    pub id: i64,
    pub workspace_id: Option<i64>,
    pub occurred_at: i64,
    pub actor_account_id: Option<i64>,
    pub actor_key_id: Option<i64>,
    pub actor_label: String,
    pub source_ip: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub target_label: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

impl ChainRow {
    pub fn content(&self) -> HashedContent<'_> {
        HashedContent {
            workspace_id: self.workspace_id,
            occurred_at: self.occurred_at,
            actor_account_id: self.actor_account_id,
            actor_key_id: self.actor_key_id,
            actor_label: &self.actor_label,
            source_ip: self.source_ip.as_deref(),
            action: &self.action,
            target_type: self.target_type.as_deref(),
            target_id: self.target_id,
            target_label: self.target_label.as_deref(),
            before_json: self.before_json.as_deref(),
            after_json: self.after_json.as_deref(),
        }
    }
}

/// The whole chain (every workspace's events: there is one chain), in order, `limit` after `after_id`.
pub fn chain_after(conn: &mut DbConn, after_id: i64, limit: i64) -> Result<Vec<ChainRow>, diesel::result::Error> {
    audit_events::table
        .filter(audit_events::id.gt(after_id))
        .order(audit_events::id.asc())
        .limit(limit)
        .select(ChainRow::as_select())
        .load(conn)
}
