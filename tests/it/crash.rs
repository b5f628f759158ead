//! Crash safety: the keyward binary serves a mixed write load through the management API (create,
//! rotate, delete, each acknowledged before the next), is killed with SIGKILL at a random moment, and
//! restarts. Every acknowledged change must be there, the one in flight all or nothing (every key has a
//! secret, the audit chain is intact), and SQLite's `PRAGMA integrity_check` is `ok`. Several rounds, on
//! both databases (PostgreSQL keeps running: only keyward dies).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use keyward::db::schema;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::keys::create_key;
use crate::on_both_backends;

const ROUNDS: usize = 4;

/// A keyward process on this test's database and data directory (the same master key).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .env("KEYWARD_DATA_DIR", &app.data_dir)
            .env("KEYWARD_DATABASE_URL", &app.database_url)
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_LOG", "warn")
            .env("KEYWARD_WORKERS", "2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyward starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status().is_success()) {
                return Server { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("keyward did not become ready on {base}");
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

/// What the load has been told: each key's current secret, or `None` once deleted.
#[derive(Debug, Default)]
struct Model {
    keys: BTreeMap<i64, Option<String>>,
    /// The operation that was in flight when the process died: (what, key id if any).
    in_flight: Option<(&'static str, Option<i64>)>,
}

/// A tiny deterministic generator: the test's choices differ by round, not by run.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Runs operations until the process dies under them; the last one is left in flight.
async fn load(base: &str, admin_key: &str, key_type: &str, model: &mut Model, round: usize) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ (round as u64 + 1);
    for n in 0.. {
        let live: Vec<i64> = model.keys.iter().filter(|(_, s)| s.is_some()).map(|(id, _)| *id).collect();
        let choice = next(&mut seed) % 4;
        let target = (!live.is_empty()).then(|| live[usize::try_from(next(&mut seed)).unwrap_or(0) % live.len()]);
        let request = match (choice, target) {
            (1, Some(id)) => {
                model.in_flight = Some(("rotate", Some(id)));
                client.post(format!("{base}/api/v1/keys/{id}/rotate"))
            }
            (2, Some(id)) if live.len() > 3 => {
                model.in_flight = Some(("delete", Some(id)));
                client.delete(format!("{base}/api/v1/keys/{id}?recent_ok=true"))
            }
            _ => {
                model.in_flight = Some(("create", None));
                let name = format!("crash {round}-{n}");
                client
                    .post(format!("{base}/api/v1/keys"))
                    .json(&json!({ "name": name, "key_type": key_type.parse::<i64>().expect("id") }))
            }
        };
        let Ok(response) = request.header("authorization", format!("Bearer {admin_key}")).send().await else {
            return;
        };
        let status = response.status();
        let Ok(body) = response.bytes().await else { return };
        let (what, id) = model.in_flight.take().expect("in flight");
        match what {
            "create" => {
                assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
                let v: Value = serde_json::from_slice(&body).expect("json");
                model.keys.insert(v["id"].as_i64().expect("id"), Some(v["key"].as_str().expect("key").to_owned()));
            }
            "rotate" => {
                assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
                let v: Value = serde_json::from_slice(&body).expect("json");
                model.keys.insert(id.expect("id"), Some(v["key"].as_str().expect("key").to_owned()));
            }
            _ => {
                assert_eq!(status, StatusCode::NO_CONTENT, "{}", String::from_utf8_lossy(&body));
                model.keys.insert(id.expect("id"), None);
            }
        }
    }
}

async fn verify_code(base: &str, key: &str) -> String {
    let response =
        reqwest::Client::new().post(format!("{base}/api/v1/keys/verify")).json(&json!({ "key": key })).send().await;
    let body: Value = response.expect("verify").json().await.expect("json");
    body["code"].as_str().expect("code").to_owned()
}

/// Every acknowledged change is there; the one in flight is whole or absent.
async fn check(server: &Server, admin_key: &str, model: &Model) {
    let client = reqwest::Client::new();
    for (id, secret) in &model.keys {
        let got = client
            .get(format!("{}/api/v1/keys/{id}", server.base))
            .header("authorization", format!("Bearer {admin_key}"))
            .send()
            .await
            .expect("get")
            .status();
        let uncertain = model.in_flight.is_some_and(|(_, target)| target == Some(*id));
        match secret {
            Some(secret) => {
                let rotated_maybe = model.in_flight == Some(("rotate", Some(*id)));
                let deleted_maybe = model.in_flight == Some(("delete", Some(*id)));
                if !deleted_maybe {
                    assert_eq!(got, StatusCode::OK, "acknowledged key {id} is missing");
                }
                let code = verify_code(&server.base, secret).await;
                if rotated_maybe || deleted_maybe {
                    assert!(code == "VALID" || code == "NOT_FOUND", "key {id}: {code}");
                } else {
                    assert_eq!(code, "VALID", "key {id}'s acknowledged secret");
                }
            }
            None => {
                assert!(!uncertain);
                assert_eq!(got, StatusCode::NOT_FOUND, "acknowledged deletion of {id} was undone");
            }
        }
    }
}

fn every_key_has_a_secret(app: &TestApp) {
    let orphans: i64 = app
        .state
        .db
        .read(|c| {
            schema::api_keys::table
                .filter(diesel::dsl::not(diesel::dsl::exists(
                    schema::key_secrets::table.filter(schema::key_secrets::key_id.eq(schema::api_keys::id)),
                )))
                .count()
                .get_result(c)
        })
        .expect("count");
    assert_eq!(orphans, 0, "a key without a secret: a half-applied creation");
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

on_both_backends! {
    async fn acknowledged_changes_survive_sigkill_and_nothing_is_half_applied(app) {
        let admin = app.admin().await;
        let (_, admin_key) = create_key(&admin, &[("name", "Crash load"), ("role_name", "ADMIN")]).await;
        let (types, _) = crate::keys::form_ids(&admin).await;
        let key_type = types.iter().find(|(n, _)| n.starts_with("Integration")).expect("Integration").1.clone();
        let mut model = Model::default();
        for round in 0..ROUNDS {
            let server = Server::start(&app).await;
            check(&server, &admin_key, &model).await;
            // The key an unacknowledged rotation or deletion touched may have changed either way: it leaves
            // the model rather than be rotated or deleted again on a guess.
            if let Some((_, Some(id))) = model.in_flight.take() {
                model.keys.remove(&id);
            }
            // A random moment: some rounds die between requests, most in the middle of one.
            let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let pause = Duration::from_millis(150 + u64::from(jitter % 1_200));
            let base = server.base.clone();
            let killer = tokio::spawn(async move {
                tokio::time::sleep(pause).await;
                server.kill();
            });
            load(&base, &admin_key, &key_type, &mut model, round).await;
            killer.await.expect("killed");
        }
        let server = Server::start(&app).await;
        check(&server, &admin_key, &model).await;
        server.kill();
        let deleted = model.keys.values().filter(|s| s.is_none()).count();
        eprintln!("crash test: {ROUNDS} kills, {} keys made, {deleted} deleted", model.keys.len());
        assert!(model.keys.len() > ROUNDS && deleted > 0, "the load made progress");

        every_key_has_a_secret(&app);
        admin.get("/audit").await;
        let chain = admin.post("/audit/verify", &[]).await.body;
        assert!(chain.contains("The chain is intact"), "{chain}");
        if !app.database_url.starts_with("postgres") {
            let rows: Vec<Integrity> = app
                .state
                .db
                .read(|c| match c {
                    keyward::db::DbConn::Sqlite(c) => diesel::sql_query("PRAGMA integrity_check").load(c),
                    keyward::db::DbConn::Postgres(_) => Ok(Vec::new()),
                })
                .expect("integrity check");
            assert_eq!(rows.iter().map(|r| r.integrity_check.as_str()).collect::<Vec<_>>(), ["ok"]);
        }
    }
}
