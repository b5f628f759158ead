//! Verification while people work. Cached verification of one owner's keys, presented in turn, with no
//! changes, with one unrelated change per second (a key created for someone else), and with one change
//! per second to the presented keys' owner (a permission granted or taken back): on one instance, and on
//! two (changes made on A, verification asked of B, as behind a load balancer). Then uncached
//! verification (cache off) at 1 and 64 connections. Every figure against `/healthz` of the same server;
//! the runs of a table alternate in rounds and each figure is the median over the rounds.
//!
//!     cargo bench --bench churn                                     # SQLite
//!     KEYWARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench churn
//!     KEYWARD_BENCH_KEYS=2000 KEYWARD_BENCH_SECS=5 KEYWARD_BENCH_ROUNDS=3 …   # the defaults
//!     KEYWARD_BENCH_ONLY=uncached …   # only the cache-off table (`churn` only the other; `postgres` skips SQLite)
//!
//! With a PostgreSQL URL both backends run (the benchmark creates a database of its own beside the one
//! named, and drops it). Needs `wrk`. Targets (issue #30): an unrelated change per second keeps ≥ 0.90 of
//! the no-change throughput and p99 ≤ 1.5× on both backends, one and two instances; PostgreSQL uncached
//! at 64 connections ≥ 0.25 of `/healthz`, at 1 connection p50 ≤ 0.3 ms.

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{HEALTH, PRELUDE, Run, VERIFY, env_or, have_wrk, median, server};
use keyward::db::DatabaseUrl;
use keyward::domain::audit::Actor;
use keyward::domain::role::ConsoleRole;
use keyward::services::Caller;
use keyward::services::accounts::Origin;
use keyward::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Churn {
    Quiet,
    Unrelated,
    Owner,
}

impl Churn {
    fn label(self) -> &'static str {
        match self {
            Churn::Quiet => "no change",
            Churn::Unrelated => "an unrelated key created each second",
            Churn::Owner => "the presented keys' owner's grants changed each second",
        }
    }
}

struct Setting {
    keys: usize,
    secs: u64,
    rounds: usize,
    /// `KEYWARD_BENCH_ONLY`: a comma-separated subset of `churn`, `uncached`, `postgres`; empty for all.
    only: String,
}

impl Setting {
    fn names(&self, part: &str) -> bool {
        self.only.split(',').any(|p| p.trim() == part)
    }

    /// Whether a table runs: all do unless some are named.
    fn runs(&self, table: &str) -> bool {
        !(self.names("churn") || self.names("uncached")) || self.names(table)
    }
}

