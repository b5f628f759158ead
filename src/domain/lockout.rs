//! How repeated sign-in failures slow down and finally lock an account.

/// Failures before any delay applies.
const FREE_FAILURES: i64 = 3;
/// Longest wait between attempts, in seconds.
const MAX_DELAY_SECS: i64 = 300;
/// The spec's upper bound for the lock threshold.
pub const MAX_THRESHOLD: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account until an administrator unlocks it.
    threshold: i64,
}

impl LockoutPolicy {
    /// `threshold` is clamped to 1..=100.
    pub fn new(threshold: u32) -> Self {
        Self { threshold: i64::from(threshold.clamp(1, MAX_THRESHOLD)) }
    }

    pub fn threshold(self) -> i64 {
        self.threshold
    }

    /// Seconds that must pass after the last failure before another attempt is checked:
    /// none for the first three failures, then 1, 2, 4, … up to five minutes.
    pub fn delay_after(self, failures: i64) -> i64 {
        if failures < FREE_FAILURES {
            return 0;
        }
        let exponent = u32::try_from(failures - FREE_FAILURES).unwrap_or(u32::MAX).min(16);
        (1_i64 << exponent).min(MAX_DELAY_SECS)
    }

    /// Whether an attempt may be checked now.
    pub fn gate(self, state: &AttemptState, now: i64) -> Gate {
        if state.locked_at.is_some() {
            return Gate::Locked;
        }
        let wait = state.last_failed_at.map_or(0, |last| last + self.delay_after(state.failures) - now);
        if wait > 0 { Gate::Wait(wait) } else { Gate::Open }
    }

    /// Whether the failure just recorded (bringing the count to `failures`) locks the account.
    pub fn locks_at(self, failures: i64) -> bool {
        failures >= self.threshold
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptState {
    pub failures: i64,
    pub last_failed_at: Option<i64>,
    pub locked_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Seconds to wait.
    Wait(i64),
    Locked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_and_is_capped() {
        let p = LockoutPolicy::new(10);
        assert_eq!((0..4).map(|n| p.delay_after(n)).collect::<Vec<_>>(), [0, 0, 0, 1]);
        assert_eq!(p.delay_after(5), 4);
        assert_eq!(p.delay_after(1_000), MAX_DELAY_SECS);
        assert_eq!(p.delay_after(i64::MAX), MAX_DELAY_SECS);
    }

    #[test]
    fn the_gate_opens_once_the_delay_has_passed() {
        let p = LockoutPolicy::new(10);
        let state = AttemptState { failures: 5, last_failed_at: Some(100), locked_at: None };
        assert_eq!(p.gate(&state, 101), Gate::Wait(3));
        assert_eq!(p.gate(&state, 104), Gate::Open);
        assert_eq!(p.gate(&AttemptState { locked_at: Some(1), ..state }, 10_000), Gate::Locked);
    }

    #[test]
    fn the_threshold_is_bounded() {
        assert_eq!(LockoutPolicy::new(0).threshold(), 1);
        assert_eq!(LockoutPolicy::new(5_000).threshold(), 100);
        assert!(LockoutPolicy::new(3).locks_at(3));
        assert!(!LockoutPolicy::new(3).locks_at(2));
    }
}
