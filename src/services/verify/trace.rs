//! The checks a decision made, in order, for the test-key page. Off (and free) on the serving path: a
//! step's detail is a closure, called only when the trace is on.

/// One check of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub check: &'static str,
    /// `None`: not applicable to this key or request (or not reached).
    pub passed: Option<bool>,
    pub detail: String,
}

/// The order of the checks, as the test-key page lists them.
pub const CHECKS: [&str; 9] = [
    "Format",
    "Checksum",
    "Known key",
    "Status",
    "Expiry",
    "IP allow-list",
    "Permission or URI rule",
    "Owner's grants",
    "Rate limit",
];

#[derive(Debug, Default)]
pub struct Trace {
    pub(super) on: bool,
    steps: Vec<Step>,
}

impl Trace {
    pub(super) fn on() -> Self {
        Trace { on: true, steps: Vec::new() }
    }

    pub(super) fn step(&mut self, check: &'static str, passed: Option<bool>, detail: impl FnOnce() -> String) {
        if self.on {
            self.steps.push(Step { check, passed, detail: detail() });
        }
    }

    /// Every check in order, those the decision did not reach marked so.
    pub(super) fn finish(self) -> Vec<Step> {
        let mut steps = self.steps;
        for check in CHECKS {
            if !steps.iter().any(|s| s.check == check) {
                steps.push(Step { check, passed: None, detail: "not reached".to_owned() });
            }
        }
        steps
    }
}
