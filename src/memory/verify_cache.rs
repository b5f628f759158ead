//! The verification cache: what a decision needs about a presented key, keyed by the secret's digest,
//! so a cached verification does no database work (`services::verify` fills and reads it).
//!
//! Entries carry the generation they were read at (`Database::generation`, read *before* the fill's
//! queries) and know the scopes they were derived from (`db::changes::Scope`: the key, its owner, roles,
//! type, workspace and catalogue); an entry is stale once any of those was changed after its generation,
//! here or, as `db::changes` hears, elsewhere. A fill racing a change of its scopes is therefore never
//! used, and a change elsewhere (a key created in another workspace) leaves it alone. Time-dependent checks (expiry, the
//! end of an overlap) are evaluated on every request against the cached times. Unknown digests go to a
//! smaller cache of their own so a flood of made-up keys cannot evict the real ones; entries also expire
//! after a time to live. Catalogues and owners' grants have caches of their own, kept even with the key
//! cache off, so a cold verification reads only the key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::changes::{Changes, Scope};
use crate::domain::access::{Access, Grants, Permission};
use crate::domain::restrict::{IpAllowList, RateLimit};
use crate::domain::verdict::Found;

/// What many keys have in common — workspace, owner, type, roles, grants — and the answer fields that
/// follow from it. Keys that share all of it share one of these (`VerifyCache::profile`), so a cache
/// of 100k keys holds 100k names and times and a few profiles, not 100k copies of the same lists.
#[derive(Debug)]
pub struct Profile {
    pub workspace_id: i64,
    pub owner_id: i64,
    pub owner: String,
    pub key_type_id: i64,
    pub key_type: String,
    pub roles: Vec<String>,
    /// Names of the permissions the key may use.
    pub permissions: Vec<String>,
    pub act_as_owner: bool,
    pub key_grants: Grants,
    pub catalogue: Arc<Vec<Permission>>,
    pub owner_grants: Arc<Grants>,
    /// The stamp slots of the scopes the profile was derived from (filled by `VerifyCache::profile`).
    pub depends: Box<[u32]>,
}

impl Profile {
    pub fn access(&self) -> Access<'_> {
        Access {
            catalogue: &self.catalogue,
            key: &self.key_grants,
            owner: &self.owner_grants,
            act_as_owner: self.act_as_owner,
        }
    }

    /// Everything `permissions` is derived from: what is hashed, and the catalogue and the owner's grants,
    /// which compare by identity (`VerifyCache::current` keeps one copy of each while it is unchanged).
    /// The hash leaves them out, so a profile remade after a change takes its predecessor's place.
    fn grounds(&self) -> (impl std::hash::Hash + PartialEq + '_, (usize, usize)) {
        (
            (
                (self.workspace_id, self.owner_id, self.act_as_owner, self.key_type_id),
                (&self.owner, &self.key_type, &self.roles, &self.key_grants),
            ),
            (Arc::as_ptr(&self.catalogue) as usize, Arc::as_ptr(&self.owner_grants) as usize),
        )
    }
    /// What the profile follows from: its owner, workspace, catalogue, key type, and every role that
    /// grants the key or its owner anything.
    fn scopes(&self) -> Box<[u32]> {
        let (ws, roles) = (self.workspace_id, self.key_grants.roles.iter().chain(&self.owner_grants.roles));
        let mut slots: Vec<u32> =
            [Scope::Owner(self.owner_id), Scope::Workspace(ws), Scope::Catalogue(ws), Scope::KeyType(self.key_type_id)]
                .into_iter()
                .chain(roles.map(|r| Scope::Role(*r)))
                .filter_map(Scope::slot)
                .collect();
        slots.sort_unstable();
        slots.dedup();
        slots.into()
    }
}

/// A key that was found, whatever the decision: what its answer says, and what the checks read. One
/// per cached key.
#[derive(Debug)]
pub struct KeyFacts {
    pub key_id: i64,
    /// The stamp slot of the key's own scope.
    pub scope: Option<u32>,
    pub name: String,
    pub expires_at: Option<i64>,
    pub profile: Arc<Profile>,
    /// What the status checks read.
    pub found: Found,
    pub secret_id: i64,
    pub ip_allow: IpAllowList,
    pub rate: Option<RateLimit>,
}

#[derive(Debug, Clone)]
struct Slot<T> {
    generation: u64,
    filled_at: i64,
    value: T,
}

