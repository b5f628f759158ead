//! Two instances on one PostgreSQL database, as behind a load balancer: every change of access made on
//! one reaches the other's verification cache within a second; a notice that is lost (the watcher's
//! connection killed, or a change that sent none) within the documented hard bound; a console session
//! works on either.

use std::time::{Duration, Instant};

use diesel::{Connection as _, RunQueryDsl as _};
use keyward::db::changes::HARD_BOUND;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Peer, TestApp};
use crate::key_lifecycle::secret_in;
use crate::keys::create_key;
use crate::on_both_backends;

/// What the target of SPEC §5 allows another instance.
const WITHIN: Duration = Duration::from_secs(1);

async fn code_at(base: &str, body: &Value) -> String {
    let response =
        reqwest::Client::new().post(format!("{base}/api/v1/keys/verify")).json(body).send().await.expect("verify");
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.expect("json");
    answer["code"].as_str().unwrap_or_default().to_owned()
}

/// Asks `peer` until it answers `want`, failing once `within` has passed; returns how long it took.
async fn until(peer: &Peer, body: &Value, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let code = code_at(&peer.base, body).await;
        if code == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "the other instance still answers {code} after {within:?}, not {want}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Makes sure `peer` has the key's answer cached (asked twice: the second is a hit).
async fn warm(peer: &Peer, body: &Value, want: &str) {
    for _ in 0..2 {
        assert_eq!(code_at(&peer.base, body).await, want);
    }
}

fn pg(app: &TestApp) -> diesel::PgConnection {
    diesel::PgConnection::establish(&app.database_url).expect("connect to the test database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_one_instance_reach_the_other_within_a_second() {
    let Some(a) = TestApp::spawn_if_available(Backend::Postgres).await else { return };
    let b = a.beside().await;
    let admin = a.admin().await;

    // One session, either instance: the cookie key is shared.
    let on_b = admin.at(&b.base);
    let page = on_b.get("/keys").await;
    assert_eq!(page.status, StatusCode::OK, "a session made on A works on B");
    assert!(page.body.contains("API keys"), "{}", page.body);

    let (lock, view) = crate::verify_api::catalogue(&a, &admin).await;

    // Created on A, known on B at once (B never cached it as unknown... and if it had, the notice clears it).
    let (id, key) = create_key(&admin, &[("name", "Shared"), ("permissions", &lock)]).await;
    let want = json!({ "key": key, "permission": "device.lock" });
    until(&b, &want, "VALID", WITHIN).await;
    let mut took = Vec::new();

    // Deactivate and reactivate.
    warm(&b, &want, "VALID").await;
    admin.get(&format!("/keys/{id}")).await;
    assert_eq!(
        admin.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await.status,
        StatusCode::SEE_OTHER
    );
    took.push(until(&b, &want, "INACTIVE", WITHIN).await);
    admin.post(&format!("/keys/{id}/status"), &[("status", "active")]).await;
    took.push(until(&b, &want, "VALID", WITHIN).await);

    // A role given, then taken away.
    admin.get("/roles/new").await;
    admin.post("/roles", &[("name", "Viewers"), ("permissions", &view)]).await;
    let roles = admin.get("/roles").await.body;
    let role = roles[..roles.find(">Viewers</a>").expect("role")]
        .rsplit("href=\"/roles/")
        .next()
        .and_then(|s| s.split('"').next())
        .expect("role id")
        .to_owned();
    let edit = |with_role: bool| {
        let mut fields = vec![("status", "active"), ("expiry", "keep"), ("permissions", lock.as_str())];
        if with_role {
            fields.push(("roles", role.as_str()));
        }
        fields
    };
    admin.get(&format!("/keys/{id}/edit")).await;
    admin.post(&format!("/keys/{id}/edit"), &edit(true)).await;
    let viewing = json!({ "key": key, "permission": "device.view" });
    took.push(until(&b, &viewing, "VALID", WITHIN).await);
    warm(&b, &viewing, "VALID").await;
    admin.get(&format!("/keys/{id}/edit")).await;
    admin.post(&format!("/keys/{id}/edit"), &edit(false)).await;
    took.push(until(&b, &viewing, "FORBIDDEN", WITHIN).await);

    // Regenerated without overlap: the old secret stops, the new one works.
    warm(&b, &want, "VALID").await;
    admin.get(&format!("/keys/{id}/rotate")).await;
    let rotated = secret_in(&admin.post(&format!("/keys/{id}/rotate"), &[("overlap", "0")]).await.body);
    took.push(until(&b, &want, "NOT_FOUND", WITHIN).await);
    let want = json!({ "key": rotated, "permission": "device.lock" });
    until(&b, &want, "VALID", WITHIN).await;

    // The owner is disabled: their keys stop.
    let ops = a.user(&admin, "ops@example.com", "member").await;
    let (_, ops_key) = create_key(&ops, &[("name", "Ops key")]).await;
    let ops_want = json!({ "key": ops_key });
    until(&b, &ops_want, "VALID", WITHIN).await;
    warm(&b, &ops_want, "VALID").await;
    let ops_id = a.account_id("ops@example.com");
    admin.get(&format!("/users/{ops_id}")).await;
    admin.post(&format!("/users/{ops_id}/disable"), &[]).await;
    took.push(until(&b, &ops_want, "INACTIVE", WITHIN).await);

    // Revoked (deleted).
    warm(&b, &want, "VALID").await;
    admin.get("/keys").await;
    admin.post("/keys/delete", &[("ids", &id), ("confirm", "Shared"), ("recent_ok", "1")]).await;
    took.push(until(&b, &want, "NOT_FOUND", WITHIN).await);

    eprintln!("changes reached the other instance after {took:?}");
    let metrics = reqwest::get(format!("{}/metrics", b.base)).await.expect("metrics").text().await.expect("text");
    let notices = metrics.lines().find_map(|l| l.strip_prefix("keyward_change_notices_total ")).unwrap_or("0");
    assert!(notices.parse::<u64>().is_ok_and(|n| n >= 7), "B heard A's notices: {notices}");
    assert!(metrics.contains("keyward_cache_trusted 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_notices_still_take_effect_within_the_hard_bound() {
    let Some(a) = TestApp::spawn_if_available(Backend::Postgres).await else { return };
    let b = a.beside().await;
    let admin = a.admin().await;
    let (first, first_key) = create_key(&admin, &[("name", "First")]).await;
    let (second, second_key) = create_key(&admin, &[("name", "Second")]).await;
    let (first_want, second_want) = (json!({ "key": first_key }), json!({ "key": second_key }));
    until(&b, &first_want, "VALID", WITHIN).await;
    until(&b, &second_want, "VALID", WITHIN).await;
    warm(&b, &first_want, "VALID").await;
    warm(&b, &second_want, "VALID").await;

    // B's watcher loses its connection, and the notice of a deletion made meanwhile with it.
    let watcher = format!("keyward-watch-{}", b.state.db.changes().instance());
    let database = a.database_url.clone();
    let killed: i64 = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&database).expect("connect");
        diesel::sql_query(format!(
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{watcher}'"
        ))
        .get_result::<Count>(&mut conn)
        .expect("terminate")
        .n
    })
    .await
    .expect("join");
    assert_eq!(killed, 1, "B has one watcher connection");
    admin.get("/keys").await;
    admin.post("/keys/delete", &[("ids", &first), ("confirm", "First"), ("recent_ok", "1")]).await;
    let took = until(&b, &first_want, "NOT_FOUND", HARD_BOUND).await;
    eprintln!("with the watcher's connection killed, the deletion reached B after {took:?}");
    let start = Instant::now();
    while b.state.db.changes().reconnects.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the watcher reconnects");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A change committed with no notice at all (as if it were lost on the way): the epoch carries it.
    until(&b, &second_want, "VALID", WITHIN).await;
    warm(&b, &second_want, "VALID").await;
    let mut conn = pg(&a);
    conn.transaction(|c| {
        diesel::sql_query(format!("UPDATE api_keys SET status = 'inactive' WHERE id = {second}")).execute(c)?;
        diesel::sql_query("UPDATE change_epoch SET epoch = epoch + 1").execute(c)
    })
    .expect("a silent change");
    let took = until(&b, &second_want, "INACTIVE", HARD_BOUND).await;
    eprintln!("a change without a notice reached B after {took:?}");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// What a verification answers, as far as a change can alter it.
fn answer(state: &keyward::state::AppState, secret: &str) -> String {
    let verdict = keyward::services::verify::verify(state, secret, &Default::default()).expect("verify");
    match verdict.key {
        Some(key) => {
            format!("{:?} {} {:?} {:?}", verdict.code, key.profile.key_type, key.profile.roles, key.profile.permissions)
        }
        None => format!("{:?}", verdict.code),
    }
}

/// One write transaction on an instance, as its handlers make them.
fn change<T>(
    state: &keyward::state::AppState,
    f: impl FnOnce(&mut keyward::db::DbConn) -> diesel::QueryResult<T>,
) -> keyward::error::Result<T> {
    state.db.write(|c| f(c).map_err(keyward::error::Error::from))
}

/// The database's truth: the same decision with caches that hold nothing.
fn truth(state: &keyward::state::AppState, secret: &str) -> String {
    let mut fresh = state.clone();
    fresh.verify_cache = std::sync::Arc::new(keyward::memory::verify_cache::VerifyCache::new(0, 60));
    answer(&fresh, secret)
}

/// A small deterministic generator: the seed is printed, and `KEYWARD_TEST_SEED` replays a run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap_or(0)
    }

    fn some<T: Copy>(&mut self, of: &[T]) -> Vec<T> {
        of.iter().copied().filter(|_| self.below(2) == 0).collect()
    }
}

