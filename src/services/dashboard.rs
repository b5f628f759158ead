//! The dashboard's read model: what is in the workspace at a glance.

pub use crate::db::dashboard::{Counts, FirstSteps};
use crate::db::{audit, dashboard};
use crate::domain::key_input::DAY;
use crate::error::Result;
use crate::services::Caller;
use crate::services::directory::{self, UserFilter};
use crate::services::policies::{self, Policies};
use crate::state::AppState;

/// The dashboard's "expiring soon" window.
const EXPIRING_DAYS: i64 = 30;

#[derive(Debug)]
pub struct Overview {
    pub counts: Counts,
    /// The latest audit events (readers only).
    pub recent: Vec<audit::Recent>,
    pub policies: Policies,
    /// People holding a high-risk permission (readers only).
    pub high_risk_people: Option<usize>,
    /// The first-run checklist (Administrators only, until every step is done).
    pub first_steps: Option<FirstSteps>,
}

impl FirstSteps {
    pub fn done(&self) -> bool {
        self.permissions && self.grants && self.keys && self.used
    }
}

/// A reader sees the whole workspace; a Member counts only their own keys, as the keys page shows them.
pub fn overview(state: &AppState, caller: &Caller) -> Result<Overview> {
    let (workspace, now, reader) = (caller.workspace_id, state.now(), caller.role.can_read_all());
    let owner = if reader { None } else { caller.account_id };
    let policies = policies::get(state, workspace)?;
    let windows = dashboard::Windows {
        expiring: EXPIRING_DAYS * DAY,
        rotation: policies.rotation_days * DAY,
        unused: policies.stale_days * DAY,
    };
    let admin = caller.role.can_administer();
    let (counts, recent, first_steps) = state.db.read(|c| {
        let counts = dashboard::counts(c, workspace, owner, now, windows)?;
        let recent = if reader { audit::recent(c, workspace, 10)? } else { Vec::new() };
        let steps = if admin { Some(dashboard::first_steps(c, workspace)?).filter(|s| !s.done()) } else { None };
        Ok::<_, diesel::result::Error>((counts, recent, steps))
    })?;
    let high_risk_people = if reader {
        let filter = UserFilter { risk: "high".to_owned(), ..UserFilter::default() };
        Some(directory::list(state, caller, &filter)?.len())
    } else {
        None
    };
    Ok(Overview { counts, recent, policies, high_risk_people, first_steps })
}
