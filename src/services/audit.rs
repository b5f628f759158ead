//! Reading the audit log: the filtered list, its CSV export, and the check of the hash chain that
//! makes tampering evident. Administrators and Auditors read all of their workspace's events.

use crate::db::audit::{self, ChainRow, EventFilter};
pub use crate::db::audit::{EventRow, Recent};
use crate::domain::Invalid;
use crate::domain::audit::chain_hash;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::state::AppState;

/// Events per page.
pub const PAGE: i64 = 100;
/// The most rows one CSV export holds.
pub const EXPORT_LIMIT: i64 = 100_000;

fn must_read(caller: &Caller) -> Result<()> {
    if caller.role.can_read_all() { Ok(()) } else { Err(Error::Forbidden) }
}

/// A page of events, newest first, and the cursor for the next (older) page.
pub fn page(
    state: &AppState,
    caller: &Caller,
    filter: &EventFilter,
    before: Option<i64>,
) -> Result<(Vec<EventRow>, Option<i64>)> {
    must_read(caller)?;
    let ws = caller.workspace_id;
    let mut rows = state.db.read(|c| audit::filtered(c, ws, filter, before, PAGE + 1))?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE;
    rows.truncate(usize::try_from(PAGE).unwrap_or(100));
    let next = more.then(|| rows.last().map(|r| r.id)).flatten();
    Ok((rows, next))
}

pub fn actions(state: &AppState, caller: &Caller) -> Result<Vec<String>> {
    must_read(caller)?;
    let ws = caller.workspace_id;
    state.db.read(|c| audit::actions(c, ws))
}

/// Every matching event (up to `EXPORT_LIMIT`) as CSV, newest first.
pub fn export_csv(state: &AppState, caller: &Caller, filter: &EventFilter) -> Result<Vec<u8>> {
    must_read(caller)?;
    let ws = caller.workspace_id;
    let rows = state.db.read(|c| audit::filtered(c, ws, filter, None, EXPORT_LIMIT))?;
    let mut out = crate::services::sheet::Sheet::new(&[
        "id",
        "time",
        "actor",
        "actor_account_id",
        "actor_key_id",
        "source_ip",
        "action",
        "target_type",
        "target_id",
        "target",
        "before",
        "after",
    ])?;
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    for r in rows {
        out.row([
            r.id.to_string(),
            crate::clock::format_rfc3339(r.occurred_at),
            r.actor_label,
            number(r.actor_account_id),
            number(r.actor_key_id),
            text(&r.source_ip),
            r.action,
            text(&r.target_type),
            number(r.target_id),
            text(&r.target_label),
            text(&r.before_json),
            text(&r.after_json),
        ])?;
    }
    out.finish()
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: u64,
    pub broken: Option<BrokenLink>,
}

/// The first event whose stored hash does not follow from its content and its predecessor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub id: i64,
    pub occurred_at: i64,
    /// Only for the caller's own workspace's events.
    pub action: Option<String>,
    pub reason: &'static str,
}

/// Recomputes every event's hash from its stored content and its predecessor's hash, oldest first,
/// and reports the first event where they disagree: an edited, inserted or deleted row breaks there.
pub fn verify_chain(state: &AppState, caller: &Caller) -> Result<ChainReport> {
    must_read(caller)?;
    let mut checked = 0_u64;
    let mut after = 0_i64;
    let mut prev: Option<Vec<u8>> = None;
    loop {
        let rows = state.db.read(|c| audit::chain_after(c, after, 2_000))?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            if let Some(reason) = broken(prev.as_deref(), row) {
                let action = (row.workspace_id == Some(caller.workspace_id)).then(|| row.action.clone());
                return Ok(ChainReport {
                    checked,
                    broken: Some(BrokenLink { id: row.id, occurred_at: row.occurred_at, action, reason }),
                });
            }
            prev = Some(row.hash.clone());
            checked += 1;
        }
    }
    Ok(ChainReport { checked, broken: None })
}

fn broken(prev: Option<&[u8]>, row: &ChainRow) -> Option<&'static str> {
    if row.prev_hash.as_deref() != prev {
        return Some("it does not point at the event before it (an event was removed, inserted or reordered)");
    }
    if chain_hash(prev, &row.content()) != row.hash {
        return Some("its content no longer matches its hash (the row was edited)");
    }
    None
}

/// The page's filter as typed: dates are `YYYY-MM-DD`, `to` inclusive.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct FilterForm {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
}

impl FilterForm {
    pub fn parse(&self) -> Result<EventFilter> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let day = |field: &'static str, s: &str| -> Result<Option<i64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            crate::domain::key_input::parse_date(s)
                .map(Some)
                .ok_or_else(|| Invalid::new(field, "Give the date as YYYY-MM-DD.").into())
        };
        let from = day("from", &self.from)?;
        let until = day("to", &self.to)?.map(|d| d + crate::domain::key_input::DAY);
        if let (Some(from), Some(until)) = (from, until)
            && until <= from
        {
            return Err(Invalid::new("to", "The end date is before the start date.").into());
        }
        Ok(EventFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            from,
            until,
            q: text(&self.q),
        })
    }
}

/// Up to `limit` events before the cursor, newest first, unfiltered: the management API's page.
pub fn events(state: &AppState, caller: &Caller, before: Option<i64>, limit: i64) -> Result<Vec<EventRow>> {
    must_read(caller)?;
    let ws = caller.workspace_id;
    state.db.read(|c| audit::filtered(c, ws, &EventFilter::default(), before, limit))
}

/// The audit page: a page of events when the filter is readable, the cursor for the next, and the
/// actions the filter offers.
pub fn view(
    state: &AppState,
    caller: &Caller,
    filter: Option<&EventFilter>,
    before: Option<i64>,
) -> Result<(Vec<EventRow>, Option<i64>, Vec<String>)> {
    let (rows, next) = match filter {
        Some(filter) => page(state, caller, filter, before)?,
        None => (Vec::new(), None),
    };
    Ok((rows, next, actions(state, caller)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_dates_inclusively_and_refuse_nonsense() {
        let form = FilterForm { from: "2026-01-01".into(), to: "2026-01-01".into(), ..FilterForm::default() };
        let filter = form.parse().ok().unwrap_or_default();
        assert_eq!(filter.until.zip(filter.from).map(|(u, f)| u - f), Some(86_400));
        assert!(FilterForm { from: "yesterday".into(), ..FilterForm::default() }.parse().is_err());
        assert!(
            FilterForm { from: "2026-02-01".into(), to: "2026-01-01".into(), ..FilterForm::default() }.parse().is_err()
        );
    }
}
