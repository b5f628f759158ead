//! Verifying a presented key: format and checksum, digest lookup, status, expiry, overlap secret,
//! IP allow-list, rate limit, and effective access for a permission or request.
//!
//! The hot path is a cache keyed by the secret's digest holding everything the decision needs, so a
//! cached verification does no database work. Entries carry the database write generation they
//! were read at (`Database::generation`, bumped after every committed change of access); an entry
//! of an older generation is stale. The generation is read *before* the fill's queries, so a fill
//! racing a change is stored with the old generation and never outlives it. Time-dependent checks
//! (expiry, the end of an overlap) are evaluated on every request against the cached times.
//! Unknown digests go to a smaller cache of their own so a flood of made-up keys cannot evict the
//! real ones. Changes made by other instances bump the same generation when their notice (or the
//! epoch) arrives (`db::changes`); entries also expire after a time to live.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::{keys, permissions};
use crate::domain::access::{Access, Grants, Permission, Want};
use crate::domain::key;
use crate::domain::restrict::{IpAllowList, RateLimit};
use crate::domain::verify::{self, Code, Found};
use crate::error::Result;
use crate::state::AppState;

/// What many keys have in common — workspace, owner, type, roles, grants — and the answer fields that
/// follow from it. Keys that share all of it share one of these (`VerifyCache::profile`), so a cache
/// of 100k keys holds 100k names and times and a few profiles, not 100k copies of the same lists.
#[derive(Debug)]
pub struct Profile {
    pub workspace_id: i64,
    pub owner_id: i64,
    pub owner: String,
    pub key_type: String,
    pub roles: Vec<String>,
    /// Names of the permissions the key may use.
    pub permissions: Vec<String>,
    act_as_owner: bool,
    key_grants: Grants,
    catalogue: Arc<Vec<Permission>>,
    owner_grants: Arc<Grants>,
}

impl Profile {
    fn access(&self) -> Access<'_> {
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
                (self.workspace_id, self.owner_id, self.act_as_owner),
                (&self.owner, &self.key_type, &self.roles, &self.key_grants),
            ),
            (Arc::as_ptr(&self.catalogue) as usize, Arc::as_ptr(&self.owner_grants) as usize),
        )
    }
}

/// A key that was found, whatever the decision: what its answer says, and what the checks read. One
/// per cached key.
#[derive(Debug)]
pub struct KeyFacts {
    pub key_id: i64,
    pub name: String,
    pub expires_at: Option<i64>,
    pub profile: Arc<Profile>,
    /// What the status checks read.
    found: Found,
    secret_id: i64,
    ip_allow: IpAllowList,
    rate: Option<RateLimit>,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: Code,
    /// Why a malformed key was refused, or a request denied.
    pub reason: Option<String>,
    pub key: Option<Arc<KeyFacts>>,
    /// With FORBIDDEN: the permissions that would allow the request.
    pub missing: Vec<String>,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.code == Code::Valid
    }

    fn bare(code: Code, reason: Option<String>) -> Self {
        Verdict { code, reason, key: None, missing: Vec::new() }
    }
}

/// Where a use came from and what it wants to do.
#[derive(Debug, Clone, Default)]
pub struct UseContext {
    /// The address the key is used from (checked against the key's allow-list).
    pub ip: Option<String>,
    pub path: Option<String>,
    pub want: Option<Want>,
    /// The one workspace whose keys may pass (a pinned integration); a key of another is not found.
    pub workspace: Option<i64>,
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

    fn fresh<T: Clone>(&self, slot: Option<Slot<T>>, at: Stamp) -> Option<T> {
        slot.filter(|s| at.trusted && s.generation == at.generation && at.now - s.filled_at < self.ttl_secs)
            .map(|s| s.value)
    }

    /// The one profile of these grounds: the one already held, else this one with its permissions.
    fn profile(&self, mut candidate: Profile) -> Arc<Profile> {
        use std::hash::BuildHasher;
        let hash = self.profile_hasher.hash_one(&candidate.grounds().0);
        if let Some(held) = self.profiles.get(&hash)
            && held.grounds() == candidate.grounds()
        {
            return held;
        }
        candidate.permissions = candidate.access().effective().iter().map(|p| p.name.clone()).collect();
        let profile = Arc::new(candidate);
        self.profiles.insert(hash, profile.clone());
        profile
    }