fn main() {
    if !have_wrk() {
        eprintln!("wrk is not installed (apt-get install wrk); skipping the churn benchmark");
        return;
    }
    let setting = Setting {
        keys: env_or("KEYWARD_BENCH_KEYS", 2_000),
        secs: env_or("KEYWARD_BENCH_SECS", 5),
        rounds: env_or("KEYWARD_BENCH_ROUNDS", 3).max(1),
        only: std::env::var("KEYWARD_BENCH_ONLY").unwrap_or_default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    if !setting.names("postgres") {
        runtime.block_on(bench("SQLite", DatabaseUrl::sqlite_in(dir.path()), dir.path(), &setting));
    }
    match std::env::var("KEYWARD_BENCH_DATABASE_URL") {
        Ok(admin_url) => {
            let database = common::PgDatabase::create(&admin_url);
            let url = DatabaseUrl::parse(&database.url).expect("url");
            let dir = tempfile::tempdir().expect("temp dir");
            runtime.block_on(bench("PostgreSQL", url, dir.path(), &setting));
        }
        Err(_) => eprintln!("set KEYWARD_BENCH_DATABASE_URL=postgres://… to measure PostgreSQL too"),
    }
}

/// What the changes need: the workspace, an administrator acting, the presented keys' owner, someone
/// else, a key type without an identifier, and a permission to grant and take back.
#[derive(Clone)]
struct Scene {
    caller: Caller,
    workspace: i64,
    owner: i64,
    other: i64,
    key_type: i64,
    permission: i64,
}

async fn bench(backend: &str, database: DatabaseUrl, dir: &std::path::Path, setting: &Setting) {
    let a = server(dir, &database, 200_000);
    let b = server(dir, &database, 200_000);
    let uncached = server(dir, &database, 0);
    let state = a.state().clone();
    // Demo keys are spread over four owners and one in seven is inactive: seed enough for one owner to
    // have `keys` active ones.
    let seeding = state.clone();
    let seeded = setting.keys * 14 / 3;
    let secrets = tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::new();
        keyward::services::demo::load_with(&seeding, seeded, |k| secrets.push(k.expose().to_owned())).expect("seed");
        secrets
    })
    .await
    .expect("join");
    if database.is_postgres() {
        // As autovacuum would soon after: the planner's statistics of the freshly seeded tables.
        use diesel::connection::SimpleConnection as _;
        state.db.read(|c| c.batch_execute("ANALYZE")).expect("analyze");
    }
    let (scene, presented) = tokio::task::spawn_blocking({
        let state = state.clone();
        move || scene(&state, &secrets)
    })
    .await
    .expect("join");
    let key_file = dir.join("churn-keys.txt");
    let mut file = std::fs::File::create(&key_file).expect("key file");
    for k in &presented {
        writeln!(file, "{k}").expect("write");
    }
    let lua = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{PRELUDE}{body}")).expect("script");
        path
    };
    let (verify, health) = (lua("churn-verify.lua", VERIFY), lua("churn-health.lua", HEALTH));
    let (url_a, url_b, url_uncached) = (
        format!("http://127.0.0.1:{}", a.port()),
        format!("http://127.0.0.1:{}", b.port()),
        format!("http://127.0.0.1:{}", uncached.port()),
    );
    let state_b = b.state().clone();
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());
    tokio::spawn(uncached.run_until_stopped());
    for (s, name) in [(&state, "A"), (&state_b, "B")] {
        let (s, keys) = (s.clone(), presented.clone());
        tokio::task::spawn_blocking(move || {
            for k in &keys {
                assert!(keyward::services::verify::verify(&s, k, &Default::default()).expect("verify").valid());
            }
        })
        .await
        .unwrap_or_else(|e| panic!("warming {name}: {e}"));
    }

    let tables: &[(usize, &String)] = if setting.runs("churn") { &[(1, &url_a), (2, &url_b)] } else { &[] };
    if !tables.is_empty() {
        println!(
            "\n{backend}: {} keys of one owner presented in turn, wrk -t1 -c64, {} rounds of {} s runs, medians",
            presented.len(),
            setting.rounds,
            setting.secs
        );
        println!("| instances | changes | requests/s | p50 | p99 | vs no change (req/s, p99) | vs /healthz |");
        println!("|---|---|---|---|---|---|---|");
    }
    for &(instances, url) in tables {
        let churns = [Churn::Quiet, Churn::Unrelated, Churn::Owner];
        let (mut healths, mut runs) = (Vec::new(), vec![Vec::new(); churns.len()]);
        for _ in 0..setting.rounds {
            healths.push(measure(&format!("{url}/healthz"), &health, 64, setting, &key_file, None).await);
            for (row, churn) in churns.iter().enumerate() {
                let changing = (*churn != Churn::Quiet).then(|| (state.clone(), scene.clone(), *churn));
                runs[row].push(
                    measure(&format!("{url}/api/v1/keys/verify"), &verify, 64, setting, &key_file, changing).await,
                );
            }
        }
        let quiet = (median(runs[0].iter().map(|r| r.rps)), median(runs[0].iter().map(|r| r.p99_ms)));
        let health = median(healths.iter().map(|r| r.rps));
        for (churn, row) in churns.iter().zip(&runs) {
            let (rps, p99) = (median(row.iter().map(|r| r.rps)), median(row.iter().map(|r| r.p99_ms)));
            println!(
                "| {instances} | {} | {rps:.0} | {:.2} ms | {p99:.2} ms | {:.2}, {:.2}× | {:.2} |",
                churn.label(),
                median(row.iter().map(|r| r.p50_ms)),
                rps / quiet.0,
                p99 / quiet.1,
                rps / health,
            );
        }
    }

    let connections: &[usize] = if setting.runs("uncached") { &[1, 64] } else { &[] };
    if !connections.is_empty() {
        println!("\n{backend}: cache off (every verification reads the database), vs the same server's /healthz");
        println!("| connections | requests/s | p50 | p99 | vs /healthz | /healthz p50 |");
        println!("|---|---|---|---|---|---|");
    }
    for &connections in connections {
        let (mut healths, mut runs) = (Vec::new(), Vec::new());
        for _ in 0..setting.rounds {
            let url = &url_uncached;
            healths.push(measure(&format!("{url}/healthz"), &health, connections, setting, &key_file, None).await);
            runs.push(
                measure(&format!("{url}/api/v1/keys/verify"), &verify, connections, setting, &key_file, None).await,
            );
        }
        let rps = median(runs.iter().map(|r| r.rps));
        println!(
            "| {connections} | {rps:.0} | {:.3} ms | {:.3} ms | {:.2} | {:.3} ms |",
            median(runs.iter().map(|r| r.p50_ms)),
            median(runs.iter().map(|r| r.p99_ms)),
            rps / median(healths.iter().map(|r| r.rps)),
            median(healths.iter().map(|r| r.p50_ms)),
        );
    }
    if setting.runs("uncached") {
        // The floor under the one-connection row: the database's own round trip, from this process on one
        // connection, for `SELECT 1` and for the lookup statement itself (no HTTP, no keyward in between);
        // an uncached verification at one connection cannot take less than `/healthz` plus the statement.
        let (state, keys) = (state.clone(), presented.clone());
        let secs = setting.secs;
        let (select_one, statement) =
            tokio::task::spawn_blocking(move || round_trips(&state, &keys, secs)).await.expect("round trips");
        println!(
            "the database alone, one connection: `SELECT 1` p50 {select_one:.3} ms, the lookup statement p50 \
             {statement:.3} ms"
        );
    }
    let drops = |s: &AppState| s.db.changes().drops.load(Ordering::Relaxed);
    println!("whole-cache drops: A {}, B {} (one each at start)", drops(&state), drops(&state_b));
}

