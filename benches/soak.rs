//! Load soak: the real `keyward` binary on a 100k-key SQLite database, five minutes of mixed traffic —
//! verifications from three clients, a person browsing the console, and an administrator deactivating,
//! reactivating and deleting keys in the background. Every verification answer is checked against what
//! the key's state must be (a key whose change is in flight is not judged); any 5xx or wrong decision
//! fails the run. Prints the server's resident memory once every key has been verified (the cache holds
//! them all) and every 30 s after.
//!
//!     cargo bench --bench soak                                   # 100,000 keys, 300 s
//!     KEYWARD_BENCH_KEYS=10000 KEYWARD_SOAK_SECS=60 cargo bench --bench soak
//!     KEYWARD_SOAK_WRAP="heaptrack -o /tmp/soak" cargo bench --bench soak   # the server under a profiler
//!
//! Targets (SPEC §8): resident memory ≤ 100 MB serving 100k keys; zero 5xx, zero wrong decisions, memory
//! flat.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keyward::clock::Clock;
use keyward::config::Config;
use keyward::crypto::SecretString;
use keyward::db::DatabaseUrl;
use keyward::domain::audit::Actor;
use keyward::services::accounts::{NewUserForm, Origin, create_user};
use serde_json::{Value, json};

const PASSWORD: &str = "benchmark password 1234";
const VALID: u8 = 0;
const INACTIVE: u8 = 1;
const DELETED: u8 = 2;

/// What each key must answer: its state, and a version that is odd while a change is in flight (a
/// sequence lock: an answer counts only when the version is even and the same before and after).
struct Model {
    secrets: Vec<String>,
    ids: Vec<AtomicU64>,
    state: Vec<AtomicU8>,
    version: Vec<AtomicU32>,
}

#[derive(Default)]
struct Tally {
    verifications: AtomicU64,
    judged: AtomicU64,
    wrong: AtomicU64,
    server_errors: AtomicU64,
    console: AtomicU64,
    changes: AtomicU64,
}

fn main() {
    let keys: usize = env_or("KEYWARD_BENCH_KEYS", 100_000);
    let secs: u64 = env_or("KEYWARD_SOAK_SECS", 300);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(keys, secs));
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Seeds the database in this process (the keys' secrets are needed to present them), then closes it.
async fn seed(dir: &std::path::Path, keys: usize) -> Vec<String> {
    let config = Config::with_defaults(dir.to_path_buf(), DatabaseUrl::sqlite_in(dir));
    let state = keyward::startup::open_state(config, Clock::System).expect("open the database");
    let form = NewUserForm {
        email: "soak@example.com".into(),
        name: "Soak".into(),
        role: "admin".into(),
        password: SecretString::new(PASSWORD.into()),
        confirm: SecretString::new(PASSWORD.into()),
        permissions: Vec::new(),
        invite: false,
    };
    create_user(&state, Origin { actor: Actor::System("benchmark"), ip: None }, None, form).await.expect("admin");
    tokio::task::spawn_blocking(move || {
        let mut secrets = Vec::with_capacity(keys);
        keyward::services::demo::load_with(&state, keys, |k| secrets.push(k.expose().to_owned())).expect("seed");
        secrets
    })
    .await
    .expect("join")
}

fn rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmRSS:")
}