/// Random changes on either instance, each checked against the database: the instance that made it answers
/// right at once, the other within the hard bound (and, with its notice heard, well within a second).
/// Changes of one key, its grants, a role, an owner's grants or status, a permission, a key type, the
/// workspace, and rotations; every key is asked on both instances between changes, so all are cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_changes_on_either_instance_reach_both_caches_exactly() {
    use keyward::db::{accounts as account_db, key_types, keys as key_db, permissions, roles, workspaces};
    let Some(a) = TestApp::spawn_if_available(Backend::Postgres).await else { return };
    let b = a.beside().await;
    let seed = std::env::var("KEYWARD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from_le_bytes(keyward::crypto::random_bytes::<8>()) | 1);
    eprintln!("random changes with KEYWARD_TEST_SEED={seed}");
    let (sa, sb) = (a.state.clone(), b.state.clone());
    tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::new();
        keyward::services::demo::load_with(&sa, 14, |k| secrets.push(k.expose().to_owned())).expect("seed");
        let now = sa.now();
        let ws = sa.db.read(workspaces::first).expect("read").expect("workspace").id;
        let catalogue: Vec<i64> =
            sa.db.read(|c| permissions::catalogue(c, ws)).expect("read").iter().map(|p| p.id).collect();
        let custom: Vec<i64> = change(&sa, |c| {
            let mut ids = Vec::new();
            for name in ["Churn one", "Churn two"] {
                let id = roles::insert(c, ws, name, "", now)?;
                roles::set_permissions(c, id, &catalogue[..2])?;
                ids.push(id);
            }
            Ok(ids)
        })
        .expect("roles");
        let readonly = sa.db.read(|c| roles::find_by_name(c, ws, "READONLY")).expect("read").expect("READONLY").id;
        let held_roles = [custom[0], custom[1], readonly];
        let id_of = |secret: &str| {
            keyward::services::verify::verify(&sa, secret, &Default::default())
                .expect("verify")
                .key
                .map(|k| (k.key_id, k.profile.owner_id))
        };
        let mut keys: Vec<(i64, i64, String)> =
            secrets.iter().filter_map(|s| id_of(s).map(|(id, owner)| (id, owner, s.clone()))).collect();
        let caller = keyward::services::Caller {
            workspace_id: ws,
            account_id: None,
            role: keyward::domain::role::ConsoleRole::Administrator,
            origin: keyward::services::accounts::Origin {
                actor: keyward::domain::audit::Actor::System("test"),
                ip: None,
            },
        };
        let mut dice = Dice(seed);
        let (mut slowest, mut archived, mut retired) = (Duration::ZERO, false, Vec::<String>::new());
        for step in 0..40 {
            let (here, there) = if dice.below(2) == 0 { (&sa, &sb) } else { (&sb, &sa) };
            let k = dice.below(keys.len());
            let (key, owner) = (keys[k].0, keys[k].1);
            let what = match dice.below(9) {
                0 => {
                    let active = dice.below(2) == 0;
                    change(here, |c| key_db::set_status(c, key, active, now)).expect("status");
                    format!("key {key} active={active}")
                }
                1 => {
                    let (r, p) = (dice.some(&held_roles), dice.some(&catalogue));
                    change(here, |c| key_db::set_grants(c, key, &r, &p)).expect("grants");
                    format!("key {key} roles {r:?} permissions {p:?}")
                }
                2 => {
                    let (role, p) = (custom[dice.below(2)], dice.some(&catalogue));
                    change(here, |c| roles::set_permissions(c, role, &p)).expect("role");
                    format!("role {role} permissions {p:?}")
                }
                3 => {
                    let (p, r) = (dice.some(&catalogue), dice.some(&held_roles));
                    change(here, |c| permissions::set_account_grants(c, ws, owner, &p, &r)).expect("owner grants");
                    format!("owner {owner} permissions {p:?} roles {r:?}")
                }
                4 => {
                    let disabled = dice.below(2) == 0;
                    change(here, |c| account_db::set_disabled(c, owner, disabled, now)).expect("disable");
                    format!("owner {owner} disabled={disabled}")
                }
                5 => {
                    let p = catalogue[dice.below(catalogue.len())];
                    let writes = dice.below(2) == 0;
                    change(here, |c| {
                        let held = permissions::catalogue(c, ws)?.into_iter().find(|x| x.id == p).expect("permission");
                        let fields = permissions::PermissionFields {
                            name: &held.name,
                            label: &held.label,
                            description: "",
                            high_risk: held.high_risk,
                            writes,
                            rules: &held.rules,
                        };
                        permissions::update(c, p, &fields, now)
                    })
                    .expect("permission");
                    format!("permission {p} writes={writes}")
                }
                6 => {
                    let name = format!("Type {step}");
                    change(here, |c| {
                        let types = key_types::list(c, ws)?;
                        let t = types.iter().find(|t| t.id_field_label.is_none()).expect("a type");
                        let fields = key_types::TypeFields {
                            name: &name,
                            prefix: &t.prefix,
                            id_field_label: None,
                            editable: t.editable,
                        };
                        key_types::update(c, t.id, &fields)
                    })
                    .expect("key type");
                    format!("a key type renamed {name}")
                }
                7 => {
                    archived = !archived;
                    change(here, |c| workspaces::set_archived(c, ws, archived.then_some(now))).expect("archive");
                    format!("workspace archived={archived}")
                }
                _ => match keyward::services::keys::rotate(here, &caller, key, 0) {
                    Ok(new) => {
                        retired.push(std::mem::replace(&mut keys[k].2, new.expose().to_owned()));
                        format!("key {key} rotated")
                    }
                    Err(e) => format!("key {key} not rotated: {e}"),
                },
            };
            let presented: Vec<&String> = keys.iter().map(|k| &k.2).chain(&retired).collect();
            let expected: Vec<String> = presented.iter().map(|s| truth(here, s)).collect();
            for (s, want) in presented.iter().zip(&expected) {
                assert_eq!(&answer(here, s), want, "step {step} ({what}): the instance that made the change");
            }
            let start = Instant::now();
            while presented.iter().zip(&expected).any(|(s, want)| &answer(there, s) != want) {
                assert!(start.elapsed() < HARD_BOUND, "step {step} ({what}): the other instance is still stale");
                std::thread::sleep(Duration::from_millis(2));
            }
            slowest = slowest.max(start.elapsed());
        }
        eprintln!("the slowest change reached the other instance after {slowest:?}");
        assert!(slowest < WITHIN, "every notice was heard within a second: {slowest:?}");
    })
    .await
    .expect("the random run");
}

