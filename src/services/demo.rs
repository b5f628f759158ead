//! `keyward demo`: a workspace with a handful of people and as many keys as asked for, so the console
//! has something to show and benchmarks something to chew on. Keys are created in batches of a
//! thousand per transaction through the same code path as the console.

use crate::db::{accounts, key_types, keys as key_db, roles, workspaces};
use crate::domain::audit::Actor;
use crate::domain::email::Email;
use crate::domain::key::PlainKey;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::accounts::Origin;
use crate::services::accounts::{Newcomer, enrol};
use crate::services::keys::{self, KeyForm};
use crate::state::AppState;

const PEOPLE: [(&str, &str, ConsoleRole); 5] = [
    ("grace@demo.keyward.test", "Grace Hopper", ConsoleRole::Administrator),
    ("ada@demo.keyward.test", "Ada Lovelace", ConsoleRole::Member),
    ("linus@demo.keyward.test", "Linus Torvalds", ConsoleRole::Member),
    ("barbara@demo.keyward.test", "Barbara Liskov", ConsoleRole::Member),
    ("ken@demo.keyward.test", "Ken Thompson", ConsoleRole::Auditor),
];

const PURPOSES: [&str; 8] = [
    "billing export",
    "device telemetry",
    "fleet dashboard",
    "firmware updates",
    "crm sync",
    "alerting",
    "backup job",
    "partner portal",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub accounts: usize,
    pub keys: usize,
}

/// Loads the demo people (once) and `key_count` more keys into the first workspace.
pub fn load(state: &AppState, key_count: usize) -> Result<Report> {
    load_with(state, key_count, |_| {})
}

/// As `load`, handing each active key's secret to `keep` (benchmarks need keys to present).
pub fn load_with(state: &AppState, key_count: usize, mut keep: impl FnMut(&PlainKey)) -> Result<Report> {
    let now = state.now();
    let (workspace, owners, created_accounts) = state.db.write(|c| {
        let workspace = match workspaces::first(c)? {
            Some(w) => w.id,
            None => workspaces::create(c, "Demo", now)?,
        };
        let mut owners = Vec::new();
        let mut created = 0;
        for (email, name, role) in PEOPLE {
            let email = Email::parse(email)?;
            let id = match accounts::find_by_email(c, &email)? {
                Some(a) => a.id,
                None => {
                    // Demo people cannot sign in until an operator sets a password for them.
                    let newcomer = Newcomer {
                        email: &email,
                        name,
                        password_hash: None,
                        workspace_id: workspace,
                        role,
                        super_admin: false,
                        permissions: &[],
                        email_unverified: false,
                        oidc_subject: None,
                    };
                    let id = enrol(c, &newcomer, now)?;
                    created += 1;
                    id
                }
            };
            if role != ConsoleRole::Auditor {
                owners.push(id);
            }
        }
        Ok::<_, Error>((workspace, owners, created))
    })?;
    let caller = Caller {
        workspace_id: workspace,
        account_id: None,
        role: ConsoleRole::Administrator,
        origin: Origin { actor: Actor::System("demo data"), ip: None },
    };
    state.db.write(|c| crate::services::permissions::seed_demo(c, &caller, now))?;
    let (types, readonly, existing) = state.db.read(|c| {
        let types: Vec<_> = key_types::list(c, workspace)?.into_iter().filter(|t| !t.one_per_account).collect();
        let readonly = roles::find_by_name(c, workspace, "READONLY")?.map(|r| r.id);
        let existing = key_db::count(c, workspace)?;
        Ok::<_, diesel::result::Error>((types, readonly, existing))
    })?;
    let start = usize::try_from(existing).unwrap_or(0);
    for chunk in (start..start + key_count).collect::<Vec<_>>().chunks(1_000) {
        state.db.write(|c| {
            for &i in chunk {
                let key_type = &types[i % types.len()];
                let purpose = PURPOSES[i % PURPOSES.len()];
                let form = KeyForm {
                    name: format!("demo key {i:06}"),
                    description: format!("{purpose} #{i}"),
                    key_type: key_type.id.to_string(),
                    identifier: key_type.id_field_label.as_ref().map(|_| format!("70B3D5{i:010X}")).unwrap_or_default(),
                    owner: owners[i % owners.len()].to_string(),
                    roles: readonly.filter(|_| i % 3 == 0).into_iter().collect(),
                    expiry: ["never", "30", "90", "365"][i % 4].to_owned(),
                    ..KeyForm::default()
                };
                let created = keys::create_in(c, state, &caller, &form)?;
                if i % 7 == 0 {
                    key_db::set_status(c, created.id, false, now)?;
                } else {
                    keep(&created.secret);
                }
            }
            Ok::<_, Error>(())
        })?;
    }
    Ok(Report { accounts: created_accounts, keys: key_count })
}
