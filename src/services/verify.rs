//! Verifying a presented key: format and checksum, digest lookup, status, expiry, overlap secret.
//! The verification API and the key tester put this behind HTTP.

use crate::db::{keys, permissions};
use crate::domain::access::{Access, Want};
use crate::domain::key;
use crate::domain::verify::{self, Code, Found};
use crate::error::Result;
use crate::state::AppState;

/// A key that was found, whatever the decision.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    pub key_id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub owner: String,
    pub key_type: String,
    pub expires_at: Option<i64>,
    pub roles: Vec<String>,
    /// Names of the permissions the key may use.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: Code,
    /// Why a malformed key was refused.
    pub reason: Option<String>,
    pub key: Option<KeyFacts>,
    /// With FORBIDDEN: the permissions that would allow the request.
    pub missing: Vec<String>,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.code == Code::Valid
    }
}

/// Where a use came from (for the key's last-use record) and what it wants to do.
#[derive(Debug, Clone, Default)]
pub struct UseContext {
    pub ip: Option<String>,
    pub path: Option<String>,
    pub want: Option<Want>,
}

pub fn verify(state: &AppState, presented: &str, context: &UseContext) -> Result<Verdict> {
    let now = state.now();
    let well_formed = match key::parse(presented) {
        Ok(k) => k,
        Err(e) => {
            return Ok(Verdict { code: Code::Malformed, reason: Some(e.to_string()), key: None, missing: Vec::new() });
        }
    };
    let digest = well_formed.key.digest();
    let Some(found) = state.db.read(|c| keys::lookup(c, &digest))? else {
        return Ok(Verdict { code: Code::NotFound, reason: None, key: None, missing: Vec::new() });
    };
    let mut code = verify::status(
        &Found {
            key_active: found.status == "active",
            owner_active: found.owner_disabled_at.is_none(),
            expires_at: found.expires_at,
            secret_retires_at: found.secret_retires_at,
        },
        now,
    );
    if code == Code::NotFound {
        return Ok(Verdict { code, reason: None, key: None, missing: Vec::new() });
    }
    let (catalogue, key_grants, owner_grants, roles) = state.db.read(|c| {
        Ok::<_, diesel::result::Error>((
            permissions::catalogue(c, found.workspace_id)?,
            permissions::key_grants(c, found.key_id)?,
            permissions::account_grants(c, found.workspace_id, found.owner_id)?,
            keys::role_names(c, &[found.key_id])?.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
        ))
    })?;
    let access =
        Access { catalogue: &catalogue, key: &key_grants, owner: &owner_grants, act_as_owner: found.act_as_owner };
    let mut missing = Vec::new();
    let mut reason = None;
    if let (Code::Valid, Some(want)) = (code, &context.want)
        && let Err(denial) = access.check(want)
    {
        code = Code::Forbidden;
        missing = denial.missing();
        reason = Some(denial.to_string());
    }
    if code == Code::Valid {
        state.usage.record(found.key_id, found.secret_id, now, context.ip.as_deref(), context.path.as_deref());
    }
    Ok(Verdict {
        code,
        reason,
        missing,
        key: Some(KeyFacts {
            roles,
            permissions: access.effective().iter().map(|p| p.name.clone()).collect(),
            key_id: found.key_id,
            workspace_id: found.workspace_id,
            name: found.name,
            owner: found.owner_email,
            key_type: found.type_name,
            expires_at: found.expires_at,
        }),
    })
}
