//! Starter catalogues: ready sets of permissions (and roles) for the integrations keyward usually guards,
//! offered on the empty Permissions page and by `keyward catalogue add NAME`. They add nothing else: no
//! people, no keys. Applying one twice changes nothing; what the workspace already has by name is kept.

use crate::db::{audit, key_types};
use crate::error::{Error, Result};
use crate::services::permissions::{self, PermissionForm};
use crate::services::{Caller, roles};
use crate::state::AppState;

/// One permission of a starter: `name`, label, high risk, writes, `METHOD /path` rules.
type Perm = (&'static str, &'static str, bool, bool, &'static [&'static str]);

#[derive(Debug)]
pub struct Starter {
    /// What `keyward catalogue add` and the form name it by.
    pub code: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    permissions: &'static [Perm],
    /// Roles: name, description, the permissions (by name) they hold.
    roles: &'static [(&'static str, &'static str, &'static [&'static str])],
    /// Key types (by name, when the workspace has them) and the only roles their keys may hold.
    type_roles: &'static [(&'static str, &'static [&'static str])],
}

impl Starter {
    pub fn permission_labels(&self) -> Vec<&'static str> {
        self.permissions.iter().map(|p| p.1).collect()
    }

    pub fn role_names(&self) -> Vec<&'static str> {
        self.roles.iter().map(|r| r.0).collect()
    }
}

const DOWNLINKS: &[&str] =
    &["* /integration/device/sendmsg", "* /integration/device/sendmcastmsg", "* /integration/device/clearmsgs"];
const ONBOARDING: &[&str] = &[
    "* /integration/device/status",
    "* /integration/device/register",
    "* /integration/device/activate",
    "* /integration/device/activateOne",
    "* /integration/device/deactivate",
    "* /integration/device/update",
];
const DEVICE_ALL: &[&str] = &["lorawan.downlinks", "lorawan.fuota", "lorawan.onboarding", "lorawan.read"];

pub const STARTERS: [Starter; 2] = [
    Starter {
        code: "device-actions",
        title: "Device actions (IncidentIQ-style)",
        summary: "What a device-management integration lets a key do to one device: see where it is, change its \
                  status, lock, unlock or wipe it. Unlock and Wipe are high-risk.",
        permissions: &[
            ("device.view_location", "View Location", false, false, &["GET /integration/device/*/location"]),
            ("device.change_status", "Change Status", false, true, &["POST /integration/device/*/status"]),
            ("device.lock", "Lock Device", false, true, &["POST /integration/device/*/lock"]),
            ("device.unlock", "Unlock Device", true, true, &["POST /integration/device/*/unlock"]),
            ("device.wipe", "Wipe Device", true, true, &["POST /integration/device/*/wipe"]),
        ],
        roles: &[],
        type_roles: &[],
    },
    Starter {
        code: "lorawan",
        title: "LoRaWAN integration APIs (SenRa-style)",
        summary: "The integration API of a LoRaWAN network server, as roles: downlinks, FUOTA, onboarding, read \
                  access, full device access, and billing.",
        permissions: &[
            ("lorawan.downlinks", "Device: Downlinks", false, true, DOWNLINKS),
            ("lorawan.fuota", "Device: FUOTA", false, true, &["* /integration/mcastTransfer"]),
            ("lorawan.onboarding", "Device: Onboarding", false, true, ONBOARDING),
            ("lorawan.read", "Device: Read Access", false, false, &["* /integration/device/csvExport"]),
            (
                "billing.access",
                "Billing Access",
                false,
                false,
                &["* /integration/usage/details", "* /integration/usage/contracts"],
            ),
        ],
        roles: &[
            ("Device: Downlinks", "Send, multicast and clear downlink messages.", &["lorawan.downlinks"]),
            ("Device: FUOTA", "Firmware updates over the air (multicast transfers).", &["lorawan.fuota"]),
            ("Device: Onboarding", "Register, activate, update and deactivate devices.", &["lorawan.onboarding"]),
            ("Device: Read Access", "Export the device list.", &["lorawan.read"]),
            ("Device: Full Access", "Every device API: downlinks, FUOTA, onboarding and read access.", DEVICE_ALL),
            ("Billing Access", "Usage details and contracts.", &["billing.access"]),
        ],
        type_roles: &[
            ("Customer", &["Billing Access"]),
            (
                "Application",
                &[
                    "Device: Downlinks",
                    "Device: FUOTA",
                    "Device: Onboarding",
                    "Device: Read Access",
                    "Device: Full Access",
                ],
            ),
        ],
    },
];

