//! What every request handler and background task shares.

use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::{Keyring, PasswordService};
use crate::db::Database;
use crate::memory::throttle::IpThrottle;
use crate::memory::usage::UsageRecorder;

#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Database,
    pub clock: Clock,
    pub passwords: PasswordService,
    pub keyring: Arc<Keyring>,
    pub ip_throttle: Arc<IpThrottle>,
    pub unknown_emails: Arc<crate::memory::throttle::UnknownEmails>,
    /// One-time links asked for (password resets, email confirmations), per address and per client.
    pub link_requests: Arc<crate::memory::throttle::Requests>,
    /// Key uses since the last flush.
    pub usage: Arc<UsageRecorder>,
    /// Verified keys, unknown digests and rate-limit windows (see `memory::verify_cache`).
    pub verify_cache: Arc<crate::memory::verify_cache::VerifyCache>,
    /// Uncached lookups waiting to share a statement (PostgreSQL; see `memory::lookups`).
    pub lookups: Arc<crate::memory::lookups::Lookups>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// For webhook deliveries, made on first use (loading the system's CA store takes a while).
    pub(crate) http: Arc<std::sync::OnceLock<reqwest::Client>>,
    /// The shared secrets in force, unsealed, for signing responses.
    pub signing: Arc<crate::memory::signing::Signing>,
    /// Spreadsheets uploaded for import, between preview and apply.
    pub uploads: Arc<crate::memory::uploads::Uploads>,
    /// The one-time first-run link's token while no account exists.
    pub setup_token: Arc<Mutex<Option<String>>>,
    /// Where email goes out; `None`: email is off (see `services::email`).
    pub smtp: Option<Arc<crate::mail::Smtp>>,
    /// The single sign-on provider's discovery document, once fetched.
    pub sso: Arc<crate::memory::discovery::Discovery>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Leaves the async worker: runs a synchronous service (database work, password hashing done inline)
    /// on the blocking pool. The one way off the async workers (see ARCHITECTURE.md).
    pub async fn run<T, F>(&self, f: F) -> crate::error::Result<T>
    where
        F: FnOnce(&AppState) -> crate::error::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| crate::error::Error::Internal(format!("blocking task failed: {e}")))?
    }
}
