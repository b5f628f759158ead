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