/// A starter's permission as the permission form takes it.
fn form_of((name, label, high_risk, writes, rules): &Perm) -> PermissionForm {
    PermissionForm {
        name: (*name).to_owned(),
        label: (*label).to_owned(),
        description: String::new(),
        risk: if *high_risk { "high" } else { "normal" }.to_owned(),
        writes: writes.then(|| "1".to_owned()),
        rules: rules.join("\n"),
    }
}

pub fn find(code: &str) -> Option<&'static Starter> {
    STARTERS.iter().find(|s| s.code == code)
}

/// What applying a starter added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub permissions: usize,
    pub roles: usize,
    /// Key types whose keys are now restricted to the starter's roles.
    pub restricted: usize,
}

/// Adds the starter's permissions and roles that the workspace does not have by name, in one transaction.
pub fn apply(state: &AppState, caller: &Caller, code: &str) -> Result<Applied> {
    caller.must_administer()?;
    let starter = find(code).ok_or(Error::NotFound)?;
    let now = state.now();
    state.db.write(|c| {
        let mut applied = Applied { permissions: 0, roles: 0, restricted: 0 };
        let mut ids = Vec::new();
        for p in starter.permissions {
            let form = form_of(p);
            let (id, added) = permissions::ensure_in(c, caller, &form, now)?;
            applied.permissions += usize::from(added);
            ids.push((p.0, id));
        }
        for (role, description, holds) in starter.roles {
            let held: Vec<i64> =
                holds.iter().filter_map(|h| ids.iter().find(|(n, _)| n == h).map(|(_, id)| *id)).collect();
            applied.roles += usize::from(roles::ensure_in(c, caller, role, description, &held, now)?);
        }
        // A type already restricted is left as its Administrator set it; one whose keys hold other roles too.
        let (types, restricted) =
            (key_types::list(c, caller.workspace_id)?, key_types::allowed_roles(c, caller.workspace_id)?);
        for (type_name, role_names) in starter.type_roles {
            let Some(t) = types.iter().find(|t| t.name == *type_name) else { continue };
            if restricted.iter().any(|(id, _)| *id == t.id) {
                continue;
            }
            let mut role_ids = Vec::new();
            for name in *role_names {
                role_ids.extend(crate::db::roles::find_by_name(c, caller.workspace_id, name)?.map(|r| r.id));
            }
            match crate::services::key_types::restrict_in(c, caller, t.id, &role_ids, now) {
                Ok(()) => applied.restricted += 1,
                Err(Error::Conflict(_)) => {}
                Err(other) => return Err(other),
            }
        }
        let after = serde_json::json!({
            "catalogue": starter.code, "permissions_added": applied.permissions, "roles_added": applied.roles,
            "key_types_restricted": applied.restricted,
        });
        audit::record(c, now, &caller.event("catalogue.applied").change(None, Some(after)))?;
        Ok(applied)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_parses_and_its_roles_name_its_own_permissions() {
        for starter in &STARTERS {
            for p in starter.permissions {
                assert!(permissions::check(&form_of(p)).is_ok(), "{}", p.0);
            }
            for (role, _, holds) in starter.roles {
                assert!(roles::parse_name(role).is_ok(), "{role}");
                assert!(holds.iter().all(|h| starter.permissions.iter().any(|p| p.0 == *h)), "{role}");
            }
        }
        let wipe = find("device-actions").and_then(|s| s.permissions.iter().find(|p| p.1 == "Wipe Device"));
        assert!(wipe.is_some_and(|p| p.2), "Wipe Device is high-risk");
    }
}
