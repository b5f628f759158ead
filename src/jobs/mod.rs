//! Background work that runs beside the server.

use std::time::Duration;

use crate::state::AppState;

/// How often gathered key usage is written to the database.
pub const USAGE_FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Writes gathered key usage every few seconds until the task is dropped.
pub async fn flush_usage_periodically(state: AppState) {
    let mut tick = tokio::time::interval(USAGE_FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush_usage(&state).await;
    }
}

/// One flush, on the blocking pool.
pub async fn flush_usage(state: &AppState) {
    let s = state.clone();
    let _ = tokio::task::spawn_blocking(move || s.usage.flush(&s.db)).await;
}

/// Picks up shared secrets changed by other instances (and gives new workspaces theirs) at the
/// verification cache's time to live, the bound on how long another instance's change goes unseen.
pub async fn reload_secrets_periodically(state: AppState) {
    let every = Duration::from_secs(u64::try_from(state.config.cache_ttl_secs.max(1)).unwrap_or(60));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || crate::services::shared_secret::ensure_all(&s)).await {
            Ok(Err(e)) => tracing::warn!(error = %e, "reloading shared secrets failed"),
            Err(e) => tracing::warn!(error = %e, "reloading shared secrets failed"),
            Ok(Ok(())) => {}
        }
    }
}
