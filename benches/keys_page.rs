//! The API Keys page with many keys: p50/p95/p99 latency of the default view, indexed filters, sorts,
//! a second page and searches, over loopback, one request at a time.
//!
//!     cargo bench --bench keys_page                       # 100,000 keys on SQLite
//!     KEYWARD_BENCH_KEYS=10000 cargo bench --bench keys_page
//!     KEYWARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/keyward_bench cargo bench --bench keys_page
//!
//! Targets (SPEC §8): p95 ≤ 10 ms for the default view and indexed filters, ≤ 50 ms for any search.

use std::time::{Duration, Instant};

use keyward::clock::Clock;
use keyward::config::Config;
use keyward::crypto::SecretString;
use keyward::db::DatabaseUrl;
use keyward::domain::audit::Actor;
use keyward::services::accounts::{NewUserForm, Origin, create_user};
use keyward::startup::Application;

const PASSWORD: &str = "benchmark password 1234";
const SAMPLES: usize = 200;

fn main() {
    let keys: usize = std::env::var("KEYWARD_BENCH_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(run(keys));
}

async fn run(keys: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = match std::env::var("KEYWARD_BENCH_DATABASE_URL") {
        Ok(url) => DatabaseUrl::parse(&url).expect("database url"),
        Err(_) => DatabaseUrl::sqlite_in(dir.path()),
    };
    let mut config = Config::with_defaults(dir.path().to_path_buf(), database.clone());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.workers = 1;
    let app = Application::build(config, Clock::System).expect("server");
    let state = app.state().clone();
    let base = format!("http://127.0.0.1:{}", app.port());

    let form = NewUserForm {
        email: "bench@example.com".into(),
        name: "Bench".into(),
        role: "admin".into(),
        password: SecretString::new(PASSWORD.into()),
        confirm: SecretString::new(PASSWORD.into()),
        permissions: Vec::new(),
    };
    create_user(&state, Origin { actor: Actor::System("benchmark"), ip: None }, None, form).await.expect("admin");
    let started = Instant::now();
    let seeding = state.clone();
    tokio::task::spawn_blocking(move || keyward::services::demo::load(&seeding, keys))
        .await
        .expect("join")
        .expect("seed");
    eprintln!("seeded {keys} keys on {database:?} in {:.1} s", started.elapsed().as_secs_f64());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client.get(format!("{base}/login")).send().await.expect("login page").text().await.expect("body");
    let csrf = login.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("csrf");
    let signed_in = client
        .post(format!("{base}/login"))
        .form(&[("csrf_token", csrf), ("email", "bench@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "sign-in failed");

    let first = client.get(format!("{base}/keys")).send().await.expect("keys").text().await.expect("body");
    let next = first
        .split("rel=\"next\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .and_then(|s| s.split('"').next())
        .map(|s| s.replace("&#38;", "&").replace("&amp;", "&"))
        .expect("a next page");

    println!("\nAPI Keys page, {keys} keys, {SAMPLES} sequential requests each (ms)");
    println!("{:<44} {:>7} {:>7} {:>7} {:>7}  rows", "view", "p50", "p95", "p99", "max");
    let views: [(&str, String); 11] = [
        ("default (newest first)", "/keys".into()),
        ("default, htmx fragment", "/keys".into()),
        ("second page (cursor)", next),
        ("filter: active", "/keys?filter=active".into()),
        ("filter: inactive", "/keys?filter=inactive".into()),
        ("filter: expiring within 30 days", "/keys?filter=expiring&days=30".into()),
        ("sort: name", "/keys?sort=name&dir=asc".into()),
        ("search: common word (telemetry)", "/keys?q=telemetry".into()),
        ("search: one key by name", format!("/keys?q=demo%20key%20{:06}", keys.saturating_sub(7))),
        ("search: identifier fragment", "/keys?q=70b3d5000000000a".into()),
        ("search: no match", "/keys?q=zzzzzz".into()),
    ];
    for (label, path) in views {
        let htmx = label.contains("htmx");
        let mut times = Vec::with_capacity(SAMPLES);
        let mut rows = 0;
        for i in 0..SAMPLES + 20 {
            let mut request = client.get(format!("{base}{path}"));
            if htmx {
                request = request.header("HX-Request", "true");
            }
            let t = Instant::now();
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200, "{path}");
            let body = response.text().await.expect("body");
            let elapsed = t.elapsed();
            if i >= 20 {
                times.push(elapsed);
            }
            rows = body.matches("<td><a href=\"/keys/").count();
        }
        times.sort();
        let at = |q: f64| ms(times[((times.len() as f64 * q) as usize).min(times.len() - 1)]);
        println!(
            "{label:<44} {:>7.2} {:>7.2} {:>7.2} {:>7.2}  {rows}",
            at(0.50),
            at(0.95),
            at(0.99),
            ms(times[times.len() - 1])
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
