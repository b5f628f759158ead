//! What orchestrators and Prometheus ask: is the database reachable, and the counters.

use crate::error::Result;
use crate::state::AppState;

/// Readiness: one round trip to the database.
pub fn ready(state: &AppState) -> Result<()> {
    state.db.ping()
}

/// The Prometheus text: verifications by endpoint and code, latency, cache, pool and change following.
pub fn metrics(state: &AppState) -> String {
    let cache = &state.verify_cache;
    let hits = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
    let misses = cache.misses.load(std::sync::atomic::Ordering::Relaxed);
    let pool = state.db.state();
    let mut body =
        state.metrics.render((hits, misses), (pool.connections, pool.idle_connections, state.config.db_pool_size));
    crate::metrics::render_changes(&mut body, state.db.changes());
    body
}