/// The verification cache, its counters, and the per-key rate-limit windows.
#[derive(Debug)]
pub struct VerifyCache {
    found: Option<quick_cache::sync::Cache<[u8; 32], Slot<Arc<KeyFacts>>>>,
    missing: Option<quick_cache::sync::Cache<[u8; 32], Slot<()>>>,
    /// Shared by every key of a workspace, and of an owner: kept even with the key cache off, so a
    /// cold verification reads only the key itself.
    catalogues: quick_cache::sync::Cache<i64, Slot<Arc<Vec<Permission>>>>,
    owners: quick_cache::sync::Cache<(i64, i64), Slot<Arc<Grants>>>,
    /// Profiles by the hash of their grounds; a collision only means a profile is not shared. Not stamped:
    /// equal grounds — the catalogue and owner's grants the very ones `current` holds now — give equal
    /// permissions whatever the generation.
    profiles: quick_cache::sync::Cache<u64, Arc<Profile>>,
    profile_hasher: std::hash::RandomState,
    ttl_secs: i64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    windows: std::sync::Mutex<std::collections::HashMap<i64, (i64, i64)>>,
}

/// A cache that keeps what was used once as readily as what was used often: quick_cache's default
/// gives 97% of the space to entries seen twice, so after a restart (or a warm-up) keys used once
/// each — the common case with many keys and steady traffic — would be evicted before their second use.
fn recency_cache<V: Clone>(capacity: usize) -> quick_cache::sync::Cache<[u8; 32], V> {
    let options = quick_cache::OptionsBuilder::new()
        .estimated_items_capacity(capacity)
        .weight_capacity(u64::try_from(capacity).unwrap_or(u64::MAX))
        .hot_allocation(0.5)
        .build();
    match options {
        Ok(options) => quick_cache::sync::Cache::with_options(
            options,
            quick_cache::UnitWeighter,
            quick_cache::DefaultHashBuilder::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        ),
        Err(_) => quick_cache::sync::Cache::new(capacity),
    }
}

impl VerifyCache {
    /// `capacity` keys (0 disables caching), a tenth as many unknown digests, each for `ttl_secs`.
    pub fn new(capacity: usize, ttl_secs: i64) -> Self {
        let enabled = capacity > 0;
        VerifyCache {
            found: enabled.then(|| recency_cache(capacity)),
            missing: enabled.then(|| recency_cache((capacity / 10).max(1))),
            catalogues: quick_cache::sync::Cache::new(1_000),
            owners: quick_cache::sync::Cache::new(100_000),
            profiles: quick_cache::sync::Cache::new(20_000),
            profile_hasher: std::hash::RandomState::new(),
            ttl_secs,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            windows: std::sync::Mutex::default(),
        }
    }

    /// The slot's value if it may answer now: trusted, within its time to live, and nothing it follows
    /// from (`depends` of the value) changed since it was filled.
    fn fresh<T: Clone>(&self, slot: Option<Slot<T>>, at: Stamp<'_>, depends: impl Fn(&T) -> Vec<u32>) -> Option<T> {
        slot.filter(|s| {
            at.trusted
                && at.now - s.filled_at < self.ttl_secs
                && at.changes.unchanged_since(s.generation, &depends(&s.value))
        })
        .map(|s| s.value)
    }

    /// The one profile of these grounds: the one already held, else this one with its permissions.
    pub fn profile(&self, mut candidate: Profile) -> Arc<Profile> {
        use std::hash::BuildHasher;
        let hash = self.profile_hasher.hash_one(&candidate.grounds().0);
        if let Some(held) = self.profiles.get(&hash)
            && held.grounds() == candidate.grounds()
        {
            return held;
        }
        candidate.permissions = candidate.access().effective().iter().map(|p| p.name.clone()).collect();
        candidate.depends = candidate.scopes();
        let profile = Arc::new(candidate);
        self.profiles.insert(hash, profile.clone());
        profile
    }

    /// The workspace's catalogue, fresh, else `load`'s.
    pub fn catalogue<E>(
        &self,
        workspace_id: i64,
        at: Stamp<'_>,
        load: impl FnOnce() -> std::result::Result<Vec<Permission>, E>,
    ) -> std::result::Result<Arc<Vec<Permission>>, E> {
        let depends =
            |_: &Arc<Vec<Permission>>| slots(&[Scope::Catalogue(workspace_id), Scope::Workspace(workspace_id)]);
        self.current(&self.catalogues, workspace_id, at, depends, load)
    }

