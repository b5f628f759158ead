//! What is known about a digest: the cache's answer, else the database's, stored for next time.

use std::sync::Arc;

use crate::db::changes::Scope;
use crate::db::{DbConn, lookup, permissions};
use crate::domain::restrict::{IpAllowList, RateLimit};
use crate::domain::verdict::Found;
use crate::error::Result;
use crate::memory::verify_cache::{Cached, KeyFacts, Profile, Stamp};
use crate::state::AppState;

/// How far a decision may go for what the caches do not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// The caches, else an idle SQLite connection on this very thread (see `Database::read_if_idle`).
    Idle,
    /// The caches, else the database, waiting for a connection if need be.
    Database,
}

/// The facts behind a digest; `None` when only the database could tell and `reach` did not get there.
pub(super) fn resolve(state: &AppState, digest: [u8; 32], now: i64, reach: Reach) -> Result<Option<Cached>> {
    let cache = &state.verify_cache;
    let changes = state.db.changes();
    let generation = changes.generation();
    let at = Stamp { generation, now, trusted: changes.trusted(), changes };
    if let Some(hit) = cache.get(&digest, at) {
        return Ok(Some(hit));
    }
    let query = |c: &mut DbConn| {
        let Some(found) = lookup::by_digest(c, &digest)? else { return Ok::<_, diesel::result::Error>(None) };
        let (ws, owner) = (found.workspace_id, found.owner_id);
        let catalogue = cache.catalogue(ws, at, || permissions::catalogue(c, ws))?;
        let owner_grants = cache.owner_grants((ws, owner), at, || permissions::account_grants(c, ws, owner))?;
        Ok(Some((found, catalogue, owner_grants)))
    };
    let read = match reach {
        Reach::Idle => state.db.read_if_idle(query),
        Reach::Database => Some(state.db.read(query)),
    };
    let Some(read) = read else { return Ok(None) };
    let Some((found, catalogue, owner_grants)) = read? else {
        cache.put(digest, generation, now, Cached::Missing);
        return Ok(Some(Cached::Missing));
    };
    let profile = cache.profile(Profile {
        workspace_id: found.workspace_id,
        owner_id: found.owner_id,
        owner: found.owner_email,
        key_type_id: found.type_id,
        key_type: found.type_name,
        roles: found.roles,
        permissions: Vec::new(),
        act_as_owner: found.act_as_owner,
        key_grants: found.grants,
        catalogue,
        owner_grants,
        depends: Box::default(),
    });
    let facts = Arc::new(KeyFacts {
        key_id: found.key_id,
        scope: Scope::Key(found.key_id).slot(),
        name: found.name,
        expires_at: found.expires_at,
        profile,
        found: Found {
            key_active: found.status.is_active(),
            owner_active: found.owner_disabled_at.is_none(),
            expires_at: found.expires_at,
            secret_retires_at: found.secret_retires_at,
        },
        secret_id: found.secret_id,
        ip_allow: found.ip_allow.as_deref().map_or_else(IpAllowList::default, |text| {
            IpAllowList::parse(text).unwrap_or_else(|e| {
                tracing::warn!(key_id = found.key_id, error = %e, "stored IP allow-list unreadable; the key is refused");
                IpAllowList::closed()
            })
        }),
        rate: found.rate_limit.zip(found.rate_window_secs).map(|(limit, window_secs)| RateLimit { limit, window_secs }),
    });
    cache.put(digest, generation, now, Cached::Found(facts.clone()));
    Ok(Some(Cached::Found(facts)))
}
