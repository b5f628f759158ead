//! The API Keys page with many keys: p50/p95/p99 latency of the default view, indexed filters, sorts,
//! a second page and searches, over loopback, one request at a time.
//!
//!     cargo bench --bench keys_page                       # 100,000 keys on SQLite
//!     KEYWARD_BENCH_KEYS=10000 cargo bench --bench keys_page
//!     KEYWARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/keyward_bench cargo bench --bench keys_page
//!
//! Then sign-in: the whole `POST /login` beside argon2id alone.
//!
//! Targets (SPEC §8): p95 ≤ 10 ms for the default view and indexed filters, ≤ 50 ms for any search;
//! sign-in within argon2 time + 10 ms.

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
        invite: false,
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

    let (client, form) = login_form(&base).await;
    let signed_in = client.post(format!("{base}/login")).form(&form).send().await.expect("sign in");
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
    sign_in(&state, &base).await;
}

/// Sign-in against the password hash alone: the whole `POST /login` (a fresh session each time) and
/// argon2id verifying the same password through the same service, `SAMPLES / 10` of each.
async fn sign_in(state: &keyward::state::AppState, base: &str) {
    let email = keyward::domain::email::Email::parse("bench@example.com").expect("email");
    let hash = state
        .db
        .read(|c| keyward::db::accounts::find_by_email(c, &email))
        .expect("query")
        .expect("account")
        .password_hash;
    let (mut whole, mut argon) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES / 10 {
        let t = Instant::now();
        let checked = state.passwords.verify(PASSWORD.to_owned(), hash.clone()).await.expect("verify");
        argon.push(t.elapsed());
        assert!(checked.ok);
        let (client, form) = login_form(base).await;
        let t = Instant::now();
        let response = client.post(format!("{base}/login")).form(&form).send().await.expect("sign in");
        whole.push(t.elapsed());
        assert_eq!(response.status(), 303, "sign-in failed");
    }
    whole.sort();
    argon.sort();
    let (w, a) = (ms(whole[whole.len() / 2]), ms(argon[argon.len() / 2]));
    println!(
        "\nSign-in, {} each (ms, p50): POST /login {w:.1}, argon2id alone {a:.1}, overhead {:.1}",
        whole.len(),
        w - a
    );
}

/// A fresh browser that has loaded the sign-in page, and the filled-in form to post.
async fn login_form(base: &str) -> (reqwest::Client, [(&'static str, String); 3]) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let login = client.get(format!("{base}/login")).send().await.expect("login page").text().await.expect("body");
    let csrf = login.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("csrf");
    let form = [("csrf_token", csrf.to_owned()), ("email", "bench@example.com".into()), ("password", PASSWORD.into())];
    (client, form)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
