//! Revocation propagation between two instances on one PostgreSQL database: for each key, instance B
//! verifies it (so its answer is cached), instance A deactivates it, and B is asked every millisecond
//! until it refuses. Prints p50/p99/max from A's acknowledgement to B's first refusal.
//!
//!     KEYWARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench propagation
//!     KEYWARD_BENCH_REVOCATIONS=1000 …                 # default 300
//!
//! The URL names a database to connect to; the benchmark creates a database of its own beside it and
//! drops it afterwards. Target (SPEC §8): p99 ≤ 1 s.

mod common;

use std::time::{Duration, Instant};

use keyward::clock::Clock;
use keyward::config::Config;
use keyward::db::DatabaseUrl;
use keyward::domain::audit::Actor;
use keyward::domain::role::ConsoleRole;
use keyward::services::Caller;
use keyward::services::accounts::Origin;
use keyward::startup::Application;
use serde_json::{Value, json};

fn main() {
    let Ok(admin_url) = std::env::var("KEYWARD_BENCH_DATABASE_URL") else {
        eprintln!("set KEYWARD_BENCH_DATABASE_URL=postgres://… (PostgreSQL); skipping the propagation benchmark");
        return;
    };
    let revocations: usize =
        std::env::var("KEYWARD_BENCH_REVOCATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let database = common::PgDatabase::create(&admin_url);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(&database.url, revocations));
    drop(runtime);
}

fn server(dir: &std::path::Path, url: &str) -> Application {
    let mut config = Config::with_defaults(dir.to_path_buf(), DatabaseUrl::parse(url).expect("url"));
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.workers = 1;
    // Nothing but the notice (or the epoch) may end a cached answer during the run.
    config.cache_ttl_secs = 3_600;
    Application::build(config, Clock::System).expect("server")
}

async fn code(client: &reqwest::Client, url: &str, key: &str) -> (String, i64) {
    let answer: Value =
        client.post(url).json(&json!({ "key": key })).send().await.expect("verify").json().await.expect("json");
    (answer["code"].as_str().unwrap_or_default().to_owned(), answer["key_id"].as_i64().unwrap_or(0))
}

async fn run(url: &str, revocations: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (server(dir.path(), url), server(dir.path(), url));
    let state = a.state().clone();
    let verify_b = format!("http://127.0.0.1:{}/api/v1/keys/verify", b.port());
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());

    let seeding = state.clone();
    let secrets = tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::new();
        keyward::services::demo::load_with(&seeding, revocations + revocations / 6 + 1, |k| {
            secrets.push(k.expose().to_owned());
        })
        .expect("seed");
        secrets
    })
    .await
    .expect("join");
    let workspace = state.db.read(keyward::db::workspaces::first).expect("query").expect("workspace").id;
    let caller = Caller {
        workspace_id: workspace,
        account_id: None,
        role: ConsoleRole::Administrator,
        origin: Origin { actor: Actor::System("benchmark"), ip: None },
    };

    let client = reqwest::Client::new();
    let mut took = Vec::with_capacity(revocations);
    for key in secrets.iter().take(revocations) {
        // Cached on B: the second answer comes from its cache.
        let (first, id) = code(&client, &verify_b, key).await;
        assert_eq!(first, "VALID");
        assert_eq!(code(&client, &verify_b, key).await.0, "VALID");
        let (s, c) = (state.clone(), caller.clone());
        tokio::task::spawn_blocking(move || keyward::services::keys::set_active(&s, &c, &[id], false))
            .await
            .expect("join")
            .expect("deactivate");
        let acknowledged = Instant::now();
        loop {
            if code(&client, &verify_b, key).await.0 == "INACTIVE" {
                took.push(acknowledged.elapsed());
                break;
            }
            assert!(acknowledged.elapsed() < Duration::from_secs(10), "B never saw the change");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    took.sort();
    let at = |q: f64| {
        let i = ((took.len() as f64 * q) as usize).min(took.len() - 1);
        took[i].as_secs_f64() * 1000.0
    };
    println!(
        "revocation A → B, {} deactivations: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 ≤ 1000 ms)",
        took.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
