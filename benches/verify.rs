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

use std::io::Write as _;
use std::process::Command;

use keyward::clock::Clock;
use keyward::config::Config;
use keyward::db::DatabaseUrl;
use keyward::startup::Application;

/// Every script's start: the keys, one per line, and the next one's index. Each script's `request`
/// presents `keys[i]` after `i = i % #keys + 1`, so each run cycles through every key.
const PRELUDE: &str = r#"
local keys = {}
for line in io.lines(os.getenv("KEYWARD_BENCH_KEY_FILE")) do keys[#keys + 1] = line end
local i = 0
"#;

/// Verification: the key in a JSON body.
const VERIFY: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #keys + 1
  return wrk.format(nil, nil, nil, '{"key":"' .. keys[i] .. '"}')
end
"#;

/// Forward-auth as a reverse proxy asks it: the key in `X-API-Key`, the original request in headers.
/// Most demo keys hold no permission for the path, so most answers are a 403: a decision all the same.
const FORWARD_AUTH: &str = r#"
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/api/v1/authorize",
    { ["X-API-Key"] = keys[i], ["X-Original-Method"] = "GET", ["X-Original-URI"] = "/devices/42" })
end
"#;

/// `/healthz` driven the way the others are — a Lua `request` call per request presenting the next key,
/// which it ignores — so that wrk does the same work in every run and the ratios compare the server's.
/// (At one connection wrk's own time per request is part of every latency; without a script it is
/// smaller, and that run is printed too, as "plain wrk".)
const HEALTH: &str = r#"
request = function()
  i = i % #keys + 1
  return wrk.format("GET", nil, { ["X-API-Key"] = keys[i] })
end
"#;

/// The row of `/healthz` driven like the others, that the ratios divide by.
const HEALTH_ROW: usize = 1;

#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed (apt-get install wrk); skipping the verification benchmark");
        return;
    }
    let keys: usize = env_or("KEYWARD_BENCH_KEYS", 100_000);
    let secs: u64 = env_or("KEYWARD_BENCH_SECS", 5);
    let rounds: usize = env_or("KEYWARD_BENCH_ROUNDS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(keys, secs, rounds));
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn server(dir: &std::path::Path, database: &DatabaseUrl, cache: usize) -> Application {
    let mut config = Config::with_defaults(dir.to_path_buf(), database.clone());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.cache_capacity = cache;
    // The steady state of one instance: entries live past the whole run (the time to live only bounds
    // how long another instance's changes go unseen).
    config.cache_ttl_secs = 3_600;
    Application::build(config, Clock::System).expect("server")
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
                runs[row].push(wrk(url, script.map(std::path::PathBuf::as_path), connections, secs, &key_file));
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

fn wrk(url: &str, script: Option<&std::path::Path>, connections: usize, secs: u64, key_file: &std::path::Path) -> Run {
    let mut command = Command::new("wrk");
    command
        .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency"])
        .env("KEYWARD_BENCH_KEY_FILE", key_file);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().expect("wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    // Forward-auth answers 403 for a key without the permission; anything else must be a 2xx.
    let forward_auth = url.ends_with("/authorize");
    assert!(forward_auth || !text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    assert!(!text.contains("Socket errors"), "wrk saw socket errors:\n{text}");
    let value = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in\n{text}"));
        let raw = line.trim_start_matches(prefix).split_whitespace().next().unwrap_or("0");
        parse_ms(raw)
    };
    Run { rps: value("Requests/sec:"), p50_ms: value("50%"), p99_ms: value("99%") }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// wrk prints `812.00us`, `1.20ms`, `2.00s`, or a bare number (requests/s).
fn parse_ms(raw: &str) -> f64 {
    let number = |s: &str| s.parse::<f64>().unwrap_or(0.0);
    if let Some(v) = raw.strip_suffix("us") {
        number(v) / 1000.0
    } else if let Some(v) = raw.strip_suffix("ms") {
        number(v)
    } else if let Some(v) = raw.strip_suffix('s') {
        number(v) * 1000.0
    } else {
        number(raw)
    }
}
