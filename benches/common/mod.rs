//! What the benchmarks share: wrk runs and their figures, and a PostgreSQL database of their own.
#![allow(dead_code)]

use std::process::Command;

/// Every script's start: the keys, one per line, and the next one's index. Each script's `request`
/// presents `keys[i]` after `i = i % #keys + 1`, so each run cycles through every key.
pub const PRELUDE: &str = r#"
local keys = {}
for line in io.lines(os.getenv("KEYWARD_BENCH_KEY_FILE")) do keys[#keys + 1] = line end
local i = 0
"#;

/// Verification: the key in a JSON body.
pub const VERIFY: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #keys + 1
  return wrk.format(nil, nil, nil, '{"key":"' .. keys[i] .. '"}')
end
"#;

/// `/healthz` driven the way the others are — a Lua `request` call per request presenting the next key,
/// which it ignores — so that wrk does the same work in every run and the ratios compare the server's.
/// (At one connection wrk's own time per request is part of every latency; without a script it is
/// smaller.)
pub const HEALTH: &str = r#"
request = function()
  i = i % #keys + 1
  return wrk.format("GET", nil, { ["X-API-Key"] = keys[i] })
end
"#;

#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A server on `database` with a cache of `cache` keys (0: off) whose entries outlive any run: only
/// changes may end a cached answer.
pub fn server(
    dir: &std::path::Path,
    database: &keyward::db::DatabaseUrl,
    cache: usize,
) -> keyward::startup::Application {
    let mut config = keyward::config::Config::with_defaults(dir.to_path_buf(), database.clone());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.cache_capacity = cache;
    config.cache_ttl_secs = 3_600;
    keyward::startup::Application::build(config, keyward::clock::Clock::System).expect("server")
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn have_wrk() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// One wrk run with one thread; panics on socket errors, and on non-2xx answers unless `any_status`.
pub fn wrk(
    url: &str,
    script: Option<&std::path::Path>,
    connections: usize,
    secs: u64,
    key_file: &std::path::Path,
    any_status: bool,
) -> Run {
    let mut command = Command::new("wrk");
    command
        .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency"])
        .env("KEYWARD_BENCH_KEY_FILE", key_file);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().expect("wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(any_status || !text.contains("Non-2xx"), "wrk saw errors:\n{text}");
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

pub fn median(values: impl Iterator<Item = f64>) -> f64 {
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

/// A database of its own beside the one `admin_url` names, dropped with the value.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create(admin_url: &str) -> Self {
        use diesel::{Connection as _, RunQueryDsl as _};
        let name = format!("keyward_bench_{}", hex::encode(keyward::crypto::random_bytes::<4>()));
        let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).expect("create database");
        let (head, query) = admin_url.split_once('?').map_or((admin_url, None), |(h, q)| (h, Some(q)));
        let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
        let url = query.map_or_else(|| format!("{base}/{name}"), |q| format!("{base}/{name}?{q}"));
        PgDatabase { admin_url: admin_url.to_owned(), name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::{Connection as _, RunQueryDsl as _};
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                .execute(&mut admin);
        }
    }
}
