//! Last use and use counts, gathered in memory on every verification and written in one batch every
//! few seconds. A crash loses at most one flush window of usage data; it never loses a change of access.

use std::collections::HashMap;
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
    /// Uses on the day of the window's first use, and on any other day (only a window across midnight):
    /// nothing to allocate per key for the common case.
    first_day: (i64, i64),
    other_days: Vec<(i64, i64)>,
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
        let day = now.div_euclid(DAY);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending.entry(key_id).or_insert_with(|| Pending {
            secret_id,
            secret_retiring: retiring,
            count: 0,
            last_used_at: now,
            ip: None,
            path: None,
            first_day: (day, 0),
            other_days: Vec::new(),
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
        if entry.first_day.0 == day {
            entry.first_day.1 += 1;
        } else {
            match entry.other_days.iter_mut().find(|(d, _)| *d == day) {
                Some((_, uses)) => *uses += 1,
                None => entry.other_days.push((day, 1)),
            }
        }
    }

    fn take(&self) -> Vec<Batch> {
        let drained = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            // The next window starts as large as this one was, so it does not rehash as it fills.
            let capacity = pending.len();
            std::mem::replace(&mut *pending, HashMap::with_capacity(capacity))
        };
        let mut batches: Vec<Batch> = drained
            .into_iter()
            .map(|(key_id, p)| Batch {
                key_id,
                secret_id: p.secret_id,
                secret_retiring: p.secret_retiring,
                count: p.count,
                last_used_at: p.last_used_at,
                ip: p.ip,
                path: p.path,
                per_day: std::iter::once(p.first_day).chain(p.other_days).collect(),
            })
            .collect();
        // In key order, the rows a flush writes are neighbours in every table it touches (all keyed by
        // key id first): each page is read and written once per flush instead of once per key, which at
        // 100k busy keys with a 1 MiB page cache was most of the flush's time.
        batches.sort_unstable_by_key(|b| b.key_id);
        batches
    }

    /// Writes everything gathered so far in one transaction; returns how many keys were written.
    /// On failure the batch is dropped and logged: usage is best-effort by design.
    pub fn flush(&self, db: &Database) -> crate::error::Result<usize> {
        let batches = self.take();
        if batches.is_empty() {
            return Ok(0);
        }
        let (written, started) = (batches.len(), std::time::Instant::now());
        db.write_counters(|c| usage::apply_all(c, &batches).map_err(crate::error::Error::from)).inspect_err(
            |e| tracing::warn!(error = %e, keys = written, "usage flush failed; this window's usage is lost"),
        )?;
        tracing::debug!(keys = written, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "usage flushed");
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_counted_per_day_across_midnight_and_back() {
        let recorder = UsageRecorder::default();
        let midnight = 20_000 * DAY;
        for now in [midnight - 2, midnight - 1, midnight + 1, midnight - 1, midnight + 3] {
            recorder.record(7, (70, false), now, Some("10.0.0.1"), Some("/a"));
        }
        recorder.record(8, (80, true), midnight, None, None);
        let mut batches = recorder.take();
        batches.sort_by_key(|b| b.key_id);
        assert_eq!(batches.len(), 2);
        let (seven, eight) = (&batches[0], &batches[1]);
        assert_eq!((seven.count, seven.last_used_at), (5, midnight + 3));
        let mut days = seven.per_day.clone();
        days.sort_unstable();
        assert_eq!(days, vec![(19_999, 3), (20_000, 2)]);
        assert_eq!((eight.per_day.clone(), eight.secret_retiring, eight.ip.clone()), (vec![(20_000, 1)], true, None));
        assert!(recorder.take().is_empty(), "a window is taken once");
    }
}
