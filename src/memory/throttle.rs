//! Per-client-address limit on failed sign-ins, kept in memory (a restart forgets it; the per-account
//! delay and lock, which are stored, still hold).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::domain::lockout::{AttemptState, LockoutPolicy};

#[derive(Debug)]
pub struct IpThrottle {
    max_failures: u32,
    window_secs: i64,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl IpThrottle {
    pub fn new(max_failures: u32, window_secs: i64) -> Self {
        Self { max_failures, window_secs, windows: Mutex::default() }
    }

    /// Seconds until `ip` may try again, when it is over the limit.
    pub fn wait(&self, ip: IpAddr, now: i64) -> Option<i64> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.get(&ip).and_then(|&(start, failures)| {
            let left = start + self.window_secs - now;
            (failures >= self.max_failures && left > 0).then_some(left)
        })
    }

    pub fn record_failure(&self, ip: IpAddr, now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start + self.window_secs > now);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if entry.0 + self.window_secs <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

/// Failed sign-ins on emails that have no account, judged by the same lockout policy as an account's
/// stored ones: a known email and an unknown one get the same answers (no delay, then "wait N seconds",
/// then locked) at the same cost, so sign-in does not tell which emails exist. Kept in memory.
#[derive(Debug, Default)]
pub struct UnknownEmails {
    states: Mutex<HashMap<String, AttemptState>>,
}

impl UnknownEmails {
    pub fn state(&self, email: &str) -> AttemptState {
        self.states.lock().unwrap_or_else(|p| p.into_inner()).get(email).copied().unwrap_or_default()
    }

    /// Counts a failure; returns whether it locks, as it would lock an account.
    pub fn record_failure(&self, email: &str, now: i64, policy: LockoutPolicy) -> bool {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        if states.len() > 100_000 {
            states.retain(|_, s| s.locked_at.is_some() || s.last_failed_at.is_some_and(|t| now - t < 3600));
        }
        let state = states.entry(email.to_owned()).or_default();
        state.failures += 1;
        state.last_failed_at = Some(now);
        let locks = state.locked_at.is_none() && policy.locks_at(state.failures);
        if locks {
            state.locked_at = Some(now);
        }
        locks
    }
}

/// Requests counted per key (an address, a client) in fixed windows: how often one-time links may be
/// asked for. Kept in memory.
#[derive(Debug, Default)]
pub struct Requests {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl Requests {
    /// Counts a request for `key`; false when it is over `max` within the `window` seconds.
    pub fn allow(&self, key: &str, max: u32, window: i64, now: i64) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start + window > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + window <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= max
    }

    /// Seconds until `key` may ask again, when it is over `max`.
    pub fn wait(&self, key: &str, max: u32, window: i64, now: i64) -> Option<i64> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.get(key).and_then(|&(start, n)| (n >= max && start + window > now).then(|| start + window - now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_back_after_too_many_failures_until_the_window_ends() {
        let t = IpThrottle::new(3, 600);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(t.wait(ip, 0), None);
            t.record_failure(ip, 0);
        }
        assert_eq!(t.wait(ip, 100), Some(500));
        assert_eq!(t.wait(ip, 600), None);
        assert_eq!(t.wait([10, 0, 0, 2].into(), 100), None);
    }

    #[test]
    fn requests_are_counted_per_key_and_window() {
        let r = Requests::default();
        assert!(r.allow("a", 2, 60, 0) && r.allow("a", 2, 60, 1));
        assert_eq!(r.wait("a", 2, 60, 1), Some(59));
        assert!(!r.allow("a", 2, 60, 2), "the third in the window");
        assert!(r.allow("b", 2, 60, 2), "another key");
        assert!(r.allow("a", 2, 60, 60), "a new window");
    }
}
