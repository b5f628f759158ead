//! Per-client-address limit on failed sign-ins, kept in memory (a restart forgets it; the per-account
//! delay and lock, which are stored, still hold).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

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
}