/// A size from `/proc/<pid>/status` (`VmRSS:`, `RssFile:`, …) in MB.
fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// A small xorshift: the soak needs spread, not quality.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn pick(seed: &mut u64, n: usize) -> usize {
    usize::try_from(next(seed) % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run(keys: usize, secs: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let secrets = seed(dir.path(), keys).await;
    eprintln!("seeded {keys} keys ({} active) in {:.1} s", secrets.len(), started.elapsed().as_secs_f64());

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    // `KEYWARD_SOAK_WRAP="heaptrack -o /tmp/soak"` runs the server under a profiler (its memory
    // figures are then the wrapper's).
    let wrap = std::env::var("KEYWARD_SOAK_WRAP").unwrap_or_default();
    let mut command = wrap.split_whitespace().chain([env!("CARGO_BIN_EXE_keyward")]);
    let server = Server(
        Command::new(command.next().expect("a program"))
            .args(command)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("KEYWARD_DATA_DIR", dir.path())
            .env("KEYWARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keyward"),
    );
    let pid = server.0.id();
    let client = reqwest::Client::builder().pool_max_idle_per_host(16).build().expect("client");
    let ready = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(ready.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle_rss = rss_mb(pid);

    let model = Arc::new(Model {
        ids: secrets.iter().map(|_| AtomicU64::new(0)).collect(),
        state: secrets.iter().map(|_| AtomicU8::new(VALID)).collect(),
        version: secrets.iter().map(|_| AtomicU32::new(0)).collect(),
        secrets,
    });
    // Warm: every key verified once, as a long-running instance's cache would hold them.
    let started = Instant::now();
    let mut warmers = Vec::new();
    for part in 0..4 {
        let (model, client, url) = (model.clone(), client.clone(), format!("{base}/api/v1/keys/verify"));
        warmers.push(tokio::spawn(async move {
            for i in (part..model.secrets.len()).step_by(4) {
                let answer: Value = client
                    .post(&url)
                    .json(&json!({ "key": model.secrets[i] }))
                    .send()
                    .await
                    .expect("verify")
                    .json()
                    .await
                    .expect("json");
                assert_eq!(answer["code"], json!("VALID"), "a seeded key verifies");
                let id = answer["key_id"].as_u64().expect("key id");
                model.ids[i].store(id, Ordering::Relaxed);
            }
        }));
    }
    for w in warmers {
        w.await.expect("warm");
    }
    let warm_rss = rss_mb(pid);
    println!(
        "resident memory: {idle_rss:.1} MB at start, {warm_rss:.1} MB with all {} keys verified and cached \
         ({:.1} MB file-backed; warm-up {:.1} s; target ≤ 100 MB)",
        model.secrets.len(),
        status_mb(pid, "RssFile:"),
        started.elapsed().as_secs_f64()
    );

    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for worker in 0..3_u64 {
        let (model, tally, client, url) =
            (model.clone(), tally.clone(), client.clone(), format!("{base}/api/v1/keys/verify"));
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (worker + 1);
            while Instant::now() < deadline {
                let i = pick(&mut seed, model.secrets.len());
                let before = model.version[i].load(Ordering::SeqCst);
                let expected = model.state[i].load(Ordering::SeqCst);
                let response =
                    client.post(&url).json(&json!({ "key": model.secrets[i] })).send().await.expect("verify");
                tally.verifications.fetch_add(1, Ordering::Relaxed);
                if response.status().is_server_error() {
                    tally.server_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let answer: Value = response.json().await.expect("json");
                if before % 2 == 1 || model.version[i].load(Ordering::SeqCst) != before {
                    continue;
                }
                tally.judged.fetch_add(1, Ordering::Relaxed);
                let want = ["VALID", "INACTIVE", "NOT_FOUND"][usize::from(expected)];
                if answer["code"] != json!(want) {
                    tally.wrong.fetch_add(1, Ordering::Relaxed);
                    eprintln!("wrong decision: key #{i} answered {} where {want} was due", answer["code"]);
                }
            }
        }));
    }
    let console = Console::sign_in(&base).await;
    {
        let (console, tally, model) = (console.clone(), tally.clone(), model.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x2545_F491_4F6C_DD1D;
            while Instant::now() < deadline {
                let id = model.ids[pick(&mut seed, model.ids.len())].load(Ordering::Relaxed);
                for path in
                    ["/keys".to_owned(), "/keys?q=telemetry".into(), "/keys?filter=inactive".into(), "/audit".into()]
                        .into_iter()
                        .chain([format!("/keys/{id}"), "/".into()])
                {
                    let status = console.get(&path).await;
                    tally.console.fetch_add(1, Ordering::Relaxed);
                    if status >= 500 {
                        tally.server_errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{path} answered {status}");
                    }
                }
            }
        }));
    }
    {
        let (tally, model) = (tally.clone(), model.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = 0xD1B5_4A32_D192_ED03;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let i = pick(&mut seed, model.secrets.len());
                let state = model.state[i].load(Ordering::SeqCst);
                if state == DELETED {
                    continue;
                }
                let id = model.ids[i].load(Ordering::Relaxed);
                // Now and then two keys are deleted together (one key alone would ask for its name).
                let j = pick(&mut seed, model.secrets.len());
                let pair =
                    next(&mut seed).is_multiple_of(5) && j != i && model.state[j].load(Ordering::SeqCst) != DELETED;
                let touched = if pair { vec![i, j] } else { vec![i] };
                for &k in &touched {
                    model.version[k].fetch_add(1, Ordering::SeqCst);
                }
                let (status, new_state) = if pair {
                    let (one, other) = (id.to_string(), model.ids[j].load(Ordering::Relaxed).to_string());
                    let fields = [("ids", one.as_str()), ("ids", &other), ("confirm", "2"), ("recent_ok", "1")];
                    (console.post("/keys/delete", &fields).await, DELETED)
                } else if state == VALID {
                    (console.post(&format!("/keys/{id}/status"), &[("status", "inactive")]).await, INACTIVE)
                } else {
                    (console.post(&format!("/keys/{id}/status"), &[("status", "active")]).await, VALID)
                };
                assert_eq!(status, 303, "the change of key {id} was refused");
                for &k in &touched {
                    model.state[k].store(new_state, Ordering::SeqCst);
                    model.version[k].fetch_add(1, Ordering::SeqCst);
                }
                tally.changes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut samples = vec![warm_rss];
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(30).min(deadline.saturating_duration_since(Instant::now()))).await;
        samples.push(rss_mb(pid));
        eprintln!(
            "{:>4} s: {} verifications, {} console pages, {} changes, RSS {:.1} MB",
            secs - deadline.saturating_duration_since(Instant::now()).as_secs(),
            tally.verifications.load(Ordering::Relaxed),
            tally.console.load(Ordering::Relaxed),
            tally.changes.load(Ordering::Relaxed),
            samples[samples.len() - 1]
        );
    }
    for t in tasks {
        t.await.expect("soak task");
    }
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let rss = samples.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>().join(", ");
    // File-backed pages are the binary's (and the database's, were it memory-mapped): shared with the
    // operating system's page cache, which holds them whether or not keyward maps them.
    let file = status_mb(pid, "RssFile:");
    println!(
        "soak {secs} s: {} verifications ({} judged against the expected state), {} console pages, {} changes; \
         {} 5xx, {} wrong decisions; RSS every 30 s (MB): {rss}; at the end {file:.1} MB of it file-backed",
        load(&tally.verifications),
        load(&tally.judged),
        load(&tally.console),
        load(&tally.changes),
        load(&tally.server_errors),
        load(&tally.wrong),
    );
    drop(server);
    assert_eq!((load(&tally.server_errors), load(&tally.wrong)), (0, 0), "the soak saw errors");
}

/// A signed-in administrator's browser: cookies, and the session's CSRF token for forms.
#[derive(Clone)]
struct Console {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Console {
    async fn sign_in(base: &str) -> Console {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let token = |page: &str| {
            page.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).map(str::to_owned)
        };
        let login = client.get(format!("{base}/login")).send().await.expect("login").text().await.expect("body");
        let form = [
            ("csrf_token", token(&login).expect("csrf")),
            ("email", "soak@example.com".into()),
            ("password", PASSWORD.into()),
        ];
        let signed_in = client.post(format!("{base}/login")).form(&form).send().await.expect("sign in");
        assert_eq!(signed_in.status(), 303, "sign-in failed");
        let keys = client.get(format!("{base}/keys")).send().await.expect("keys").text().await.expect("body");
        Console { client, base: base.to_owned(), csrf: token(&keys).expect("csrf on the keys page") }
    }

    async fn get(&self, path: &str) -> u16 {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        status
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> u16 {
        let mut form = vec![("csrf_token", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self.client.post(format!("{}{path}", self.base)).form(&form).send().await.expect("POST");
        response.status().as_u16()
    }
}
