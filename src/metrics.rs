//! Counters for `/metrics` (Prometheus text format): verifications by code, their latency, the
//! verification cache and the database pool. Lock-free counters; rendering reads them once.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::verdict::Code;

const CODES: [Code; 8] = Code::ALL;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Per code and endpoint (0: verify, 1: authorize).
    verifications: [[AtomicU64; 8]; 2],
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    /// Sum of latencies in nanoseconds.
    sum_nanos: AtomicU64,
    /// Emails sent, and attempts that failed (retried or given up), by this instance.
    emails: [AtomicU64; 2],
}

#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Verify,
    Authorize,
}

impl Metrics {
    pub fn observe(&self, endpoint: Endpoint, code: Code, elapsed: std::time::Duration) {
        let index = CODES.iter().position(|c| *c == code).unwrap_or(0);
        self.verifications[endpoint as usize][index].fetch_add(1, Ordering::Relaxed);
        // One counter per request: the bucket it falls in (rendering makes them cumulative).
        let secs = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn email_sent(&self, sent: usize, failed: usize) {
        self.emails[0].fetch_add(sent as u64, Ordering::Relaxed);
        self.emails[1].fetch_add(failed as u64, Ordering::Relaxed);
    }

    /// The exposition text; `cache` is (hits, misses), `pool` is (connections, idle, max).
    pub fn render(&self, cache: (u64, u64), pool: (u32, u32, u32)) -> String {
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP keyward_verifications_total Key verifications by endpoint and result code.\n");
        out.push_str("# TYPE keyward_verifications_total counter\n");
        for (endpoint, name) in [(0, "verify"), (1, "authorize")] {
            for (i, code) in CODES.iter().enumerate() {
                let n = load(&self.verifications[endpoint][i]);
                let _ =
                    writeln!(out, "keyward_verifications_total{{endpoint=\"{name}\",code=\"{}\"}} {n}", code.as_str());
            }
        }
        out.push_str("# HELP keyward_verify_duration_seconds Time to decide a verification, in the server.\n");
        out.push_str("# TYPE keyward_verify_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            cumulative += load(bucket);
            let _ = writeln!(out, "keyward_verify_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = load(&self.count);
        let _ = writeln!(out, "keyward_verify_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        #[expect(clippy::cast_precision_loss, reason = "a sum of nanoseconds shown in seconds")]
        let sum = load(&self.sum_nanos) as f64 / 1e9;
        let _ = writeln!(out, "keyward_verify_duration_seconds_sum {sum}");
        let _ = writeln!(out, "keyward_verify_duration_seconds_count {count}");
        out.push_str("# HELP keyward_verify_cache_total Verification cache lookups by outcome.\n");
        out.push_str("# TYPE keyward_verify_cache_total counter\n");
        let _ = writeln!(out, "keyward_verify_cache_total{{outcome=\"hit\"}} {}", cache.0);
        let _ = writeln!(out, "keyward_verify_cache_total{{outcome=\"miss\"}} {}", cache.1);
        out.push_str("# HELP keyward_db_pool_connections Database pool connections.\n");
        out.push_str("# TYPE keyward_db_pool_connections gauge\n");
        let _ = writeln!(out, "keyward_db_pool_connections{{state=\"open\"}} {}", pool.0);
        let _ = writeln!(out, "keyward_db_pool_connections{{state=\"idle\"}} {}", pool.1);
        let _ = writeln!(out, "keyward_db_pool_connections{{state=\"max\"}} {}", pool.2);
        out.push_str("# HELP keyward_emails_total Emails this instance sent, and attempts that failed.\n");
        out.push_str("# TYPE keyward_emails_total counter\n");
        let _ = writeln!(out, "keyward_emails_total{{outcome=\"sent\"}} {}", load(&self.emails[0]));
        let _ = writeln!(out, "keyward_emails_total{{outcome=\"failed\"}} {}", load(&self.emails[1]));
        out
    }
}

/// How changes made elsewhere reach this instance (`db::changes`).
pub fn render_changes(out: &mut String, changes: &crate::db::changes::Changes) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    out.push_str("# HELP keyward_change_notices_total Change notices received from other instances.\n");
    out.push_str("# TYPE keyward_change_notices_total counter\n");
    let _ = writeln!(out, "keyward_change_notices_total {}", load(&changes.notices));
    out.push_str("# HELP keyward_change_watcher_reconnects_total Times the change watcher had to reconnect.\n");
    out.push_str("# TYPE keyward_change_watcher_reconnects_total counter\n");
    let _ = writeln!(out, "keyward_change_watcher_reconnects_total {}", load(&changes.reconnects));
    out.push_str("# HELP keyward_cache_drops_total Times every cached entry was made stale at once (a lost notice, a reconnect).\n");
    out.push_str("# TYPE keyward_cache_drops_total counter\n");
    let _ = writeln!(out, "keyward_cache_drops_total {}", load(&changes.drops));
    out.push_str("# HELP keyward_cache_trusted 1 while changes made elsewhere are followed and the cache answers.\n");
    out.push_str("# TYPE keyward_cache_trusted gauge\n");
    let _ = writeln!(out, "keyward_cache_trusted {}", u8::from(changes.trusted()));
}