    /// The fresh value under `key`, else `load`'s — or the held one when `load` finds it unchanged, so
    /// that what points at it (profiles, and through them cached keys) stays shared across generations
    /// instead of each generation's copies living on in stale entries.
    fn current<K, T, E>(
        &self,
        cache: &quick_cache::sync::Cache<K, Slot<Arc<T>>>,
        key: K,
        at: Stamp,
        load: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<Arc<T>, E>
    where
        K: Eq + std::hash::Hash,
        T: PartialEq,
    {
        let held = cache.get(&key);
        if let Some(value) = self.fresh(held.clone(), at) {
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
    fn peek(&self, key_id: i64, rate: RateLimit, now: i64) -> i64 {
        let start = now - now.rem_euclid(rate.window_secs);
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        windows.get(&key_id).filter(|(window, _)| *window == start).map_or(0, |(_, count)| *count)
    }

    /// Counts a use against the key's window; false once the limit is reached.
    fn admit(&self, key_id: i64, rate: RateLimit, now: i64) -> bool {
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

/// When a cache is read: the generation (read before a fill's queries), the time, and whether changes made
/// elsewhere are being followed (while they are not, nothing cached answers: see `db::changes`).
#[derive(Debug, Clone, Copy)]
struct Stamp {
    generation: u64,
    now: i64,
    trusted: bool,
}

enum Lookup {
    Found(Arc<KeyFacts>),
    Missing,
}

/// The cached facts behind a digest, else read from the database as far as `reach` allows; `None` when
/// only the database could tell and `reach` did not get there.
/// How far a decision may go for what the caches do not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The caches, else an idle SQLite connection on this very thread (see `Database::read_if_idle`).
    Idle,
    /// The caches, else the database, waiting for a connection if need be.
    Database,
}

fn resolve(state: &AppState, digest: [u8; 32], now: i64, reach: Reach) -> Result<Option<Lookup>> {
    let cache = &state.verify_cache;
    let generation = state.db.generation();
    let at = Stamp { generation, now, trusted: state.db.changes().trusted() };
    if let Some(found) = cache.found.as_ref().and_then(|c| cache.fresh(c.get(&digest), at)) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Some(Lookup::Found(found)));
    }
    if let Some(()) = cache.missing.as_ref().and_then(|c| cache.fresh(c.get(&digest), at)) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Some(Lookup::Missing));
    }
    let query = |c: &mut crate::db::DbConn| {
        let Some(found) = keys::lookup(c, &digest)? else { return Ok::<_, diesel::result::Error>(None) };
        let (key_grants, roles) = permissions::key_access(c, found.key_id)?;
        let (ws, owner) = (found.workspace_id, found.owner_id);
        let catalogue = cache.current(&cache.catalogues, ws, at, || permissions::catalogue(c, ws))?;
        let owner_grants =
            cache.current(&cache.owners, (ws, owner), at, || permissions::account_grants(c, ws, owner))?;
        Ok(Some((found, catalogue, key_grants, owner_grants, roles)))
    };
    let read = match reach {
        Reach::Idle => state.db.read_if_idle(query),
        Reach::Database => Some(state.db.read(query)),
    };
    let Some(read) = read else { return Ok(None) };
    cache.misses.fetch_add(1, Ordering::Relaxed);
    let read = read?;
    let Some((found, catalogue, key_grants, owner_grants, roles)) = read else {
        if let Some(c) = &cache.missing {
            c.insert(digest, Slot { generation, filled_at: now, value: () });
        }
        return Ok(Some(Lookup::Missing));
    };
    let profile = cache.profile(Profile {
        workspace_id: found.workspace_id,
        owner_id: found.owner_id,
        owner: found.owner_email,
        key_type: found.type_name,
        roles,
        permissions: Vec::new(),
        act_as_owner: found.act_as_owner,
        key_grants,
        catalogue,
        owner_grants,
    });
    let resolved = Arc::new(KeyFacts {
        key_id: found.key_id,
        name: found.name,
        expires_at: found.expires_at,
        profile,
        found: Found {
            key_active: found.status == "active",
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
    if let Some(c) = &cache.found {
        c.insert(digest, Slot { generation, filled_at: now, value: resolved.clone() });
    }
    Ok(Some(Lookup::Found(resolved)))
}

/// Verifies a key, reading the database when the cache cannot answer. Blocking: call it off the
/// async workers (or try `verify_now` first).
pub fn verify(state: &AppState, presented: &str, context: &UseContext) -> Result<Verdict> {
    decide(state, presented, context, Reach::Database, &mut Trace::default())
        .map(|v| v.unwrap_or_else(|| Verdict::bare(Code::NotFound, None)))
}

/// Verifies a key when that can be done on the calling async worker without waiting: from the caches
/// (a malformed key, or a hit), or on SQLite with a connection that is idle right now, where an indexed
/// lookup in a local file takes microseconds — less than handing it to the blocking pool and back, which
/// cost uncached verification a third of its time. `None`: go through the blocking pool (`verify`).
pub fn verify_now(state: &AppState, presented: &str, context: &UseContext) -> Result<Option<Verdict>> {
    decide(state, presented, context, Reach::Idle, &mut Trace::default())
}

/// One check of a decision, for the test-key page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub check: &'static str,
    /// `None`: not applicable to this key or request (or not reached).
    pub passed: Option<bool>,
    pub detail: String,
}

/// The checks a decision made, in order. Off (and free) on the serving path; when on, the decision
/// neither counts against the key's rate limit nor records a use.
#[derive(Debug, Default)]
struct Trace {
    on: bool,
    steps: Vec<Step>,
}

impl Trace {
    fn step(&mut self, check: &'static str, passed: Option<bool>, detail: impl FnOnce() -> String) {
        if self.on {
            self.steps.push(Step { check, passed, detail: detail() });
        }
    }
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

/// Decides as the verifier does, and says which check passed or failed — the same function, with its
/// trace on. Nothing is recorded: no use, no rate-limit count.
pub fn explain(state: &AppState, presented: &str, context: &UseContext) -> Result<(Verdict, Vec<Step>)> {
    let mut trace = Trace { on: true, steps: Vec::new() };
    let verdict = decide(state, presented, context, Reach::Database, &mut trace)?
        .unwrap_or_else(|| Verdict::bare(Code::NotFound, None));
    let mut steps = trace.steps;
    for check in CHECKS {
        if !steps.iter().any(|s| s.check == check) {
            steps.push(Step { check, passed: None, detail: "not reached".to_owned() });
        }
    }
    Ok((verdict, steps))
}

fn decide(
    state: &AppState,
    presented: &str,
    context: &UseContext,
    reach: Reach,
    trace: &mut Trace,
) -> Result<Option<Verdict>> {
    let now = state.now();
    let well_formed = match key::parse(presented) {
        Ok(k) => k,
        Err(e) => {
            let checksum = e == key::Malformed::Checksum;
            trace.step("Format", Some(checksum), || if checksum { "well formed".into() } else { e.to_string() });
            if checksum {
                trace.step("Checksum", Some(false), || e.to_string());
            }
            return Ok(Some(Verdict::bare(Code::Malformed, Some(e.to_string()))));
        }
    };
    trace.step("Format", Some(true), || format!("prefix {}", well_formed.prefix()));
    trace.step("Checksum", Some(true), || "matches".into());
    let digest: [u8; 32] = match well_formed.key.digest().try_into() {
        Ok(d) => d,
        Err(_) => return Ok(Some(Verdict::bare(Code::NotFound, None))),
    };
    let r = match resolve(state, digest, now, reach)? {
        None => return Ok(None),
        Some(Lookup::Missing) => {
            trace.step("Known key", Some(false), || {
                "no key has this secret (never issued, deleted, or rotated away)".into()
            });
            return Ok(Some(Verdict::bare(Code::NotFound, None)));
        }
        Some(Lookup::Found(r)) => r,
    };
    let found = &r.found;
    if context.workspace.is_some_and(|pinned| pinned != r.profile.workspace_id) {
        // Said no differently from an unknown key, and before any use is counted: a pinned
        // integration learns nothing about other workspaces' keys.
        trace.step("Known key", Some(false), || "no key of this workspace has this secret".into());
        return Ok(Some(Verdict::bare(Code::NotFound, None)));
    }
    let mut code = verify::status(found, now);
    if code == Code::NotFound {
        trace.step("Known key", Some(false), || "this is a previous secret whose overlap has ended".into());
        return Ok(Some(Verdict::bare(code, None)));
    }
    trace.step("Known key", Some(true), || format!("“{}”, owned by {}", r.name, r.profile.owner));
    trace.step("Status", Some(code != Code::Inactive), || match (found.key_active, found.owner_active) {
        (false, _) => "the key is inactive".into(),
        (true, false) => "the key's owner is disabled".into(),
        (true, true) => "active, and so is its owner".into(),
    });
    if code == Code::Inactive {
        return Ok(Some(Verdict { code, reason: None, missing: Vec::new(), key: Some(r.clone()) }));
    }
    trace.step("Expiry", Some(code != Code::Expired), || match found.expires_at {
        None => "never expires".into(),
        Some(t) if t <= now => format!("expired {}", crate::clock::format_time(t)),
        Some(t) => format!("expires {}", crate::clock::format_time(t)),
    });
    let mut reason = None;
    let mut missing = Vec::new();
    if code == Code::Valid {
        if r.ip_allow.is_empty() {
            trace.step("IP allow-list", None, || "none: any address".into());
        } else {
            let from = context.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
            let allowed = from.is_some_and(|ip| r.ip_allow.allows(ip));
            let address = context.ip.as_deref().unwrap_or("an unknown address").to_owned();
            trace.step("IP allow-list", Some(allowed), || {
                format!("{address} {} {}", if allowed { "is within" } else { "is not within" }, r.ip_allow.to_text())
            });
            if !allowed {
                code = Code::IpNotAllowed;
                reason = Some(format!("{address} is not on the key's IP allow-list"));
            }
        }
    }
    if let Code::Valid = code {
        match &context.want {
            None => {
                trace.step("Permission or URI rule", None, || "nothing asked: only whether the key is usable".into())
            }
            Some(want) => match r.profile.access().check(want) {
                Ok(p) => {
                    trace.step("Permission or URI rule", Some(true), || format!("the key holds {}", p.name));
                    trace.step("Owner's grants", Some(true), || format!("the owner holds {}", p.name));
                }
                Err(denial) => {
                    let owner = matches!(denial, crate::domain::access::Denial::OwnerLacks(_));
                    trace.step("Permission or URI rule", Some(owner), || {
                        if owner { "the key holds a permission that covers it".into() } else { denial.to_string() }
                    });
                    if owner {
                        trace.step("Owner's grants", Some(false), || denial.to_string());
                    }
                    code = Code::Forbidden;
                    missing = denial.missing();
                    reason = Some(denial.to_string());
                }
            },
        }
    }
    if code == Code::Valid
        && let Some(rate) = r.rate
    {
        let admitted = if trace.on {
            state.verify_cache.peek(r.key_id, rate, now) < rate.limit
        } else {
            state.verify_cache.admit(r.key_id, rate, now)
        };
        trace.step("Rate limit", Some(admitted), || {
            format!("{} requests per {}{}", rate.limit, rate.window_name(), if admitted { "" } else { ": reached" })
        });
        if !admitted {
            code = Code::RateLimited;
            reason = Some(format!("more than {} requests per {}", rate.limit, rate.window_name()));
        }
    } else if code == Code::Valid {
        trace.step("Rate limit", None, || "none".into());
    }
    if code == Code::Valid && !trace.on {
        let secret = (r.secret_id, found.secret_retires_at.is_some());
        state.usage.record(r.key_id, secret, now, context.ip.as_deref(), context.path.as_deref());
    }
    Ok(Some(Verdict { code, reason, missing, key: Some(r) }))
}
