//! The test-key page: runs the verifier's own decision on a pasted key (or the current secret of a
//! key picked by id) with its trace on, so each check shows as passed or failed. Nothing is recorded
//! as a use. Also checks the catalogue: every URI rule parses, every role refers to this workspace's
//! permissions.

use crate::crypto::SecretString;
use crate::db::{audit, permissions};
use crate::domain::access::Want;
use crate::domain::uri::UriRule;
use crate::domain::{Invalid, policy};
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::verify::{self, Step, UseContext};
use crate::state::AppState;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TestForm {
    /// A pasted key; or empty with `key_id`.
    #[serde(default)]
    pub key: SecretString,
    #[serde(default)]
    pub key_id: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub permission: String,
    /// The address the key would be used from; empty: the tester's own.
    #[serde(default)]
    pub ip: String,
}

/// The decision and each check that led to it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: &'static str,
    pub valid: bool,
    pub reason: Option<String>,
    pub key_name: Option<String>,
    pub steps: Vec<Step>,
}

impl Outcome {
    /// The check that decided a refusal.
    pub fn failed(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.passed == Some(false))
    }
}

fn want(form: &TestForm) -> Result<Option<Want>> {
    let (permission, method, path) = (form.permission.trim(), form.method.trim(), form.path.trim());
    if !permission.is_empty() {
        return Ok(Some(Want::Permission(permission.to_owned())));
    }
    match (method.is_empty(), path.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => {
            let path = path.split(['?', '#']).next().unwrap_or("/");
            Ok(Some(Want::Request { method: method.to_uppercase(), path: path.to_owned() }))
        }
        _ => Err(Invalid::new("path", "Give both a method and a path, or a permission name.").into()),
    }
}

/// Runs the test. A key picked by id must be one the caller may view; its secret is opened on the
/// server and never shown. `client_ip` stands in when no address is given.
pub fn run(state: &AppState, caller: &Caller, form: &TestForm, client_ip: &str) -> Result<Outcome> {
    let want = want(form)?;
    let ip = if form.ip.trim().is_empty() { client_ip.to_owned() } else { form.ip.trim().to_owned() };
    if ip.parse::<std::net::IpAddr>().is_err() {
        return Err(Invalid::new("ip", "Give an IPv4 or IPv6 address, or leave it empty.").into());
    }
    let presented = if !form.key.expose().trim().is_empty() {
        SecretString::new(form.key.expose().trim().to_owned())
    } else {
        let id: i64 = form
            .key_id
            .trim()
            .parse()
            .map_err(|_| Error::from(Invalid::new("key", "Paste a key, or choose one of yours.")))?;
        picked_secret(state, caller, id)?
    };
    let path = match &want {
        Some(Want::Request { path, .. }) => Some(path.clone()),
        _ => None,
    };
    // Pinned to the caller's workspace: a key of another is "not found", and nothing of it is shown.
    let context = UseContext { ip: Some(ip), path, want, workspace: Some(caller.workspace_id) };
    let (verdict, steps) = verify::explain(state, presented.expose(), &context)?;
    // A pasted key is named only if the caller may see that key.
    let key_name = verdict
        .key
        .as_deref()
        .filter(|k| policy::may_view_key(caller.role, caller.is(k.profile.owner_id)))
        .map(|k| k.name.clone());
    Ok(Outcome { code: verdict.code.as_str(), valid: verdict.valid(), reason: verdict.reason.clone(), key_name, steps })
}

fn picked_secret(state: &AppState, caller: &Caller, id: i64) -> Result<SecretString> {
    let record = crate::services::keys::get(state, caller, id)?;
    let secret = crate::services::keys::open_current(state, record.id)?;
    let (now, event) = (state.now(), caller.event("key.tested").on("api_key", record.id, &record.name));
    state.db.write_counters(|c| Ok::<_, Error>(audit::record(c, now, &event)?))?;
    Ok(SecretString::new(secret.expose().to_owned()))
}

/// What the catalogue check found.
#[derive(Debug, Clone, Default)]
pub struct CatalogueReport {
    pub rules: usize,
    pub problems: Vec<String>,
}

pub fn check_catalogue(state: &AppState, caller: &Caller) -> Result<CatalogueReport> {
    let ws = caller.workspace_id;
    let (rules, foreign) = state.db.read(|c| {
        Ok::<_, diesel::result::Error>((
            permissions::stored_rules(c, ws)?,
            permissions::foreign_role_permissions(c, ws)?,
        ))
    })?;
    let mut problems: Vec<String> = rules
        .iter()
        .filter_map(|(name, method, pattern)| {
            UriRule::parse(method, pattern)
                .err()
                .map(|e| format!("{name}: the rule “{method} {pattern}” does not parse: {e}"))
        })
        .collect();
    problems.extend(
        foreign
            .iter()
            .map(|(role, id)| format!("role {role} refers to permission #{id}, which is not in this workspace")),
    );
    Ok(CatalogueReport { rules: rules.len(), problems })
}
