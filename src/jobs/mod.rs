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

/// One flush, on the blocking pool; then the memory the window held goes back to the system.
pub async fn flush_usage(state: &AppState) {
    let s = state.clone();
    let flushed = tokio::task::spawn_blocking(move || {
        if s.usage.flush(&s.db).is_ok_and(|written| written > 0) {
            crate::trim_malloc();
        }
    })
    .await;
    if let Err(e) = flushed {
        tracing::error!(error = %e, "usage flush task failed; this window's usage is lost");
    }
}

/// Runs `job` on the blocking pool every `every` (the first time after one period when `skip_first`)
/// until the task is dropped; a failure is logged and the next tick tries again.
async fn every<T>(
    state: AppState,
    every: Duration,
    skip_first: bool,
    name: &str,
    job: fn(&AppState) -> crate::error::Result<T>,
) where
    T: Send + 'static,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if skip_first {
        tick.tick().await;
    }
    loop {
        tick.tick().await;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || job(&s)).await {
            Ok(Err(e)) => tracing::warn!(error = %e, job = name, "background job failed"),
            Err(e) => tracing::warn!(error = %e, job = name, "background job failed"),
            Ok(Ok(_)) => {}
        }
    }
}

/// Picks up shared secrets changed by other instances (and gives new workspaces theirs): each second
/// in which a change named the signing secrets (here or in a notice from elsewhere, see `db::changes`;
/// creating, archiving or restoring a workspace names them too), and at the verification cache's time to
/// live in any case. Other changes — a key created, a grant — leave the secrets alone.
pub async fn reload_secrets_periodically(state: AppState) {
    let ttl = Duration::from_secs(u64::try_from(state.config.cache_ttl_secs.max(1)).unwrap_or(60));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut loaded_at) = (state.db.generation(), tokio::time::Instant::now());
    loop {
        tick.tick().await;
        let generation = state.db.generation();
        if crate::services::shared_secret::unchanged_since(&state, seen) && loaded_at.elapsed() < ttl {
            continue;
        }
        (seen, loaded_at) = (generation, tokio::time::Instant::now());
        let s = state.clone();
        match tokio::task::spawn_blocking(move || crate::services::shared_secret::ensure_all(&s)).await {
            Ok(Err(e)) => tracing::warn!(error = %e, job = "reload shared secrets", "background job failed"),
            Err(e) => tracing::warn!(error = %e, job = "reload shared secrets", "background job failed"),
            Ok(Ok(())) => {}
        }
    }
}

/// Sends expiry, rotation and overlap notices every `--reminders-every-secs` (default a minute) until
/// the task is dropped; never when that is 0.
pub async fn send_reminders_periodically(state: AppState) {
    if state.config.reminders_every_secs == 0 {
        return;
    }
    let period = Duration::from_secs(state.config.reminders_every_secs);
    every(state, period, false, "reminders", crate::services::reminders::run).await;
}

/// Sends due webhook deliveries every `--webhooks-every-secs` (default 5); never when that is 0.
pub async fn deliver_webhooks_periodically(state: AppState) {
    if state.config.webhooks_every_secs == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(state.config.webhooks_every_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = crate::services::webhooks::deliver_due(&state).await {
            tracing::warn!(error = %e, job = "webhooks", "background job failed");
        }
    }
}

/// Sends queued email and the daily digests every `--email-every-secs` (default 5) while email is on;
/// never when that is 0.
pub async fn send_email_periodically(state: AppState) {
    if state.config.email_every_secs == 0 || state.smtp.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(state.config.email_every_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.run(crate::services::email::send_digests).await {
            tracing::warn!(error = %e, job = "email digests", "background job failed");
        }
        if let Err(e) = crate::services::email::deliver_due(&state).await {
            tracing::warn!(error = %e, job = "email", "background job failed");
        }
    }
}
