//! The reminder job: finds keys crossing a reminder, expiry, rotation or overlap threshold and tells
//! their owners, each notice exactly once. Driven by the app's clock, so tests move time instead of
//! sleeping. Several instances may run it: on PostgreSQL one run at a time holds an advisory lock,
//! and every notice carries a dedupe key that the database keeps unique per account.

use diesel::RunQueryDsl as _;

use crate::clock::format_time;
use crate::db::notifications::NewNotification;
use crate::db::{DbConn, reminders};
use crate::domain::key_input::DAY;
use crate::error::{Error, Result};
use crate::services::policies;
use crate::state::AppState;

/// Expired keys and ended overlaps older than this are not announced (a first run on an old database
/// should not bury people in history).
const LOOK_BACK: i64 = 7 * DAY;

/// Notices sent by one run, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub expiring: usize,
    pub expired: usize,
    pub rotation: usize,
    pub overlap: usize,
}

impl Sent {
    pub fn total(&self) -> usize {
        self.expiring + self.expired + self.rotation + self.overlap
    }
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// Where the owner fixes an expiring key: its edit form, or its page for create/delete-only types.
fn fix_expiry_link(key: &reminders::KeyDue) -> String {
    if key.editable { format!("/keys/{}/edit", key.id) } else { format!("/keys/{}", key.id) }
}

/// One run over every workspace, at the app clock's now.
pub fn run(state: &AppState) -> Result<Sent> {
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    let workspaces = state.db.read(reminders::workspace_ids)?;
    let mut sent = Sent::default();
    for ws in workspaces {
        let in_ws = state.db.write_counters(|c| {
            if !claim(c)? {
                return Ok::<_, Error>(Sent::default());
            }
            run_in(c, &post, ws, now)
        })?;
        sent.expiring += in_ws.expiring;
        sent.expired += in_ws.expired;
        sent.rotation += in_ws.rotation;
        sent.overlap += in_ws.overlap;
    }
    if sent.total() > 0 {
        tracing::info!(notices = sent.total(), "reminders sent");
    }
    Ok(sent)
}

/// On PostgreSQL, only one instance runs at a time; the others skip this round.
fn claim(c: &mut DbConn) -> Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        claimed: bool,
    }
    if let DbConn::Postgres(_) = c {
        let row: Claimed =
            diesel::sql_query("SELECT pg_try_advisory_xact_lock(7243190003) AS claimed").get_result(c)?;
        return Ok(row.claimed);
    }
    Ok(true)
}

fn run_in(c: &mut DbConn, post: &crate::services::email::Post<'_>, ws: i64, now: i64) -> Result<Sent> {
    let policy = policies::load(c, ws)?;
    let mut sent = Sent::default();
    let notify = |c: &mut DbConn, owner: i64, kind: &str, title: &str, body: &str, link: &str, dedupe: &str| {
        let n = NewNotification { workspace_id: ws, account_id: owner, kind, title, body, link: Some(link) };
        crate::services::notifications::notify(c, post, &n, Some(dedupe), now)
    };

    // Expiry reminders: the most urgent threshold passed, once per threshold and expiry date.
    if let Some(&furthest) = policy.reminder_days.first() {
        for key in reminders::expiring(c, ws, now, now + furthest * DAY)? {
            let left = key.at - now;
            let Some(&threshold) = policy.reminder_days.iter().rev().find(|&&d| left <= d * DAY) else { continue };
            let days = (left + DAY - 1) / DAY;
            let title = format!("Key “{}” expires in {}", key.name, plural(days, "day"));
            let body = format!("It stops working on {}. Extend it or replace it before then.", format_time(key.at));
            let dedupe = format!("expiring:{}:{}:{threshold}", key.id, key.at);
            if notify(c, key.owner_id, "key_expiring", &title, &body, &fix_expiry_link(&key), &dedupe)? {
                sent.expiring += 1;
            }
        }
    }
    for key in reminders::expiring(c, ws, now - LOOK_BACK, now)? {
        let title = format!("Key “{}” has expired", key.name);
        let body = format!("It stopped working on {}. Set a new expiry to use it again.", format_time(key.at));
        let dedupe = format!("expired:{}:{}", key.id, key.at);
        if notify(c, key.owner_id, "key_expired", &title, &body, &fix_expiry_link(&key), &dedupe)? {
            sent.expired += 1;
        }
    }
    for key in reminders::rotation_due(c, ws, now - policy.rotation_days * DAY, now)? {
        let age = (now - key.at) / DAY;
        let title = format!("Key “{}” is due for rotation", key.name);
        let body =
            format!("Its secret is {} old; the policy is {}.", plural(age, "day"), plural(policy.rotation_days, "day"));
        let link = if key.editable { format!("/keys/{}/rotate", key.id) } else { format!("/keys/{}", key.id) };
        let dedupe = format!("rotation:{}:{}", key.id, key.secret_id);
        if notify(c, key.owner_id, "rotation_due", &title, &body, &link, &dedupe)? {
            sent.rotation += 1;
        }
    }
    for key in reminders::overlaps_ended(c, ws, now - LOOK_BACK, now)? {
        let title = format!("The overlap of key “{}” has ended", key.name);
        let body = format!("Its previous secret stopped working on {}.", format_time(key.at));
        let dedupe = format!("overlap:{}", key.secret_id);
        if notify(c, key.owner_id, "overlap_ended", &title, &body, &format!("/keys/{}", key.id), &dedupe)? {
            sent.overlap += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_read_right() {
        assert_eq!(plural(1, "day"), "1 day");
        assert_eq!(plural(3, "day"), "3 days");
    }
}