/// Median round trips in ms of `SELECT 1` and of the lookup of each presented key in turn, on one
/// connection, for `secs` seconds each.
fn round_trips(state: &AppState, keys: &[String], secs: u64) -> (f64, f64) {
    use diesel::connection::SimpleConnection as _;
    let digests: Vec<[u8; 32]> = keys
        .iter()
        .map(|k| keyward::domain::key::parse(k).expect("a key").key.digest().try_into().expect("32 bytes"))
        .collect();
    let mut conn = state.db.conn().expect("a connection");
    let select_one = timed(&mut conn, secs, |c, _| c.batch_execute("SELECT 1").expect("SELECT 1"));
    let statement = timed(&mut conn, secs, |c, n| {
        let found = keyward::db::lookup::by_digest(c, &digests[n % digests.len()]).expect("lookup");
        assert!(found.is_some(), "the presented key's digest is found");
    });
    (select_one, statement)
}

/// The median time in ms of `step` (given how many ran before) run again and again for `secs` seconds.
fn timed(conn: &mut keyward::db::DbConn, secs: u64, mut step: impl FnMut(&mut keyward::db::DbConn, usize)) -> f64 {
    let (until, mut took) = (std::time::Instant::now() + Duration::from_secs(secs), Vec::new());
    while std::time::Instant::now() < until {
        let start = std::time::Instant::now();
        step(conn, took.len());
        took.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    median(took.into_iter())
}

/// The presented keys (the active keys of the first key's owner) and what the changes need.
fn scene(state: &AppState, secrets: &[String]) -> (Scene, Vec<String>) {
    let owner_of = |k: &String| {
        let verdict = keyward::services::verify::verify(state, k, &Default::default()).expect("verify");
        verdict.key.map(|key| (key.profile.workspace_id, key.profile.owner_id))
    };
    let (workspace, owner) = owner_of(&secrets[0]).expect("a seeded key");
    let presented: Vec<String> = secrets.iter().filter(|k| owner_of(k) == Some((workspace, owner))).cloned().collect();
    let other = secrets.iter().find_map(|k| owner_of(k).filter(|o| o.1 != owner)).expect("another owner").1;
    let (key_type, permission) = state
        .db
        .read(|c| {
            let types = keyward::db::key_types::list(c, workspace)?;
            let key_type = types.iter().find(|t| t.id_field_label.is_none() && !t.one_per_account).map(|t| t.id);
            let permission = keyward::db::permissions::catalogue(c, workspace)?.first().map(|p| p.id);
            Ok::<_, diesel::result::Error>((key_type, permission))
        })
        .expect("read");
    let caller = Caller {
        workspace_id: workspace,
        account_id: None,
        role: ConsoleRole::Administrator,
        origin: Origin { actor: Actor::System("benchmark"), ip: None },
    };
    let scene = Scene {
        caller,
        workspace,
        owner,
        other,
        key_type: key_type.expect("a key type without an identifier"),
        permission: permission.expect("a permission"),
    };
    (scene, presented)
}

/// One change of this kind, made on A.
fn change(state: &AppState, scene: &Scene, churn: Churn, n: usize) {
    match churn {
        Churn::Quiet => {}
        Churn::Unrelated => {
            let form = keyward::services::keys::KeyForm {
                name: format!("churn {n} {}", hex::encode(keyward::crypto::random_bytes::<4>())),
                key_type: scene.key_type.to_string(),
                owner: scene.other.to_string(),
                expiry: "never".to_owned(),
                ..Default::default()
            };
            keyward::services::keys::create(state, &scene.caller, &form).expect("create a key");
        }
        Churn::Owner => {
            state
                .db
                .write(|c| {
                    let (mut permissions, roles) =
                        keyward::db::permissions::account_grant_ids(c, scene.workspace, scene.owner)
                            .map_err(keyward::error::Error::from)?;
                    match permissions.iter().position(|p| *p == scene.permission) {
                        Some(at) => drop(permissions.remove(at)),
                        None => permissions.push(scene.permission),
                    }
                    keyward::db::permissions::set_account_grants(c, scene.workspace, scene.owner, &permissions, &roles)
                        .map_err(keyward::error::Error::from)
                })
                .expect("change the owner's grants");
        }
    }
}

/// One wrk run, with one change per second made meanwhile when asked.
async fn measure(
    url: &str,
    script: &std::path::Path,
    connections: usize,
    setting: &Setting,
    key_file: &std::path::Path,
    changing: Option<(AppState, Scene, Churn)>,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let changer = changing.map(|(state, scene, churn)| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                change(&state, &scene, churn, n);
                n += 1;
            }
        })
    });
    let (url, script, key_file, secs) = (url.to_owned(), script.to_owned(), key_file.to_owned(), setting.secs);
    let run =
        tokio::task::spawn_blocking(move || common::wrk(&url, Some(&script), connections, secs, &key_file, false))
            .await
            .expect("wrk");
    stop.store(true, Ordering::Relaxed);
    if let Some(changer) = changer {
        changer.join().expect("changer");
    }
    run
}
