//! Last use and use counts, gathered in memory on every verification and written in one batch every
//! few seconds. A crash loses at most one flush window of usage data; it never loses a change of access.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::db::Database;
use crate::db::usage::{self, Batch};
use crate::domain::key_input::DAY;

#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<i64, Pending>>,
}

#[derive(Debug)]
struct Pending {
    secret_id: i64,
    secret_retiring: bool,
    count: i64,
    last_used_at: i64,
    ip: Option<String>,
    path: Option<String>,
    per_day: BTreeMap<i64, i64>,
}

impl UsageRecorder {
    /// Counts one use of `key_id` through the secret `secret_id` (`retiring`: the previous secret of
    /// a rotation overlap).
    pub fn record(
        &self,
        key_id: i64,
        (secret_id, retiring): (i64, bool),
        now: i64,
        ip: Option<&str>,
        path: Option<&str>,
    ) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending.entry(key_id).or_insert_with(|| Pending {
            secret_id,
            secret_retiring: retiring,
            count: 0,
            last_used_at: now,
            ip: None,
            path: None,
            per_day: BTreeMap::new(),
        });
        entry.count += 1;
        (entry.secret_id, entry.secret_retiring) = (secret_id, retiring);
        entry.last_used_at = entry.last_used_at.max(now);
        // Most uses repeat the last address and path: keep the strings then instead of reallocating.
        if entry.ip.as_deref() != ip {
            entry.ip = ip.map(str::to_owned);
        }
        let path = path.map(|p| p.char_indices().nth(500).map_or(p, |(end, _)| &p[..end]));
        if entry.path.as_deref() != path {
            entry.path = path.map(str::to_owned);
        }
        *entry.per_day.entry(now.div_euclid(DAY)).or_default() += 1;
    }

    fn take(&self) -> Vec<Batch> {
        let drained = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        drained
            .into_iter()
            .map(|(key_id, p)| Batch {
                key_id,
                secret_id: p.secret_id,
                secret_retiring: p.secret_retiring,
                count: p.count,
                last_used_at: p.last_used_at,
                ip: p.ip,
                path: p.path,
                per_day: p.per_day.into_iter().collect(),
            })
            .collect()
    }

    /// Writes everything gathered so far in one transaction; returns how many keys were written.
    /// On failure the batch is dropped and logged: usage is best-effort by design.
    pub fn flush(&self, db: &Database) -> crate::error::Result<usize> {
        let batches = self.take();
        if batches.is_empty() {
            return Ok(0);
        }
        let written = batches.len();
        db.write_counters(|c| usage::apply_all(c, &batches).map_err(crate::error::Error::from)).inspect_err(
            |e| tracing::warn!(error = %e, keys = written, "usage flush failed; this window's usage is lost"),
        )?;
        Ok(written)
    }
}