    /// An owner's grants in a workspace, fresh, else `load`'s.
    pub fn owner_grants<E>(
        &self,
        (workspace_id, owner_id): (i64, i64),
        at: Stamp<'_>,
        load: impl FnOnce() -> std::result::Result<Grants, E>,
    ) -> std::result::Result<Arc<Grants>, E> {
        let depends = |grants: &Arc<Grants>| {
            let scopes = [Scope::Owner(owner_id), Scope::Workspace(workspace_id)];
            slots(&scopes.into_iter().chain(grants.roles.iter().map(|r| Scope::Role(*r))).collect::<Vec<_>>())
        };
        self.current(&self.owners, (workspace_id, owner_id), at, depends, load)
    }

    /// What is cached for a digest, if it is fresh; counts a hit.
    pub fn get(&self, digest: &[u8; 32], at: Stamp<'_>) -> Option<Cached> {
        let found = self.found.as_ref().and_then(|c| c.get(digest)).filter(|slot| {
            let facts = &slot.value;
            let depends = facts.scope.iter().chain(facts.profile.depends.iter());
            at.trusted
                && at.now - slot.filled_at < self.ttl_secs
                && at.changes.unchanged_since(slot.generation, depends)
        });
        let hit = if let Some(found) = found {
            Some(Cached::Found(found.value))
        } else {
            let unknown = |(): &()| slots(&[Scope::Secrets]);
            self.missing.as_ref().and_then(|c| self.fresh(c.get(digest), at, unknown)).map(|()| Cached::Missing)
        };
        if hit.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Keeps what a database read found for a digest, stamped with the generation read before it.
    pub fn put(&self, digest: [u8; 32], generation: u64, now: i64, value: Cached) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        match value {
            Cached::Found(facts) => {
                if let Some(c) = &self.found {
                    c.insert(digest, Slot { generation, filled_at: now, value: facts });
                }
            }
            Cached::Missing => {
                if let Some(c) = &self.missing {
                    c.insert(digest, Slot { generation, filled_at: now, value: () });
                }
            }
        }
    }

    /// The fresh value under `key`, else `load`'s — or the held one when `load` finds it unchanged, so
    /// that what points at it (profiles, and through them cached keys) stays shared across changes
    /// instead of each fill's copies living on in stale entries.
    fn current<K, T, E>(
        &self,
        cache: &quick_cache::sync::Cache<K, Slot<Arc<T>>>,
        key: K,
        at: Stamp<'_>,
        depends: impl Fn(&Arc<T>) -> Vec<u32>,
        load: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<Arc<T>, E>
    where
        K: Eq + std::hash::Hash,
        T: PartialEq,
    {
        let held = cache.get(&key);
        if let Some(value) = self.fresh(held.clone(), at, depends) {
            return Ok(value);
        }
        let loaded = load()?;
        let value = match held {
            Some(slot) if *slot.value == loaded => slot.value,
            _ => Arc::new(loaded),
        };
        cache.insert(key, Slot { generation: at.generation, filled_at: at.now, value: value.clone() });
        Ok(value)
    }

    /// How many uses the key's current window has counted, without counting one.
    pub fn peek(&self, key_id: i64, rate: RateLimit, now: i64) -> i64 {
        let start = now - now.rem_euclid(rate.window_secs);
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        windows.get(&key_id).filter(|(window, _)| *window == start).map_or(0, |(_, count)| *count)
    }

    /// Counts a use against the key's window; false once the limit is reached.
    pub fn admit(&self, key_id: i64, rate: RateLimit, now: i64) -> bool {
        let start = now - now.rem_euclid(rate.window_secs);
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (window, count) = windows.entry(key_id).or_insert((start, 0));
        if *window != start {
            *window = start;
            *count = 0;
        }
        if *count >= rate.limit {
            return false;
        }
        *count += 1;
        true
    }
}

/// When a cache is read: the generation (read before a fill's queries), the time, whether changes made
/// elsewhere are being followed (while they are not, nothing cached answers: see `db::changes`), and what
/// changed when.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub generation: u64,
    pub now: i64,
    pub trusted: bool,
    pub changes: &'a Changes,
}

/// The stamp slots of these scopes.
fn slots(scopes: &[Scope]) -> Vec<u32> {
    scopes.iter().filter_map(|s| s.slot()).collect()
}

/// What the cache holds for a digest.
#[derive(Debug, Clone)]
pub enum Cached {
    Found(Arc<KeyFacts>),
    Missing,
}
