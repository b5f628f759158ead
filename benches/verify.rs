//! Verification throughput and latency against the server's own trivial endpoint, in one run:
//! `/healthz`, `POST /api/v1/keys/verify` with a warm cache, the same with the cache turned off (every
//! request a database lookup), and forward-auth (`GET /api/v1/authorize`) with a warm cache, at 1 and 64
//! connections, driven by `wrk` in its own process. The five runs are repeated in rounds, one after
//! another, and each figure is the median over the rounds: on a shared 2-core machine a single run's
//! ratio swings by ±10 points with whatever else the cores are doing at that moment.
//!
//!     cargo bench --bench verify                                  # 100,000 keys, SQLite, 3 rounds of 5 s runs
//!     KEYWARD_BENCH_KEYS=10000 KEYWARD_BENCH_SECS=2 KEYWARD_BENCH_ROUNDS=5 cargo bench --bench verify
//!     KEYWARD_BENCH_HOLD=1 cargo bench --bench verify             # seed, warm, then serve for profiling
//!
//! Needs `wrk` (Debian: `apt-get install wrk`). Targets (SPEC §8): cached verify ≥ 80% of `/healthz`
//! requests/s and p99 ≤ 1 ms at 1 connection; uncached ≥ 35%.

mod common;

use std::io::Write as _;

use common::{HEALTH, PRELUDE, VERIFY, env_or, have_wrk, median, server};

use keyward::db::DatabaseUrl;

/// Forward-auth as a reverse proxy asks it: the key in `X-API-Key`, the original request in headers.
/// Most demo keys hold no permission for the path, so most answers are a 403: a decision all the same.
const FORWARD_AUTH: &str = r#"
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/api/v1/authorize",
    { ["X-API-Key"] = keys[i], ["X-Original-Method"] = "GET", ["X-Original-URI"] = "/devices/42" })
end
"#;

/// The row of `/healthz` driven like the others, that the ratios divide by.
const HEALTH_ROW: usize = 1;

fn main() {
    if !have_wrk() {
        eprintln!("wrk is not installed (apt-get install wrk); skipping the verification benchmark");
        return;
    }
    let keys: usize = env_or("KEYWARD_BENCH_KEYS", 100_000);
    let secs: u64 = env_or("KEYWARD_BENCH_SECS", 5);
    let rounds: usize = env_or("KEYWARD_BENCH_ROUNDS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(keys, secs, rounds));
}

async fn run(keys: usize, secs: u64, rounds: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = DatabaseUrl::sqlite_in(dir.path());
    let cached = server(dir.path(), &database, 200_000);
    let uncached = server(dir.path(), &database, 0);
    let state = cached.state().clone();
    let started = std::time::Instant::now();
    let seeding = state.clone();
    let secrets = tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::with_capacity(keys);
        keyward::services::demo::load_with(&seeding, keys, |k| secrets.push(k.expose().to_owned())).expect("seed");
        secrets
    })
    .await
    .expect("join");
    eprintln!("seeded {keys} keys ({} active) in {:.1} s", secrets.len(), started.elapsed().as_secs_f64());
    let key_file = dir.path().join("keys.txt");
    let mut file = std::fs::File::create(&key_file).expect("key file");
    for k in &secrets {
        writeln!(file, "{k}").expect("write");
    }
    let lua = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{PRELUDE}{body}")).expect("script");
        path
    };
    let (script, forward, health_script) =
        (lua("verify.lua", VERIFY), lua("forward.lua", FORWARD_AUTH), lua("health.lua", HEALTH));
    // Warm the cache with every key, as a long-running instance would be.
    let warming = state.clone();
    tokio::task::spawn_blocking(move || {
        for k in &secrets {
            let verdict = keyward::services::verify::verify(&warming, k, &Default::default()).expect("verify");
            assert!(verdict.valid(), "a seeded key verifies");
        }
    })
    .await
    .expect("warm");
    let (cached_url, uncached_url) =
        (format!("http://127.0.0.1:{}", cached.port()), format!("http://127.0.0.1:{}", uncached.port()));
    tokio::spawn(cached.run_until_stopped());
    tokio::spawn(uncached.run_until_stopped());
    if std::env::var_os("KEYWARD_BENCH_HOLD").is_some() {
        // For profiling: keep both servers up for wrk and perf driven by hand.
        eprintln!("holding: cached {cached_url}, uncached {uncached_url}, keys in {}", key_file.display());
        eprintln!("scripts: {}, {}, {}", script.display(), forward.display(), health_script.display());
        std::future::pending::<()>().await;
    }

    println!(
        "{keys} keys, SQLite, {rounds} rounds of {secs} s runs, medians; wrk with 1 thread; \
         server with 2 workers on the same 2 cores"
    );
    println!("| endpoint | connections | requests/s | p50 | p99 | vs /healthz (range over rounds) |");
    println!("|---|---|---|---|---|---|");
    let endpoints = [
        ("/healthz, plain wrk", format!("{cached_url}/healthz"), None),
        ("/healthz", format!("{cached_url}/healthz"), Some(&health_script)),
        ("verify, cached", format!("{cached_url}/api/v1/keys/verify"), Some(&script)),
        ("verify, uncached", format!("{uncached_url}/api/v1/keys/verify"), Some(&script)),
        ("forward-auth, cached", format!("{cached_url}/api/v1/authorize"), Some(&forward)),
    ];
    for connections in [1, 64] {
        // runs[endpoint][round]
        let mut runs = vec![Vec::with_capacity(rounds); endpoints.len()];
        for _ in 0..rounds {
            for (row, (_, url, script)) in endpoints.iter().enumerate() {
                // Forward-auth answers 403 for a key without the permission; anything else must be a 2xx.
                let any_status = url.ends_with("/authorize");
                let script = script.map(std::path::PathBuf::as_path);
                runs[row].push(common::wrk(url, script, connections, secs, &key_file, any_status));
            }
        }
        for ((name, _, _), row) in endpoints.iter().zip(&runs) {
            let ratios: Vec<f64> =
                row.iter().zip(&runs[HEALTH_ROW]).map(|(r, health)| 100.0 * r.rps / health.rps).collect();
            let (low, high) = ratios.iter().fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
            println!(
                "| {name} | {connections} | {:.0} | {:.3} ms | {:.3} ms | {:.0}% ({low:.0}–{high:.0}%) |",
                median(row.iter().map(|r| r.rps)),
                median(row.iter().map(|r| r.p50_ms)),
                median(row.iter().map(|r| r.p99_ms)),
                median(ratios.iter().copied()),
            );
        }
    }
    let hits = state.verify_cache.hits.load(std::sync::atomic::Ordering::Relaxed);
    let misses = state.verify_cache.misses.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "cache on the cached server: {hits} hits, {misses} misses (the misses are the warm-up); write generation {}",
        state.db.generation()
    );
}
