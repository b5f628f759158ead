//! Verifying a presented key: format and checksum (`decide::digest`), what is known about its digest
//! (`lookup`: the cache in `memory::verify_cache`, else the database), then the decision on those facts
//! (`decide::judge`: status, expiry, IP allow-list, access, rate limit), and for a valid use, its record.
//! The test-key page runs the same steps with a `trace` on; nothing is then recorded or counted.

mod decide;
mod lookup;
mod trace;

use std::sync::Arc;

use self::lookup::Reach;
use self::trace::Trace;
pub use self::trace::{CHECKS, Step};
use crate::domain::access::Want;
use crate::domain::verdict::Code;
use crate::error::Result;
use crate::memory::verify_cache::Cached;
pub use crate::memory::verify_cache::{KeyFacts, Profile};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: Code,
    /// Why a malformed key was refused, or a request denied.
    pub reason: Option<String>,
    pub key: Option<Arc<KeyFacts>>,
    /// With FORBIDDEN: the permissions that would allow the request.
    pub missing: Vec<String>,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.code == Code::Valid
    }

    pub(super) fn bare(code: Code, reason: Option<String>) -> Self {
        Verdict { code, reason, key: None, missing: Vec::new() }
    }
}

/// Where a use came from and what it wants to do.
#[derive(Debug, Clone, Default)]
pub struct UseContext {
    /// The address the key is used from (checked against the key's allow-list).
    pub ip: Option<String>,
    pub path: Option<String>,
    pub want: Option<Want>,
    /// The one workspace whose keys may pass (a pinned integration); a key of another is not found.
    pub workspace: Option<i64>,
}

/// Verifies a key, reading the database when the cache cannot answer. Blocking: call it off the
/// async workers (or try `verify_now` first).
pub fn verify(state: &AppState, presented: &str, context: &UseContext) -> Result<Verdict> {
    run(state, presented, context, Reach::Database, &mut Trace::default())
        .map(|v| v.unwrap_or_else(|| Verdict::bare(Code::NotFound, None)))
}

/// Verifies a key when that can be done on the calling async worker without waiting: from the caches
/// (a malformed key, or a hit), or on SQLite with a connection that is idle right now, where an indexed
/// lookup in a local file takes microseconds — less than handing it to the blocking pool and back, which
/// cost uncached verification a third of its time. `None`: go through the blocking pool (`verify`).
pub fn verify_now(state: &AppState, presented: &str, context: &UseContext) -> Result<Option<Verdict>> {
    run(state, presented, context, Reach::Idle, &mut Trace::default())
}

/// Verifies as a serving request does: on the async worker when that needs no waiting (`verify_now`);
/// otherwise, on PostgreSQL, with the lookups waiting at the same moment in one statement, and on SQLite on
/// the blocking pool.
pub async fn serve(state: &AppState, presented: String, context: UseContext) -> Result<Verdict> {
    if let Some(verdict) = verify_now(state, &presented, &context)? {
        return Ok(verdict);
    }
    if state.db.url().is_postgres() {
        let mut trace = Trace::default();
        let digest = match decide::digest(&presented, &mut trace) {
            Ok(digest) => digest,
            Err(verdict) => return Ok(verdict),
        };
        let found = lookup::queued(state, digest).await?;
        return Ok(conclude(state, found, &context, state.now(), &mut trace));
    }
    state.run(move |s| verify(s, &presented, &context)).await
}

/// Decides as the verifier does, and says which check passed or failed — the same steps, with the
/// trace on. Nothing is recorded: no use, no rate-limit count.
pub fn explain(state: &AppState, presented: &str, context: &UseContext) -> Result<(Verdict, Vec<Step>)> {
    let mut trace = Trace::on();
    let verdict = run(state, presented, context, Reach::Database, &mut trace)?
        .unwrap_or_else(|| Verdict::bare(Code::NotFound, None));
    Ok((verdict, trace.finish()))
}

fn run(
    state: &AppState,
    presented: &str,
    context: &UseContext,
    reach: Reach,
    trace: &mut Trace,
) -> Result<Option<Verdict>> {
    let now = state.now();
    let digest = match decide::digest(presented, trace) {
        Ok(digest) => digest,
        Err(verdict) => return Ok(Some(verdict)),
    };
    let Some(found) = lookup::resolve(state, digest, now, reach)? else { return Ok(None) };
    Ok(Some(conclude(state, found, context, now, trace)))
}

/// The decision on what is known about a digest; a valid use is recorded (unless tracing).
fn conclude(state: &AppState, found: Cached, context: &UseContext, now: i64, trace: &mut Trace) -> Verdict {
    let facts = match found {
        Cached::Missing => return decide::unknown(trace),
        Cached::Found(facts) => facts,
    };
    let cache = &state.verify_cache;
    let counting = !trace.on;
    let admit = |key_id, rate| {
        if counting { cache.admit(key_id, rate, now) } else { cache.peek(key_id, rate, now) < rate.limit }
    };
    let verdict = decide::judge(facts, context, now, admit, trace);
    if verdict.valid()
        && counting
        && let Some(key) = &verdict.key
    {
        let secret = (key.secret_id, key.found.secret_retires_at.is_some());
        state.usage.record(key.key_id, secret, now, context.ip.as_deref(), context.path.as_deref());
    }
    verdict
}
