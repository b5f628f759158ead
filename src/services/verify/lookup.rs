//! What is known about a digest: the cache's answer, else the database's, stored for next time. On
//! PostgreSQL the lookups that miss the cache at the same moment share one statement (`queued`).

use std::sync::Arc;

use crate::db::changes::Scope;
use crate::db::lookup::{self, Lookup};
use crate::db::{DbConn, DbError, permissions};
use crate::domain::access::{Grants, Permission};
use crate::domain::restrict::{IpAllowList, RateLimit};
use crate::domain::verdict::Found;
use crate::error::{Error, Result};
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

/// A key as the database has it, with its catalogue and its owner's grants (from their caches).
type Read = (Lookup, Arc<Vec<Permission>>, Arc<Grants>);

/// The facts behind a digest; `None` when only the database could tell and `reach` did not get there.
pub(super) fn resolve(state: &AppState, digest: [u8; 32], now: i64, reach: Reach) -> Result<Option<Cached>> {
    let at = stamp(state, now);
    if let Some(hit) = state.verify_cache.get(&digest, at) {
        return Ok(Some(hit));
    }
    let query = |c: &mut DbConn| read(state, c, &[digest], at);
    let read = match reach {
        Reach::Idle => state.db.read_if_idle(query),
        Reach::Database => Some(state.db.read(query)),
    };
    let Some(read) = read else { return Ok(None) };
    Ok(store(state, &[digest], read?, at).pop())
}

/// The facts behind a digest the cache did not hold, read together with the other lookups waiting at
/// the same moment (PostgreSQL).
pub(super) async fn queued(state: &AppState, digest: [u8; 32]) -> Result<Cached> {
    let (answer, start) = state.lookups.ask(digest);
    if start {
        let state = state.clone();
        tokio::task::spawn_blocking(move || drain(&state));
    }
    answer.await.map_err(|_| Error::Internal("a queued lookup was dropped".into()))?
}

/// Answers queued lookups, a batch per statement, until none are left.
fn drain(state: &AppState) {
    /// Uncounts the drainer if it ends by a panic.
    struct Running<'a>(&'a AppState, bool);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            if !self.1 {
                self.0.lookups.stopped();
            }
        }
    }
    let mut running = Running(state, false);
    loop {
        let batch = state.lookups.next();
        if batch.is_empty() {
            running.1 = true;
            return;
        }
        let digests: Vec<[u8; 32]> = batch.iter().map(|w| w.digest).collect();
        let at = stamp(state, state.now());
        match state.db.read(|c| read(state, c, &digests, at)) {
            Ok(found) => {
                for (waiting, answer) in batch.into_iter().zip(store(state, &digests, found, at)) {
                    let _ = waiting.reply.send(Ok(answer));
                }
            }
            Err(e) => {
                let text = e.to_string();
                for waiting in batch {
                    let _ = waiting.reply.send(Err(Error::Db(DbError::Connect(text.clone()))));
                }
            }
        }
    }
}

/// When the caches are read and filled: the generation is read now, before any query.
fn stamp(state: &AppState, now: i64) -> Stamp<'_> {
    let changes = state.db.changes();
    Stamp { generation: changes.generation(), now, trusted: changes.trusted(), changes }
}

/// The keys behind `digests`, each with its catalogue and owner's grants.
fn read(
    state: &AppState,
    c: &mut DbConn,
    digests: &[[u8; 32]],
    at: Stamp<'_>,
) -> Result<Vec<Read>, diesel::result::Error> {
    let cache = &state.verify_cache;
    lookup::by_digests(c, digests)?
        .into_iter()
        .map(|found| {
            let (ws, owner) = (found.workspace_id, found.owner_id);
            let catalogue = cache.catalogue(ws, at, || permissions::catalogue(c, ws))?;
            let owner_grants = cache.owner_grants((ws, owner), at, || permissions::account_grants(c, ws, owner))?;
            Ok((found, catalogue, owner_grants))
        })
        .collect()
}

/// Caches what was read for each digest (found, or known to be unknown) and returns it, in order. A digest
/// may be asked for more than once in a batch (one key presented by several requests at the same moment):
/// each gets the key the statement found once.
fn store(state: &AppState, digests: &[[u8; 32]], read: Vec<Read>, at: Stamp<'_>) -> Vec<Cached> {
    let found: Vec<(Vec<u8>, Arc<KeyFacts>)> =
        read.into_iter().map(|mut read| (std::mem::take(&mut read.0.digest), facts(state, read))).collect();
    digests
        .iter()
        .map(|digest| {
            let value = found
                .iter()
                .find(|(found, _)| found == digest)
                .map_or(Cached::Missing, |(_, facts)| Cached::Found(facts.clone()));
            state.verify_cache.put(*digest, at.generation, at.now, value.clone());
            value
        })
        .collect()
}

fn facts(state: &AppState, (found, catalogue, owner_grants): Read) -> Arc<KeyFacts> {
    let profile = state.verify_cache.profile(Profile {
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
    Arc::new(KeyFacts {
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
    })
}