on_both_backends! {
    /// Another process's change — here the command line creating a key — reaches the server through the
    /// change log (and on PostgreSQL its notice too) and makes stale only what it names: the cached keys
    /// keep answering from the cache, and nothing is dropped wholesale.
    async fn a_change_made_by_another_process_leaves_unrelated_cached_keys_alone(app) {
        let admin = app.admin().await;
        let (_, first) = create_key(&admin, &[("name", "Cached one")]).await;
        let body = json!({ "key": first });
        let state = app.state.clone();
        let misses = || state.verify_cache.misses.load(std::sync::atomic::Ordering::Relaxed);
        let drops = || state.db.changes().drops.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(code_at(&app.base, &body).await, "VALID");
        assert_eq!(code_at(&app.base, &body).await, "VALID");
        let (misses_before, drops_before) = (misses(), drops());

        let (ok, stdout, stderr) =
            app.command(&["key", "create", "--owner", "admin@example.com", "--name", "From the shell", "--role", "READONLY"], &[]);
        assert!(ok, "{stderr}");
        let created = json!({ "key": stdout.trim() });
        // The watcher reads the epoch and the log every second.
        tokio::time::sleep(Duration::from_millis(2_200)).await;
        assert_eq!(code_at(&app.base, &created).await, "VALID");
        assert_eq!(code_at(&app.base, &body).await, "VALID");
        assert_eq!(drops(), drops_before, "nothing was dropped wholesale");
        assert_eq!(misses(), misses_before + 1, "only the new key was read: the cached one still answered");
    }
}
